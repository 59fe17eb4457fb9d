"""The secure base of every loyalty admin view: deny by default, grant through one hook.

How access is decided (:meth:`LoyaltyAdminMixin.is_accessible`):

* ``LOYALTY_ADMIN_ACCESS`` is a callable returning bool; when set, it must return True.
* ``admin_base_view=`` passed to ``init_app`` is the host's own secured Flask-Admin view class.
  Our views are then built as subclasses of it (:func:`view_class_for`), so they inherit its
  ``is_accessible`` and ``inaccessible_callback``; when given, its ``is_accessible`` must
  return True.
* With neither, nobody gets in: every view and action answers 403.

When access is refused and the host gave no base view, an anonymous visitor (the customer
loader returns None) is redirected to ``LOYALTY_LOGIN_ENDPOINT`` with ``?next=`` when that is
set; everybody else gets 403.

Forms use our :class:`flask_wtf.FlaskForm` (``flask_loyalty_rewards.forms.Form``) as their
base: it validates its own CSRF token whether or not the host registered ``CSRFProtect``.
Flask-Admin's ``SecureForm`` is not used because its token clashes with ``CSRFProtect``'s under
the same field name (every POST answers 400).

:meth:`LoyaltyAdminMixin.actor` names the admin in history rows and ledger entries:
``LOYALTY_ADMIN_ACTOR()`` when configured, else ``"admin:<e-mail>"`` (or the id) of the logged-in
customer, else ``"admin"``.

Other modules add a view of their own with :func:`add_admin_view` during ``init_app`` (from
:func:`flask_loyalty_rewards.admin.init_admin`); it gets the same access rules, the host base and
the "Reward campaigns" category.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, abort, current_app, redirect, request, url_for

from ..bounds import parse_id
from ..forms import Form
from ..models import audit
from ..state import LoyaltyState, get_state

SETUP_KEY = "loyalty_rewards.admin"
V = TypeVar("V", bound=type)
F = TypeVar("F", bound=Callable[..., Any])


def expose(url: str = "/", methods: tuple[str, ...] = ("GET",)) -> Callable[[F], F]:
    """Flask-Admin's ``expose``, typed (Flask-Admin ships no type information)."""
    from flask_admin import expose as admin_expose

    decorator: Callable[[F], F] = admin_expose(url, methods=methods)
    return decorator


def action(name: str, text: str, confirmation: str | None = None) -> Callable[[F], F]:
    """Flask-Admin's bulk ``action`` decorator, typed."""
    from flask_admin.actions import action as admin_action

    decorator: Callable[[F], F] = admin_action(name, text, confirmation)
    return decorator


@dataclass
class AdminSetup:
    """What :func:`add_admin_view` needs to add a view to one app's admin."""

    admin: Any
    base_view: type | None
    category: str
    views: list[Any]


class LoyaltyAdminMixin:
    """Mix into every loyalty admin view (before the Flask-Admin base class)."""

    #: ``(host_base,)`` when :func:`view_class_for` built the class on a host base view (a tuple:
    #: Flask-Admin's metaclass would take a bare view class attribute for an exposed method).
    loyalty_host_base: tuple[type, ...] = ()
    form_base_class = Form

    def is_accessible(self) -> bool:
        check = current_app.config.get("LOYALTY_ADMIN_ACCESS")
        host_base = type(self).loyalty_host_base
        if check is None and not host_base:
            return False
        if check is not None and not check():
            return False
        if host_base:
            return bool(super().is_accessible())  # type: ignore[misc]
        return True

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> Any:
        if type(self).loyalty_host_base:
            return super().inaccessible_callback(name, **kwargs)  # type: ignore[misc]
        return deny()

    def actor(self) -> str:
        return admin_actor()

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        # The campaign audit names this admin for the edits Flask-Admin's forms flush.
        audit.name_writer(self.db_session, self.actor)
        return super()._handle_view(name, **kwargs)  # type: ignore[misc]

    @property
    def loyalty_state(self) -> LoyaltyState:
        """This app's loyalty state: views call services with its ``current_context()``."""
        return get_state()

    @property
    def db_session(self) -> Any:
        """The host's session (Flask-Admin's ``self.session`` is the ``db`` object here)."""
        return get_state().db.session

    def get_one(self, id: Any) -> Any:
        """The row of the URL's ``?id=``; an integer id no row can have finds no row.

        Flask-Admin hands the URL's text to the database, and PostgreSQL fails on a number
        past INTEGER; :func:`~flask_loyalty_rewards.bounds.parse_id` is every adapter's parser.
        """
        key = sa.inspect(self.model).primary_key  # type: ignore[attr-defined]
        if len(key) != 1 or not isinstance(key[0].type, sa.Integer):
            return super().get_one(id)  # type: ignore[misc]
        row_id = parse_id(id)
        return None if row_id is None else self.db_session.get(self.model, row_id)  # type: ignore[attr-defined]

    def render(self, template: str, **kwargs: Any) -> Any:
        """Give every loyalty template ``loyalty_csrf_token`` for its own POST forms, and our
        catalogue's gettext (:func:`~flask_loyalty_rewards.i18n.template_globals`)."""
        from flask_wtf.csrf import generate_csrf

        from ..i18n import template_globals

        kwargs.setdefault("loyalty_csrf_token", generate_csrf())
        for name, value in template_globals().items():
            kwargs.setdefault(name, value)
        return super().render(template, **kwargs)  # type: ignore[misc]


