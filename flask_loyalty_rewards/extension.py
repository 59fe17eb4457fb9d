"""The extension object a host mounts: ``LoyaltyRewards`` and ``init_app``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from . import changes, i18n, sqlite
from .config import DEFAULTS
from .models import LoyaltyModels
from .models.mixins import OrderPointsMixin, PointsLotMixin, RedeemedRewardMixin
from .services import campaigns, checkout, codes, earning, expiry, ledger, redemption, verify
from .services.context import Context
from .state import EXTENSION_KEY, HostHooks, LoyaltyState, get_state

F = TypeVar("F", bound=Callable[..., Any])


def create_admin(app: Flask) -> Any:
    """A Flask-Admin of our own for a host without one (``LOYALTY_ADMIN_CREATE``).

    Fluid layout, so the wide grids (the redeemed rewards' Action column) fit a 1280 px
    screen; its index gets the same access rules as our views (see ``init_admin``).
    """
    from flask_admin import Admin, AdminIndexView
    from flask_admin.theme import Bootstrap4Theme

    return Admin(
        app,
        name=app.config["LOYALTY_ADMIN_NAME"],
        theme=Bootstrap4Theme(fluid=True),
        index_view=AdminIndexView(url=app.config["LOYALTY_ADMIN_URL"]),
    )


class LoyaltyRewards:
    """Loyalty reward redemption for a Flask shop.

    Works like the pallets extensions: create it once (it holds no app), then call
    :meth:`init_app` for each app, inside an app factory or not. Per-app state lives in
    ``app.extensions["loyalty_rewards"]``.

    Each service method lists under "Raises:" the :mod:`~flask_loyalty_rewards.errors` it may
    raise, all :class:`~flask_loyalty_rewards.LoyaltyError` subclasses; any of them also raises
    :class:`~flask_loyalty_rewards.NotInitialized` on an app that never called ``init_app``.
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
        #: The host's callbacks; every app's :class:`LoyaltyState` shares them.
        self.hooks = HostHooks()
        self._watches: list[changes.Watch] = []
        if app is not None:
            self.init_app(app, db=db, models=models, admin=admin, admin_base_view=admin_base_view)

    # -- host callbacks -----------------------------------------------------------------------

    def customer_loader(self, fn: F) -> F:
        """Register the callable returning the current request's customer, or None."""
        self.hooks.customer_loader = fn
        return fn

    def customer_profile(self, fn: F) -> F:
        """Register the callable returning a :class:`CustomerProfile` for a customer."""
        self.hooks.customer_profile = fn
        return fn

    def coupon_issuer(self, fn: F) -> F:
        """Register ``fn(redeemed_reward)``, called when a reward with a code is redeemed.

        It runs inside the redemption's transaction, in the host's session: a voucher row it
        adds to the session commits together with the reward, and if it raises, the whole
        redemption is rolled back (points, reward, code) and the exception reaches the caller.
        """
        self.hooks.coupon_issuer = fn
        return fn

    def on_change(self, model: type[Any], attribute: str) -> Callable[[F], F]:
        """Register ``fn(instance, old, new)``, run when a change of ``model.attribute`` commits.

        For reacting to the host's own models (an order's status) without wrapping their
        methods; see :mod:`flask_loyalty_rewards.changes` for when it runs and what a raise does.
        """
        if attribute not in sa.inspect(model).attrs:
            raise TypeError(f"{model.__name__} has no mapped attribute {attribute!r}")

        def register(fn: F) -> F:
            self._watches.append(changes.Watch(model, attribute, fn))
            return fn

        return register

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
        i18n.ensure_babel(app)
        # A wrong setting fails here, not at the first order or redemption.
        earning.EarningRules.from_config(app.config)
        codes.CodeFormat.from_config(app.config)
        state = LoyaltyState(hooks=self.hooks, db=db, models=models, admin=admin)
        app.extensions[EXTENSION_KEY] = state
        campaigns.watch_session(db.session, models.RewardCampaign)
        changes.watch_session(db.session, self._watches, self._mounted_here)

        sqlite.check_mode(app.config["LOYALTY_SQLITE_BEGIN_IMMEDIATE"])
        if app.config["LOYALTY_SQLITE_BEGIN_IMMEDIATE"] == "all":
            with app.app_context():
                for engine in db.engines.values():
                    sqlite.configure(engine)

        from .client import init_client

        init_client(app, state)
        if app.config["LOYALTY_CLI_GROUP"]:
            from .cli import create_cli

            app.cli.add_command(create_cli(), name=app.config["LOYALTY_CLI_GROUP"])
        if admin is None and app.config["LOYALTY_ADMIN_CREATE"]:
            admin = create_admin(app)
        if admin is not None:
            from .admin import init_admin

            init_admin(app, state, admin, admin_base_view or self._admin_base_view)
        from .cashback import init_cashback

        init_cashback(app, state)

    def _mounted_here(self) -> bool:
        """Whether the current app (if any) runs this extension object."""
        if not has_app_context():
            return False
        state = current_app.extensions.get(EXTENSION_KEY)
        return state is not None and state.hooks is self.hooks

    def _ctx(self) -> Context:
        return get_state().current_context(may_own_transaction=True)

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
        """Give a customer points (one new lot); a retry under the same key replays.

        Raises: InvalidInput, NotFound (no such customer), IdempotencyConflict (the key earned a
        different number of points).
        """
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
        """Take back what is left of the points earned under a key (a refunded order).

        Raises: InvalidInput, NotFound (no such customer, or nothing was earned under the key).
        """
        return ledger.revoke_points(
            self._ctx(), customer, idempotency_key, reason=reason, actor=actor
        )

    def earn_for_order(
        self,
        customer: Any,
        order_id: str | int,
        amount: Decimal | int,
        *,
        at: dt.datetime | None = None,
        actor: str | None = None,
    ) -> OrderPointsMixin:
        """Book an order's points by the earning rules, once per order id (see docs: points).

        Raises: InvalidInput, NotFound (no such customer), IdempotencyConflict (the order id was
        booked with another amount).
        """
        return earning.earn_for_order(self._ctx(), customer, order_id, amount, at=at, actor=actor)

    def reverse_order(
        self,
        customer: Any,
        order_id: str | int,
        *,
        reason: str,
        amount: Decimal | int | None = None,
        actor: str | None = None,
    ) -> ledger.RevokeResult:
        """Take an order's points back, all or a refund's share; a no-op if it earned none.

        Raises: InvalidInput, NotFound (no such customer).
        """
        return earning.reverse_order(
            self._ctx(), customer, order_id, reason=reason, amount=amount, actor=actor
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
        """An admin's correction (positive grants, negative deducts); returns the active points.

        Raises: InvalidInput, NotFound (no such customer), NotEnoughPoints (a deduction larger than
        the active points).
        """
        return ledger.adjust_points(
            self._ctx(), customer, delta, reason=reason, actor=actor, expires_at=expires_at
        )

    def active_points(self, customer: Any) -> int:
        """The points the customer can spend now.

        Raises: InvalidInput, NotFound (no such customer).
        """
        ctx = self._ctx()
        return ledger.active_points(ctx, ctx.customer_id(customer))

    def points_summary(self, customer: Any) -> ledger.PointsSummary:
        """Active and pending points, and the next expiry.

        Raises: InvalidInput, NotFound (no such customer).
        """
        ctx = self._ctx()
        return ledger.summary(ctx, ctx.customer_id(customer))

    def points_needed(self, customer: Any, campaign: Any) -> int:
        """How many more points the customer needs for the campaign (0 when enough).

        Raises: InvalidInput, NotFound (no such customer), RewardUnavailable (``not_found``: no such
        campaign).
        """
        return redemption.points_needed(self._ctx(), customer, campaign)

    def availability(
        self, customer: Any, campaigns: list[Any]
    ) -> dict[int, redemption.Availability]:
        """Whether the customer can redeem each campaign now, and why not.

        Raises: InvalidInput, NotFound (no such customer), RewardUnavailable (``not_found``: no such
        campaign).
        """
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
        """Spend the customer's points on a reward; a retry under the same key replays.

        Raises: InvalidInput, NotFound (no such customer), NotEnoughPoints, RewardUnavailable
        (``reason`` says why), IdempotencyConflict.
        """
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
        """Mark an active coupon used (optionally in an order).

        Raises: InvalidInput, NotFound (no such redeemed reward), InvalidStatusChange.
        """
        return redemption.mark_used(
            self._ctx(), redeemed, actor=actor, order_reference=order_reference
        )

    def find_coupon(self, customer: Any, code: str) -> RedeemedRewardMixin:
        """The customer's redeemed reward with this code, however it was typed (or NotFound).

        Raises: InvalidInput, NotFound (no reward of the customer has the code).
        """
        return checkout.find_coupon(self._ctx(), customer, code)

    def use_coupon(
        self,
        customer: Any,
        code: str,
        *,
        order_reference: str | None = None,
        actor: str | None = None,
    ) -> RedeemedRewardMixin:
        """At checkout: mark the customer's reward with this code used in the order.

        Raises: InvalidInput, NotFound (no reward of the customer has the code),
        InvalidStatusChange.
        """
        return checkout.use_coupon(
            self._ctx(), customer, code, order_reference=order_reference, actor=actor
        )

    def unmark_used(self, redeemed: Any, *, actor: str | None = None) -> RedeemedRewardMixin:
        """Undo :meth:`mark_used` while the coupon is active.

        Raises: InvalidInput, NotFound (no such redeemed reward), InvalidStatusChange.
        """
        return redemption.unmark_used(self._ctx(), redeemed, actor=actor)

    def set_delivery_status(
        self, redeemed: Any, status: Any, *, actor: str | None = None
    ) -> RedeemedRewardMixin:
        """Move a used gift to the next delivery status.

        Raises: InvalidInput, NotFound (no such redeemed reward), InvalidStatusChange.
        """
        return redemption.set_delivery_status(self._ctx(), redeemed, status, actor=actor)

    def cancel_redemption(
        self, redeemed: Any, *, reason: str, actor: str | None = None
    ) -> RedeemedRewardMixin:
        """Cancel a redemption; its points go back to the lots they came from.

        Raises: InvalidInput, NotFound (no such redeemed reward), InvalidStatusChange.
        """
        return redemption.cancel_redemption(self._ctx(), redeemed, reason=reason, actor=actor)

    def add_pool_codes(
        self, campaign: Any, text: str | Iterable[str], *, actor: str | None = None
    ) -> codes.UploadReport:
        """Add uploaded codes (one per line, or the first CSV column) to a campaign's pool.

        ``text`` is the text or an iterable of its lines (read in batches); a header line is
        skipped and codes that exist anywhere already are reported, not added; above
        ``LOYALTY_POOL_UPLOAD_MAX_CODES`` codes nothing is added. The upload is recorded in the
        campaign's audit trail (how many codes were added, by ``actor``).

        Raises: InvalidInput (also above the upload limit), RewardUnavailable (``not_found``: no
        such campaign).
        """
        return codes.upload_pool_codes(self._ctx(), campaign, text, actor=actor)

    def run_expiry(self, now: dt.datetime | None = None) -> expiry.ExpiryResult:
        """Expire the points and coupons that are due (``flask loyalty expire``).

        Raises: InvalidInput.
        """
        return expiry.run_expiry(self._ctx(), now)

    def verify(self) -> list[verify.Problem]:
        """Every ledger invariant that does not hold (empty when all is well).

        Raises: nothing of its own: drift is returned.
        """
        return verify.verify(self._ctx())

    # -- webhooks (services/webhooks.py) -------------------------------------------------------

    def add_webhook_endpoint(
        self, url: str, *, event_types: Any = None, secret: str | None = None, description: str = ""
    ) -> Any:
        """A new endpoint for the events written from now on.

        Raises: InvalidInput (a bad URL, secret or event type).
        """
        from .services import webhooks

        return webhooks.add_endpoint(
            self._ctx(), url, event_types=event_types, secret=secret, description=description
        )

    def deliver_webhooks(self, *, limit: int | None = None) -> Any:
        """One delivery run (what ``flask loyalty deliver-webhooks`` does); returns its report.

        Raises: InvalidInput (a bad ``limit``; what receivers answer is recorded, not raised).
        """
        from .services import webhooks

        return webhooks.deliver(self._ctx(), limit=limit)
