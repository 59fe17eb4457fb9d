"""Cashback rewards paid out through a provider (PayTM, manual, or the host's own).

:func:`init_cashback` (called by ``init_app``) mounts the provider notification endpoint and,
when the host gave an admin, the "Cashback payouts" view. The payout table is :mod:`.models`,
who moves the money :mod:`.providers` (and :mod:`.paytm`), the worker that sends and checks
payouts :mod:`.payouts`, provider notifications :mod:`.callbacks`, an admin's changes
:mod:`.actions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, jsonify, request

from .models import CashbackPayoutMixin, PayoutState
from .providers import (
    InvalidCallback,
    ManualProvider,
    Outcome,
    PayoutDestination,
    PayoutProvider,
    ProviderResult,
    TransferRequest,
)

if TYPE_CHECKING:
    from ..state import LoyaltyState

__all__ = [
    "CashbackPayoutMixin",
    "InvalidCallback",
    "ManualProvider",
    "Outcome",
    "PayoutDestination",
    "PayoutProvider",
    "PayoutState",
    "ProviderResult",
    "TransferRequest",
    "init_cashback",
]


def init_cashback(app: Flask, state: LoyaltyState) -> None:
    from .registry import configured_provider

    configured_provider(app.config)  # a misconfigured provider fails at start-up, not at redeem
    prefix = app.config["LOYALTY_CASHBACK_CALLBACK_URL"]
    if prefix:
        from ..client.api import exempt_from_host_csrf

        blueprint = _callback_blueprint(prefix)
        app.register_blueprint(blueprint)
        # Providers cannot send the shop's CSRF token; the signature is the check here.
        exempt_from_host_csrf(app, blueprint)
    if state.admin is not None:
        from ..admin.access import add_admin_view
        from .admin import CashbackPayoutView

        add_admin_view(
            app,
            CashbackPayoutView,
            state.models.CashbackPayout,
            state.db,
            name="Cashback payouts",
            endpoint="loyalty_cashback_payouts",
            url="loyalty/cashback",
        )


def _callback_blueprint(prefix: str) -> Blueprint:
    blueprint = Blueprint("loyalty_cashback", __name__, url_prefix=prefix)

    @blueprint.post("/<provider>")
    def callback(provider: str) -> Any:
        """A provider's status notification: verified, recorded once, answered in JSON."""
        from ..errors import LoyaltyError
        from ..state import get_state
        from .callbacks import handle_callback

        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            payout = handle_callback(
                get_state().current_context(), provider, request.get_data(), headers
            )
        except LoyaltyError as exc:
            return jsonify({"error": exc.to_dict()}), exc.http_status  # as the JSON API does
        return jsonify({"order_id": payout.order_id, "cashback_status": payout.status_text})

    return blueprint