def deny() -> Any:
    """403, or the host's login page for an anonymous visitor when a login endpoint is set."""
    login = current_app.config.get("LOYALTY_LOGIN_ENDPOINT")
    if login and get_state().current_customer() is None:
        return redirect(url_for(login, next=request.full_path.rstrip("?")))
    abort(403)


def admin_actor() -> str:
    """The name history rows record for the admin of the current request."""
    name_of: Callable[[], Any] | None = current_app.config.get("LOYALTY_ADMIN_ACTOR")
    if name_of is not None:
        return str(name_of())
    customer = get_state().current_customer()
    if customer is None:
        return "admin"
    label = getattr(customer, "email", None) or getattr(customer, "id", None)
    return f"admin:{label}" if label is not None else "admin"


def view_class_for(view_class: V, host_base: type | None) -> V:
    """``view_class`` itself, or a subclass that also derives from the host's base view.

    Our class comes first in the MRO, so our columns, templates and form base win, while
    ``super().is_accessible()`` reaches the host's check.
    """
    if host_base is None:
        return view_class
    built = type(
        view_class.__name__,
        (view_class, host_base),
        {"loyalty_host_base": (host_base,), "__module__": view_class.__module__},
    )
    return built  # type: ignore[return-value]


def setup_admin(app: Flask, state: LoyaltyState, admin: Any, base_view: type | None) -> AdminSetup:
    setup = AdminSetup(
        admin=admin,
        base_view=base_view,
        category=app.config["LOYALTY_ADMIN_CATEGORY"],
        views=[],
    )
    app.extensions[SETUP_KEY] = setup
    state.admin = admin
    secure_stock_index(admin, base_view)
    return setup


def add_admin_view(app: Flask, view_class: type, *args: Any, **kwargs: Any) -> Any:
    """Create ``view_class(*args, **kwargs)`` for this app under the loyalty category.

    ``view_class`` must derive from :class:`LoyaltyAdminMixin` (so it denies by default). A
    fresh instance is made for every app; call it during set-up, before the first request
    (Flask-Admin registers blueprints at once). For a ``ModelView`` pass ``(Model, db)``, never
    ``db.session``.
    """
    if not issubclass(view_class, LoyaltyAdminMixin):
        raise TypeError(f"{view_class.__name__} must derive from LoyaltyAdminMixin")
    setup: AdminSetup | None = app.extensions.get(SETUP_KEY)
    if setup is None:
        raise RuntimeError("the loyalty admin is not set up on this app (pass admin= to init_app)")
    kwargs.setdefault("category", setup.category)
    view = view_class_for(view_class, setup.base_view)(*args, **kwargs)
    setup.admin.add_view(view)
    setup.views.append(view)
    get_state(app).admin_views.append(view)
    return view


def secure_stock_index(admin: Any, base_view: type | None) -> bool:
    """Give a stock, open ``AdminIndexView`` the loyalty access rule; leave a host's own alone.

    Flask-Admin's default index lets everybody in. A host that never customised it gets the
    same rule as our views (``LOYALTY_ADMIN_ACCESS``, and the host base view's check when one
    was given), so the whole admin denies by default. Returns whether the index was secured.
    """
    from flask_admin import AdminIndexView

    index = admin.index_view
    if type(index) is not AdminIndexView:
        return False

    def is_accessible() -> bool:
        check = current_app.config.get("LOYALTY_ADMIN_ACCESS")
        if check is None and base_view is None:
            return False
        if check is not None and not check():
            return False
        return base_view is None or bool(base_view.is_accessible(index))  # type: ignore[attr-defined]

    def inaccessible_callback(name: Any, **kwargs: Any) -> Any:
        return deny()

    index.is_accessible = is_accessible
    index.inaccessible_callback = inaccessible_callback
    return True


def index_view_class() -> type:
    """An ``AdminIndexView`` with the same access rules, for ``Admin(index_view=...)``.

    The index belongs to the host's ``Admin``; a host without a secured index of its own
    passes ``Admin(app, index_view=index_view_class()())`` so the index denies by default too.
    """
    from flask_admin import AdminIndexView

    return type("LoyaltyAdminIndexView", (LoyaltyAdminMixin, AdminIndexView), {})
