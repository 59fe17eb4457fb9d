"""One app's loyalty state, and the one way an adapter reaches the services.

The admin views, the client pages and API, the CLI and the provider callbacks find the state
with :func:`get_state` and call services with :meth:`LoyaltyState.current_context`. The state
sits between the services and the adapters: a service never reads it (what a service needs is
in its :class:`~flask_loyalty_rewards.services.context.Context`), and it knows nothing of the
extension object, only the host's callbacks (:class:`HostHooks`) registered on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context

from .errors import NotInitialized
from .models import LoyaltyModels
from .profile import CustomerProfile
from .services.context import Context

EXTENSION_KEY = "loyalty_rewards"


@dataclass
class HostHooks:
    """The host's callbacks, set by the extension's decorators (before or after ``init_app``)."""

    customer_loader: Callable[[], Any] | None = None
    customer_profile: Callable[[Any], CustomerProfile] | None = None
    coupon_issuer: Callable[[Any], Any] | None = None


@dataclass
class LoyaltyState:
    """Everything one app's loyalty system needs, kept in ``app.extensions["loyalty_rewards"]``."""

    hooks: HostHooks
    db: Any
    models: LoyaltyModels
    admin: Any = None
    admin_views: list[Any] = field(default_factory=list)

    def context(
        self, app: Flask, *, may_own_transaction: bool = False, after_reads: bool = False
    ) -> Context:
        """The services context.

        ``may_own_transaction`` when a service call starts with it right away: if the session
        then holds no transaction and nothing pending, the call owns the transaction (a refusal
        rolls all of it back, no savepoint needed). ``after_reads``: a transaction already open
        holds only reads (the customer loader's, before an API call), so the call may own it
        too, as long as nothing is pending.
        """
        # The request's Session itself: a service call makes many calls on it, and each one
        # through the scoped proxy would look the Session up again.
        current = self.db.session()
        return Context(
            app=app,
            session=current,
            models=self.models,
            config=app.config,
            profile_loader=self.hooks.customer_profile,
            coupon_issuer=self.hooks.coupon_issuer,
            owns_transaction=may_own_transaction
            and (after_reads or not current.in_transaction())
            and not (current.new or current.dirty or current.deleted),
        )

    def current_context(
        self, *, may_own_transaction: bool = False, after_reads: bool = False
    ) -> Context:
        """The services context of the app in the current application context."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        return self.context(app, may_own_transaction=may_own_transaction, after_reads=after_reads)

    def current_customer(self) -> Any:
        """The request's customer: the host's ``customer_loader``, else Flask-Login's user."""
        loader = self.hooks.customer_loader
        if loader is not None:
            return loader()
        return login_customer(self.models.customer_model)


def login_customer(customer_model: type[Any]) -> Any:
    """Flask-Login's ``current_user`` when the app uses it and it is a customer; else None.

    Anonymous visitors are None. A logged-in user of another model than the customer model
    raises ``TypeError``: the host then says how to find the customer (``customer_loader``).
    """
    if not has_app_context() or getattr(current_app, "login_manager", None) is None:
        return None
    try:
        from flask_login import current_user  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - the app has a login_manager, so it is installed
        return None
    user = current_user._get_current_object()
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not isinstance(user, customer_model):
        raise TypeError(
            f"Flask-Login's current_user is a {type(user).__name__}, not a "
            f"{customer_model.__name__}: register @loyalty.customer_loader"
        )
    return user


def get_state(app: Flask | None = None) -> LoyaltyState:
    """The loyalty state of ``app`` (default: the current app); raises NotInitialized if none."""
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
