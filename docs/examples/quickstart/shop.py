# Imports sit in the snippet that needs them.
# ruff: noqa: E402
"""The quickstart's shop, complete: every snippet of docs/quickstart.rst is cut from this file.

tests/test_docs_quickstart.py imports it and runs it, so the quickstart cannot rot.
"""

from __future__ import annotations

# [models]
import sqlalchemy as sa
from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy

from flask_loyalty_rewards import create_models

db = SQLAlchemy()


class Customer(UserMixin, db.Model):  # your existing customer model
    __tablename__ = "customer"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(255), unique=True, nullable=False)
    phone = sa.Column(sa.String(64), default="")
    first_name = sa.Column(sa.String(120), default="")
    last_name = sa.Column(sa.String(120), default="")
    street = sa.Column(sa.String(255), default="")
    postal_code = sa.Column(sa.String(32), default="")
    city = sa.Column(sa.String(120), default="")
    country = sa.Column(sa.String(120), default="")
    is_admin = sa.Column(sa.Boolean, default=False, nullable=False)


# The loyalty tables (loyalty_*) on your db, with a foreign key to your customer table.
models = create_models(db, customer_model=Customer)
# [end models]

# [callbacks]
from flask_login import current_user

from flask_loyalty_rewards import Address, CustomerProfile, LoyaltyRewards

loyalty = LoyaltyRewards()


@loyalty.customer_loader
def current_customer():
    """The customer of the current request, or None (here: Flask-Login's user)."""
    return current_user if current_user.is_authenticated else None


@loyalty.customer_profile
def customer_profile(customer):
    """Copied onto every redeemed reward: who got it, and where a gift goes."""
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


# [end callbacks]


# (Not in the quickstart: your shop's login already exists.)
from flask_login import LoginManager

login_manager = LoginManager()


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(Customer, int(user_id))


# [app]
import os

from flask import Flask
from flask_admin import Admin
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from flask_loyalty_rewards.admin import index_view_class


def is_admin():
    """Who may open the loyalty admin views (everybody else gets 403)."""
    return current_user.is_authenticated and current_user.is_admin


def create_app():
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "change-me"),
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", "sqlite:///shop.sqlite"),
        LOYALTY_ADMIN_ACCESS=is_admin,
    )
    db.init_app(app)
    Migrate(app, db)
    CSRFProtect(app)
    login_manager.init_app(app)  # your login, as before
    admin = Admin(app, name="Shop admin", index_view=index_view_class()())
    loyalty.init_app(app, db=db, models=models, admin=admin)
    return app


# [end app]


# [create tables]
def create_tables(app):
    """Without Flask-Migrate: create the missing tables, yours and the loyalty ones."""
    with app.app_context():
        db.create_all()


# [end create tables]


# [earn]
import datetime as dt


def order_paid(order):
    """Call it where your shop marks an order paid: one point per whole unit spent."""
    loyalty.earn_points(
        order.customer,
        int(order.total),
        # From the order, not from "now": a retry must repeat the request exactly.
        expires_at=order.paid_at + dt.timedelta(days=365),
        reason=f"Order {order.number}",
        reference=order.number,
        idempotency_key=f"order-{order.id}",  # paying twice never earns twice
    )


# [end earn]


# [coupon]
from flask_loyalty_rewards import LoyaltyError


def apply_coupon(customer, code, order):
    """At checkout: mark the customer's reward with this code used in this order.

    Returns the redeemed reward (its reward_type and reward_value tell you the discount),
    or the refusal's message to show next to the code field.
    """
    try:
        return loyalty.use_coupon(customer, code, order_reference=order.number)
    except LoyaltyError as refusal:
        db.session.rollback()  # the refusal left your pending order unsaved
        return refusal.message


# [end coupon]
