"""The extension object a host mounts: ``LoyaltyRewards`` and ``init_app``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context

from . import sqlite
from .config import DEFAULTS
from .errors import NotInitialized
from .models import LoyaltyModels
from .models.mixins import PointsLotMixin, RedeemedRewardMixin
from .profile import CustomerProfile
from .services import checkout, codes, expiry, ledger, redemption, verify
from .services.context import Context, unit_of_work

EXTENSION_KEY = "loyalty_rewards"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class LoyaltyState:
    """Everything one app's loyalty system needs, kept in ``app.extensions["loyalty_rewards"]``."""

    extension: LoyaltyRewards
    db: Any
    models: LoyaltyModels
    admin: Any = None
    admin_views: list[Any] = field(default_factory=list)

    def context(self, app: Flask, *, fresh: bool = False) -> Context:
        """The services context; ``fresh`` when a service call starts with it right away."""
        # The request's Session itself: a service call makes many calls on it, and each one
        # through the scoped proxy would look the Session up again.
        current = self.db.session()
        return Context(
            app=app,
            session=current,
            models=self.models,
            config=app.config,
            profile_loader=self.extension._customer_profile,
            owns_transaction=fresh
            and not current.in_transaction()
            and not (current.new or current.dirty or current.deleted),
        )

    def current_context(self, *, fresh: bool = False) -> Context:
        """The services context of the app in the current application context."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        return self.context(app, fresh=fresh)

    def current_customer(self) -> Any:
        loader = self.extension._customer_loader
        return loader() if loader is not None else None


def get_state(app: Flask | None = None) -> LoyaltyState:
    if app is None:
        if not has_app_context():
            raise NotInitialized(
                "flask-loyalty-rewards needs an application context "
                "(use it inside a request, a CLI command or `with app.app_context():`)"
            )
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.get(EXTENSION_KEY)
    if state is None:
        raise NotInitialized(
            f"LoyaltyRewards is not initialized on app {app.name!r}: call loyalty.init_app(app)"
        )
    assert isinstance(state, LoyaltyState)
    return state


class LoyaltyRewards:
    """Loyalty reward redemption for a Flask shop.

    Works like the pallets extensions: create it once (it holds no app), then call
    :meth:`init_app` for each app, inside an app factory or not. Per-app state lives in
    ``app.extensions["loyalty_rewards"]``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: Any = None,
        models: LoyaltyModels | None = None,
        admin: Any = None,
        admin_base_view: type | None = None,
    ) -> None:
        self._db = db
        self._models = models
        self._admin_base_view = admin_base_view
        self._customer_loader: Callable[[], Any] | None = None
        self._customer_profile: Callable[[Any], CustomerProfile] | None = None
        if app is not None:
            self.init_app(app, db=db, models=models, admin=admin, admin_base_view=admin_base_view)

    # -- host callbacks -----------------------------------------------------------------------

    def customer_loader(self, fn: F) -> F:
        """Register the callable returning the current request's customer, or None."""
        self._customer_loader = fn
        return fn

    def customer_profile(self, fn: F) -> F:
        """Register the callable returning a :class:`CustomerProfile` for a customer."""
        self._customer_profile = fn
        return fn

    # -- set-up -------------------------------------------------------------------------------

    def init_app(
        self,
        app: Flask,
        *,
        db: Any = None,
        models: LoyaltyModels | None = None,
        admin: Any = None,
        admin_base_view: type | None = None,
    ) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(f"LoyaltyRewards is already initialized on app {app.name!r}")
        db = db if db is not None else self._db
        models = models if models is not None else self._models
        if db is None or models is None:
            raise TypeError(
                "init_app needs db= (the host's SQLAlchemy) and models= (create_models)"
            )
        if "sqlalchemy" not in app.extensions:
            raise RuntimeError("call db.init_app(app) before loyalty.init_app(app)")
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        state = LoyaltyState(extension=self, db=db, models=models, admin=admin)
        app.extensions[EXTENSION_KEY] = state

        if app.config["LOYALTY_SQLITE_BEGIN_IMMEDIATE"]:
            with app.app_context():
                for engine in db.engines.values():
                    sqlite.configure(engine)

        from .client import init_client

        init_client(app, state)
        if app.config["LOYALTY_CLI_GROUP"]:
            from .cli import create_cli

            app.cli.add_command(create_cli(), name=app.config["LOYALTY_CLI_GROUP"])
        if admin is not None:
            from .admin import init_admin

            init_admin(app, state, admin, admin_base_view or self._admin_base_view)
        from .cashback import init_cashback

        init_cashback(app, state)

    def _ctx(self) -> Context:
        return get_state().current_context(fresh=True)

    @property
    def models(self) -> LoyaltyModels:
        return get_state().models

    def current_customer(self) -> Any:
        return get_state().current_customer()

    # -- services: each call is one unit of work (see docs: transactions) -------------------

    def earn_points(
        self,
        customer: Any,
        points: int,
        *,
        expires_at: dt.datetime | None = None,
        available_from: dt.datetime | None = None,
        reason: str | None = None,
        reference: str | None = None,
        idempotency_key: str | None = None,
        actor: str | None = None,
    ) -> PointsLotMixin:
        return ledger.earn_points(
            self._ctx(),
            customer,
            points,
            expires_at=expires_at,
            available_from=available_from,
            reason=reason,
            reference=reference,
            idempotency_key=idempotency_key,
            actor=actor,
        )

    def revoke_points(
        self, customer: Any, idempotency_key: str, *, reason: str, actor: str | None = None
    ) -> ledger.RevokeResult:
        return ledger.revoke_points(
            self._ctx(), customer, idempotency_key, reason=reason, actor=actor
        )

    def adjust_points(
        self,
        customer: Any,
        delta: int,
        *,
        reason: str,
        actor: str | None = None,
        expires_at: dt.datetime | None = None,
    ) -> int:
        return ledger.adjust_points(
            self._ctx(), customer, delta, reason=reason, actor=actor, expires_at=expires_at
        )

    def active_points(self, customer: Any) -> int:
        ctx = self._ctx()
        return ledger.active_points(ctx, ctx.customer_id(customer))

    def points_summary(self, customer: Any) -> ledger.PointsSummary:
        ctx = self._ctx()
        return ledger.summary(ctx, ctx.customer_id(customer))

    def points_needed(self, customer: Any, campaign: Any) -> int:
        return redemption.points_needed(self._ctx(), customer, campaign)

    def availability(
        self, customer: Any, campaigns: list[Any]
    ) -> dict[int, redemption.Availability]:
        return redemption.availabilities(self._ctx(), customer, campaigns)

    def redeem(
        self,
        customer: Any,
        campaign: Any,
        *,
        idempotency_key: str | None = None,
        charge_points: bool = True,
        actor: str | None = None,
    ) -> RedeemedRewardMixin:
        return redemption.redeem(
            self._ctx(),
            customer,
            campaign,
            idempotency_key=idempotency_key,
            charge_points=charge_points,
            actor=actor,
        )

    def mark_used(
        self, redeemed: Any, *, actor: str | None = None, order_reference: str | None = None
    ) -> RedeemedRewardMixin:
        return redemption.mark_used(
            self._ctx(), redeemed, actor=actor, order_reference=order_reference
        )

    def find_coupon(self, customer: Any, code: str) -> RedeemedRewardMixin:
        """The customer's redeemed reward with this code, however it was typed (or NotFound)."""
        return checkout.find_coupon(self._ctx(), customer, code)

    def use_coupon(
        self,
        customer: Any,
        code: str,
        *,
        order_reference: str | None = None,
        actor: str | None = None,
    ) -> RedeemedRewardMixin:
        """At checkout: mark the customer's reward with this code used in the order."""
        return checkout.use_coupon(
            self._ctx(), customer, code, order_reference=order_reference, actor=actor
        )

    def unmark_used(self, redeemed: Any, *, actor: str | None = None) -> RedeemedRewardMixin:
        return redemption.unmark_used(self._ctx(), redeemed, actor=actor)

    def set_delivery_status(
        self, redeemed: Any, status: Any, *, actor: str | None = None
    ) -> RedeemedRewardMixin:
        return redemption.set_delivery_status(self._ctx(), redeemed, status, actor=actor)

    def cancel_redemption(
        self, redeemed: Any, *, reason: str, actor: str | None = None
    ) -> RedeemedRewardMixin:
        return redemption.cancel_redemption(self._ctx(), redeemed, reason=reason, actor=actor)

    def add_pool_codes(
        self, campaign: Any, text: str, *, actor: str | None = None
    ) -> codes.UploadReport:
        """Add uploaded codes (one per line, or the first CSV column) to a campaign's pool.

        The upload is recorded in the campaign's audit trail (how many codes were added).
        """
        from . import clock

        ctx = self._ctx()
        reward = ctx.campaign(campaign)
        with unit_of_work(ctx):
            return codes.add_pool_codes(ctx, reward, text, clock.now(), actor=actor)

    def run_expiry(self, now: dt.datetime | None = None) -> expiry.ExpiryResult:
        return expiry.run_expiry(self._ctx(), now)

    def verify(self) -> list[verify.Problem]:
        return verify.verify(self._ctx())
