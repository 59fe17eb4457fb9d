"""Admin cockpit: Flask-Admin views on the host's own ``Admin``, under "Reward campaigns".

Views are created afresh for every ``init_app`` (a view instance belongs to one app), from
:mod:`.access`'s secure base, so each one denies by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask

from ..i18n import lazy_gettext
from .access import (
    LoyaltyAdminMixin,
    add_admin_view,
    admin_actor,
    index_view_class,
    setup_admin,
    view_class_for,
)
from .presets import GridPreset

if TYPE_CHECKING:
    from ..state import LoyaltyState

__all__ = [
    "GridPreset",
    "LoyaltyAdminMixin",
    "add_admin_view",
    "admin_actor",
    "index_view_class",
    "init_admin",
    "view_class_for",
]


def init_admin(app: Flask, state: LoyaltyState, admin: Any, base_view: type | None) -> None:
    from .campaigns import RewardCampaignView
    from .dashboard import DashboardView
    from .points import CustomerPointsView, customer_columns
    from .presets import grid_presets
    from .redeemed import RedeemedRewardView
    from .webhooks import WebhookDeliveryView, WebhookEndpointView

    setup_admin(app, state, admin, base_view)
    models, db = state.models, state.db
    grid = add_admin_view(
        app,
        RedeemedRewardView,
        models.RedeemedReward,
        db,
        name=lazy_gettext("Redeemed rewards"),
        endpoint="loyalty_redeemed",
        url="loyalty/redeemed",
    )
    size = int(app.config["LOYALTY_ADMIN_PAGE_SIZE"])
    grid.page_size = size
    grid.page_size_options = tuple(sorted({*grid.page_size_options, size}))
    grid.export_max_rows = int(app.config["LOYALTY_ADMIN_EXPORT_MAX_ROWS"])
    grid.presets = grid_presets(models, app.config["LOYALTY_ADMIN_PRESETS"])
    add_admin_view(
        app,
        RewardCampaignView,
        models.RewardCampaign,
        db,
        name=lazy_gettext("Reward campaigns"),
        endpoint="loyalty_campaigns",
        url="loyalty/campaigns",
    )
    points = add_admin_view(
        app,
        CustomerPointsView,
        models.Account,
        db,
        name=lazy_gettext("Customer points"),
        endpoint="loyalty_points",
        url="loyalty/points",
    )
    add_admin_view(
        app,
        WebhookEndpointView,
        models.WebhookEndpoint,
        db,
        name=lazy_gettext("Webhook endpoints"),
        endpoint="loyalty_webhook_endpoints",
        url="loyalty/webhooks/endpoints",
    )
    add_admin_view(
        app,
        WebhookDeliveryView,
        models.WebhookDelivery,
        db,
        name=lazy_gettext("Webhook deliveries"),
        endpoint="loyalty_webhook_deliveries",
        url="loyalty/webhooks/deliveries",
    )
    add_admin_view(
        app,
        DashboardView,
        models.LedgerEntry,
        db,
        name=lazy_gettext("Programme dashboard"),
        endpoint="loyalty_dashboard",
        url="loyalty/dashboard",
    )
    points.searched_columns = customer_columns(app, models.customer_model)
    points.page_size = size
