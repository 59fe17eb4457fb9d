"""A shop as vendors write them, with the traps a loyalty extension meets in the wild.

Its model base injects ``id``, ``created_at`` and ``updated_at`` and reserves ``get``, ``url``,
``to_dict`` and ``props``; it has its own vouchers (``String(16)`` codes) checked at its own
checkout, its own order life cycle (3 = paid, 4 = cancelled), global CSRF protection and
Flask-Login. Nothing here knows about flask-loyalty-rewards: ``glue.py`` mounts it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, render_template_string, request
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.model import Model
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

PAID, CANCELLED = 3, 4


def utcnow() -> dt.datetime:
    """Naive UTC, as many shops store it."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class ShopModel(Model):
    """Every table gets these columns and these helpers (names an extension must not need)."""

    @declared_attr
    def id(cls) -> Mapped[int]:
        return mapped_column(sa.Integer, primary_key=True)

    @declared_attr
    def created_at(cls) -> Mapped[dt.datetime]:
        return mapped_column(sa.DateTime, default=utcnow, nullable=False)

    @declared_attr
    def updated_at(cls) -> Mapped[dt.datetime | None]:
        return mapped_column(sa.DateTime, default=utcnow, onupdate=utcnow)

    @classmethod
    def get(cls, ident: Any) -> Any:
        return db.session.get(cls, ident)

    def url(self) -> str:
        return f"/{type(self).__name__.lower()}/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}  # type: ignore[attr-defined]

    @property
    def props(self) -> dict[str, Any]:
        return self.to_dict()


db = SQLAlchemy(model_class=ShopModel)
csrf = CSRFProtect()
logins = LoginManager()


class Customer(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    email = sa.Column(sa.String(255), nullable=False, unique=True)


class Order(db.Model):  # type: ignore[name-defined,misc]
    customer_id = sa.Column(sa.ForeignKey("customer.id"), nullable=False)
    total = sa.Column(sa.Numeric(10, 2), nullable=False)
    status = sa.Column(sa.Integer, nullable=False, default=1)  # 1 new, 3 paid, 4 cancelled
    voucher_code = sa.Column(sa.String(16))


class Voucher(db.Model):  # type: ignore[name-defined,misc]
    code = sa.Column(sa.String(16), nullable=False, unique=True)
    customer_id = sa.Column(sa.ForeignKey("customer.id"), nullable=False)
    percent = sa.Column(sa.Numeric(5, 2), nullable=False, default=0)
    used_at = sa.Column(sa.DateTime)


FORM = '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form>'


def create_app(database_url: str, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="vendor", SQLALCHEMY_DATABASE_URI=database_url, **config)
    db.init_app(app)
    csrf.init_app(app)
    logins.init_app(app)
    logins.user_loader(lambda user_id: Customer.get(int(user_id)))

    @app.get("/login/<int:customer_id>")
    def login(customer_id: int) -> str:
        login_user(Customer.get(customer_id))
        return render_template_string(FORM)

    @app.post("/checkout")
    @login_required
    def checkout() -> tuple[dict[str, Any], int]:
        total = Decimal(request.form["total"])
        code = request.form.get("voucher") or None
        if code is not None:
            voucher = db.session.scalar(
                sa.select(Voucher).where(
                    Voucher.code == code, Voucher.customer_id == current_user.id
                )
            )
            if voucher is None or voucher.used_at is not None:
                return {"error": "invalid voucher"}, 400
            voucher.used_at = utcnow()
            total = total * (100 - voucher.percent) / 100
        order = Order(customer_id=current_user.id, total=total, voucher_code=code)
        db.session.add(order)
        db.session.commit()
        return {"order": order.id, "total": str(order.total)}, 201

    @app.post("/orders/<int:order_id>/status")
    @login_required
    def set_status(order_id: int) -> dict[str, Any]:
        order = Order.get(order_id)
        if order is None or order.customer_id != current_user.id:
            abort(404)
        order.status = int(request.form["status"])
        db.session.commit()
        return order.to_dict()

    return app
