"""A minimal host shop, as a shop developer would write it, used by most tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, session
from flask_admin import Admin
from flask_sqlalchemy import SQLAlchemy

from flask_loyalty_rewards import Address, CustomerProfile, LoyaltyRewards, create_models

db = SQLAlchemy()


class Customer(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "customer"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(255), nullable=False, unique=True)
    phone = sa.Column(sa.String(64), nullable=False, default="")
    first_name = sa.Column(sa.String(120), nullable=False, default="")
    last_name = sa.Column(sa.String(120), nullable=False, default="")
    street = sa.Column(sa.String(255), nullable=False, default="")
    postal_code = sa.Column(sa.String(32), nullable=False, default="")
    city = sa.Column(sa.String(120), nullable=False, default="")
    country = sa.Column(sa.String(120), nullable=False, default="")
    is_admin = sa.Column(sa.Boolean, nullable=False, default=False)
    #: The customer's language, for hosts whose Flask-Babel locale selector reads it.
    locale = sa.Column(sa.String(16), nullable=False, default="en")


models = create_models(db, customer_model=Customer)
loyalty = LoyaltyRewards()


@loyalty.customer_loader
def current_customer() -> Customer | None:
    customer_id = session.get("customer_id")
    return db.session.get(Customer, customer_id) if customer_id is not None else None


@loyalty.customer_profile
def profile(customer: Customer) -> CustomerProfile:
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


def customer_locale() -> str | None:
    """A Flask-Babel locale selector a host may use: the logged-in customer's language."""
    customer = current_customer()
    return customer.locale if customer is not None else None


def is_admin() -> bool:
    customer = current_customer()
    return bool(customer is not None and customer.is_admin)


def create_app(database_url: str, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="test-secret",
        TESTING=True,
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(database_url),
        LOYALTY_ADMIN_ACCESS=is_admin,
    )
    app.config.update(config)
    db.init_app(app)
    admin = Admin(app, name="Shop admin")
    loyalty.init_app(app, db=db, models=models, admin=admin)
    add_test_login(app)
    return app


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_size": 20, "max_overflow": 10}


def add_test_login(app: Flask) -> None:
    """Test-only stand-in for the host's login: /_test/login/<id> puts a customer in the session."""

    @app.route("/_test/login/<int:customer_id>")
    def _test_login(customer_id: int) -> str:
        session["customer_id"] = customer_id
        return "ok"

    @app.route("/_test/logout")
    def _test_logout() -> str:
        session.pop("customer_id", None)
        return "ok"
