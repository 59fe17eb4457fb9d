"""The example shop's app factory: ``flask --app example_shop.app run``.

Everything the loyalty extension needs from a host is in this file: the customer loader and
profile callbacks, ``init_app`` with the shop's ``db`` and Flask-Admin, and the admin access hook.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_login import LoginManager, current_user
from flask_wtf import CSRFProtect, FlaskForm

from flask_loyalty_rewards import Address, CustomerProfile, LoyaltyRewards
from flask_loyalty_rewards.admin import index_view_class

from .models import Customer, Order, Product, db, loyalty_models

HERE = Path(__file__).resolve().parent
#: Largest request the shop reads (Flask answers 413 above it): room for a pool upload of
#: LOYALTY_POOL_UPLOAD_MAX_CODES codes, far below what would tie a worker up.
MAX_REQUEST_BYTES = 4 * 1024 * 1024

loyalty = LoyaltyRewards()
login_manager = LoginManager()
login_manager.login_view = "shop.login"
csrf = CSRFProtect()


@login_manager.user_loader
def load_user(user_id: str) -> Customer | None:
    """The customer of a session cookie, if that login has not ended (see ``session_token``)."""
    number, _, token = user_id.partition(":")
    if not (number.isascii() and number.isdigit() and token):
        return None
    customer = db.session.get(Customer, int(number))
    return customer if customer is not None and customer.has_session(token) else None


@loyalty.customer_loader
def current_customer() -> Customer | None:
    """The logged-in customer of this request (Flask-Login's), or None."""
    return current_user if current_user.is_authenticated else None


@loyalty.customer_profile
def customer_profile(customer: Customer) -> CustomerProfile:
    """What a redeemed reward keeps about the customer, e.g. where a gift is shipped."""
    return CustomerProfile(
        email=customer.email,
        phone=customer.phone,
        first_name=customer.first_name,
        last_name=customer.last_name,
        address=Address(
            line1=customer.street,
            postal_code=customer.postal_code,
            city=customer.city,
            country=customer.country,
        ),
    )


def is_admin() -> bool:
    """LOYALTY_ADMIN_ACCESS: only logged-in customers with is_admin see /admin."""
    return bool(current_user.is_authenticated and current_user.is_admin)


class AdminForm(FlaskForm):  # type: ignore[misc]
    """Flask-WTF's form (its CSRF token) with what Flask-Admin's own form base adds: the edited
    object as ``_obj``, which Flask-Admin's ``Unique`` validator needs to let an unchanged
    e-mail through on edit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._obj = kwargs.get("obj")
        super().__init__(*args, **kwargs)


class ShopAdminView(ModelView):  # type: ignore[misc]
    """The shop's own admin views, behind the same check as the loyalty views."""

    form_base_class = AdminForm
    can_delete = False

    def is_accessible(self) -> bool:
        return is_admin()


class CustomerAdmin(ShopAdminView):
    column_list = ("email", "first_name", "last_name", "phone", "city", "is_admin")
    column_searchable_list = ("email", "last_name")
    form_excluded_columns = ("password_hash", "session_token")


class OrderAdmin(ShopAdminView):
    can_create = can_edit = False
    column_list = ("id", "customer", "placed_at", "total", "coupon_code", "points_earned")
    column_default_sort = ("id", True)


#: Sent with every response (a view may set its own first).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_CSP_COMMON = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: The shop's and the loyalty pages: no inline script or style at all.
SHOP_CSP = f"script-src 'self'; style-src 'self'; {_CSP_COMMON}"
#: Flask-Admin's pages use inline event handlers (onclick), which only 'unsafe-inline' allows.
ADMIN_CSP = f"script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; {_CSP_COMMON}"


def security_headers(response: Response) -> Response:
    """Basic browser protections; the admin's CSP is looser only where Flask-Admin needs it."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    admin_page = request.path == "/admin" or request.path.startswith("/admin/")
    response.headers.setdefault("Content-Security-Policy", ADMIN_CSP if admin_page else SHOP_CSP)
    return response


def database_url(instance_path: str) -> str:
    """DATABASE_URL (PostgreSQL, MariaDB, ...) or a SQLite file in the instance folder."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{os.path.join(instance_path, 'shop.sqlite')}"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(HERE / "instance"))
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "example-shop-not-secret"),
        SQLALCHEMY_DATABASE_URI=database_url(app.instance_path),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        LOYALTY_ADMIN_ACCESS=is_admin,
        LOYALTY_LOGIN_ENDPOINT="shop.login",
        LOYALTY_BASE_TEMPLATE="shop/base.html",
        # The demo pays cashback by hand: an admin marks each payout paid or failed.
        LOYALTY_CASHBACK_PROVIDER="manual",
    )
    app.config.update(config or {})
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    admin = Admin(
        app,
        name="Example shop admin",
        index_view=index_view_class()(),
        theme=Bootstrap4Theme(fluid=True),
    )
    loyalty.init_app(app, db=db, models=loyalty_models, admin=admin)
    admin.add_view(CustomerAdmin(Customer, db, name="Customers", category="Shop"))
    admin.add_view(ShopAdminView(Product, db, name="Products", category="Shop"))
    admin.add_view(OrderAdmin(Order, db, name="Orders", category="Shop"))

    from .seed import seed_command
    from .views import shop

    app.register_blueprint(shop)
    app.after_request(security_headers)
    app.cli.add_command(seed_command)
    return app
