"""The extension object a host mounts: ``LoyaltyRewards`` and ``init_app``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from . import changes, i18n, sqlite
from .config import DEFAULTS
from .models import LoyaltyModels
from .services import campaigns, checkout, codes, earning, expiry, ledger, redemption, verify
from .services.context import Context
from .state import EXTENSION_KEY, HostHooks, LoyaltyState, get_state

F = TypeVar("F", bound=Callable[..., Any])


P = ParamSpec("P")
R = TypeVar("R")


def _service(
    service: Callable[Concatenate[Context, P], R], *, name: str | None = None
) -> Callable[Concatenate[LoyaltyRewards, P], R]:
    """A :class:`LoyaltyRewards` method calling ``service`` in the current app's context.

    The method takes the service's arguments after the context, as declared there (for mypy, and
    for ``inspect.signature``, which Sphinx shows), and has its docstring, "Raises:" included.
    """

    def method(self: LoyaltyRewards, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return service(self._ctx(), *args, **kwargs)

    signature = inspect.signature(service)
    _, *parameters = signature.parameters.values()
    method.__name__ = name or service.__name__
    method.__qualname__ = f"LoyaltyRewards.{method.__name__}"
    method.__doc__ = service.__doc__
    method.__annotations__ = {
        **{p.name: p.annotation for p in parameters if p.annotation is not p.empty},
        "return": signature.return_annotation,
    }
    vars(method).update(
        # ``self`` in the context's place; the annotations resolve in the service's module.
        __signature__=signature.replace(
            parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *parameters]
        ),
        __wrapped__=service,
    )
    return method


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
    # Most methods are the service itself, bound to the current app's context by _service; the
    # methods written out turn the host's arguments into the service's (a customer into its id)
    # or leave out what only the adapters pass (``now``, ``limit``, ``client``).

    earn_points = _service(ledger.earn_points)
    revoke_points = _service(ledger.revoke_points)
    earn_for_order = _service(earning.earn_for_order)
    reverse_order = _service(earning.reverse_order)
    adjust_points = _service(ledger.adjust_points)

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

    points_needed = _service(redemption.points_needed)

    def availability(
        self, customer: Any, campaigns: list[Any]
    ) -> dict[int, redemption.Availability]:
        """Whether the customer can redeem each campaign now, and why not.

        Raises: InvalidInput, NotFound (no such customer), RewardUnavailable (``not_found``: no such
        campaign).
        """
        return redemption.availabilities(self._ctx(), customer, campaigns)

    redeem = _service(redemption.redeem)
    mark_used = _service(redemption.mark_used)
    find_coupon = _service(checkout.find_coupon)
    use_coupon = _service(checkout.use_coupon)
    unmark_used = _service(redemption.unmark_used)
    set_delivery_status = _service(redemption.set_delivery_status)
    cancel_redemption = _service(redemption.cancel_redemption)
    add_pool_codes = _service(codes.upload_pool_codes, name="add_pool_codes")
    run_expiry = _service(expiry.run_expiry)

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
