"""Client cockpit: the rewards pages and the JSON API (a blueprint the host mounts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask

if TYPE_CHECKING:
    from ..extension import LoyaltyState


def init_client(app: Flask, state: LoyaltyState) -> None:
    # Templates are served from the package even when the client pages are switched off, so the
    # admin views and hosts can use them.
    app.register_blueprint(
        Blueprint(
            "loyalty_rewards_templates", __name__.rsplit(".", 1)[0], template_folder="templates"
        )
    )
