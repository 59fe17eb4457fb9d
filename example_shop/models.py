"""The shop's own tables: customers, products and orders, plus the loyalty tables on its ``db``."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from decimal import Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from flask_loyalty_rewards import create_models

db = SQLAlchemy()


class Customer(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(120))
    last_name: Mapped[str] = mapped_column(sa.String(120))
    phone: Mapped[str] = mapped_column(sa.String(64), default="")
    street: Mapped[str] = mapped_column(sa.String(255), default="")
    postal_code: Mapped[str] = mapped_column(sa.String(32), default="")
    city: Mapped[str] = mapped_column(sa.String(120), default="")
    country: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    #: The login's secret, part of the id Flask-Login keeps in the session cookie: a new one
    #: at each login, none after logout, so a copy of the cookie stops working at logout.
    session_token: Mapped[str | None] = mapped_column(sa.String(64))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def start_session(self) -> None:
        """At login: a fresh token (sessions from earlier logins end too)."""
        self.session_token = secrets.token_urlsafe(32)

    def end_session(self) -> None:
        """At logout: no token, so no session cookie of this customer works any more."""
        self.session_token = None

    def get_id(self) -> str:
        """What Flask-Login stores in the session: ``<id>:<token>``."""
        return f"{self.id}:{self.session_token}"

    def has_session(self, token: str) -> bool:
        return self.session_token is not None and hmac.compare_digest(self.session_token, token)

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} <{self.email}>"


class Product(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))

    def __str__(self) -> str:
        return self.name


class Order(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shop_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"))
    customer: Mapped[Customer] = relationship()
    placed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    subtotal: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    delivery: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    discount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2), default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    coupon_code: Mapped[str | None] = mapped_column(sa.String(64))
    coupon_note: Mapped[str] = mapped_column(sa.String(255), default="")
    points_earned: Mapped[int] = mapped_column(default=0)
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", lazy="selectin")

    @property
    def number(self) -> str:
        """The reference customers and the loyalty history see."""
        return f"ORDER-{self.id:05d}"

    def __str__(self) -> str:
        return self.number


class OrderLine(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shop_order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_order.id"))
    order: Mapped[Order] = relationship(back_populates="lines")
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    product: Mapped[Product] = relationship(lazy="joined")
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))


# The loyalty tables live on the shop's own db, with a foreign key to its customer table.
loyalty_models = create_models(db, customer_model=Customer)
