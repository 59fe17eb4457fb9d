"""Client cockpit: the rewards pages and the JSON API (blueprints the host mounts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask

from .common import API_BLUEPRINT, PAGES_BLUEPRINT

if TYPE_CHECKING:
    from ..state import LoyaltyState

__all__ = ["API_BLUEPRINT", "PAGES_BLUEPRINT", "init_client"]


def init_client(app: Flask, state: LoyaltyState) -> None:
    # Templates and static files are served from the package even when the client pages are
    # switched off, so the admin views and hosts can use them.
    package = __name__.rsplit(".", 1)[0]
    prefix = app.config["LOYALTY_URL_PREFIX"].rstrip("/")
    app.register_blueprint(
        Blueprint(
            "loyalty_rewards_templates",
            package,
            template_folder="templates",
            static_folder="static",
            # Never plain "/static", the host's own static route.
            static_url_path=f"{prefix}/static" if prefix else "/loyalty-static",
        )
    )
    if not app.config["LOYALTY_CLIENT_ENABLED"]:
        return

    from .api import create_api_blueprint, exempt_from_host_csrf
    from .common import ID_CONVERTER, IdConverter
    from .pages import create_pages_blueprint

    app.url_map.converters[ID_CONVERTER] = IdConverter

    app.register_blueprint(
        create_pages_blueprint(state), url_prefix=app.config["LOYALTY_URL_PREFIX"]
    )
    api = create_api_blueprint(state)
    app.register_blueprint(api, url_prefix=app.config["LOYALTY_API_PREFIX"])
    if app.config["LOYALTY_API_CSRF_EXEMPT"]:
        exempt_from_host_csrf(app, api)
