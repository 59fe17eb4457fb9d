"""The shop's pages: products, cart, checkout, login. Checkout is where loyalty comes in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from flask_loyalty_rewards import LoyaltyError, RewardType, clock
from flask_loyalty_rewards.redirects import local_url

from .app import loyalty
from .models import Customer, Order, OrderLine, Product, db
from .seed import DEMO_LOGINS

shop = Blueprint("shop", __name__)

CENT = Decimal("0.01")
DELIVERY_FEE = Decimal("4.90")
FREE_DELIVERY_FROM = Decimal("50.00")
#: Points earned per order expire after this many days (SHOP_POINTS_VALID_DAYS).
POINTS_VALID_DAYS = 180


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class CheckoutForm(FlaskForm):  # type: ignore[misc]
    coupon_code = StringField("Coupon code (optional)", validators=[Length(max=80)])


@dataclass
class Prices:
    subtotal: Decimal
    delivery: Decimal
    discount: Decimal
    note: str

    @property
    def total(self) -> Decimal:
        return max(Decimal("0.00"), self.subtotal + self.delivery - self.discount)


def price(subtotal: Decimal, reward: Any = None) -> Prices:
    """The shop's pricing, and what each kind of reward is worth in it."""
    delivery = Decimal("0.00") if subtotal >= FREE_DELIVERY_FROM else DELIVERY_FEE
    prices = Prices(subtotal, delivery, Decimal("0.00"), "")
    if reward is None:
        return prices
    value = reward.reward_value or Decimal("0")
    kind = reward.reward_type
    if kind is RewardType.PERCENTAGE_DISCOUNT_CODE:
        prices.discount = (subtotal * value / 100).quantize(CENT, ROUND_HALF_UP)
        prices.note = f"{value.normalize():f}% off"  # 10, not 1E+1
    elif kind in (RewardType.DISCOUNT_CODE, RewardType.VALUE_CODE):
        prices.discount = min(subtotal, value)
        prices.note = f"{prices.discount} off"
    elif kind is RewardType.FREE_DELIVERY:
        prices.discount, prices.note = delivery, "free delivery"
    else:
        prices.note = f"{reward.reward_name} comes with this order"
    return prices


def cart() -> dict[str, int]:
    raw = session.get("cart")
    return dict(raw) if isinstance(raw, dict) else {}


def cart_lines() -> list[tuple[Product, int]]:
    items = {int(k): v for k, v in cart().items() if k.isdigit() and isinstance(v, int) and v > 0}
    if not items:
        return []
    products = db.session.scalars(sa.select(Product).where(Product.id.in_(items))).all()
    return [(p, items[p.id]) for p in sorted(products, key=lambda p: p.id)]


def safe_next(target: str | None) -> str:
    """Back to the page that asked for the login, if it is one of ours."""
    return local_url(target) or url_for("shop.products")


@shop.app_context_processor
def shop_layout() -> dict[str, Any]:
    def active_points() -> int | None:
        if not current_user.is_authenticated:
            return None
        return loyalty.active_points(current_user)

    return {
        "cart_count": sum(v for v in cart().values() if isinstance(v, int)),
        "active_points": active_points,
    }


@shop.get("/")
def products() -> str:
    rows = db.session.scalars(sa.select(Product).order_by(Product.id)).all()
    return render_template("shop/products.html", products=rows)


@shop.post("/cart/add/<int:product_id>")
def add_to_cart(product_id: int) -> Response:
    product = db.session.get(Product, product_id) or abort(404)
    items = cart()
    items[str(product.id)] = min(99, items.get(str(product.id), 0) + 1)
    session["cart"] = items
    flash(f"{product.name} is in your cart.")
    return redirect(url_for("shop.products"))


@shop.post("/cart/remove/<int:product_id>")
def remove_from_cart(product_id: int) -> Response:
    items = cart()
    items.pop(str(product_id), None)
    session["cart"] = items
    return redirect(url_for("shop.view_cart"))


@shop.get("/cart")
def view_cart() -> str:
    lines = cart_lines()
    subtotal = sum((p.price * q for p, q in lines), Decimal("0.00"))
    return render_template(
        "shop/cart.html", lines=lines, prices=price(subtotal), form=CheckoutForm()
    )


@shop.post("/checkout")
@login_required  # type: ignore[misc]
def checkout() -> Response | tuple[str, int]:
    """Place the order: use the coupon, earn points, all through the loyalty services."""
    form = CheckoutForm()
    lines = cart_lines()
    if not form.validate_on_submit() or not lines:
        flash("Your cart is empty." if not lines else "Please check the form.")
        return redirect(url_for("shop.view_cart"))
    customer: Customer = current_user
    code = (form.coupon_code.data or "").strip()
    reward = None
    if code:
        try:
            reward = loyalty.find_coupon(customer, code)
        except LoyaltyError as exc:
            flash(f"Coupon {code}: {exc.message}", "error")
            return redirect(url_for("shop.view_cart"))
    subtotal = sum((p.price * q for p, q in lines), Decimal("0.00"))
    prices = price(subtotal, reward)
    order = Order(
        customer_id=customer.id,
        placed_at=clock.now(),
        subtotal=prices.subtotal,
        delivery=prices.delivery,
        discount=prices.discount,
        total=prices.total,
        coupon_code=reward.coupon_code if reward else None,
        coupon_note=prices.note,
        points_earned=int(prices.total),
    )
    db.session.add(order)
    db.session.flush()
    for product, quantity in lines:
        db.session.add(
            OrderLine(order=order, product=product, quantity=quantity, unit_price=product.price)
        )
    if reward is not None:
        try:
            # Commits the order together with the coupon's use; a refusal leaves it unsaved.
            loyalty.use_coupon(customer, code, order_reference=order.number)
        except LoyaltyError as exc:
            db.session.rollback()
            flash(f"Coupon {code}: {exc.message}", "error")
            return redirect(url_for("shop.view_cart"))
    if order.points_earned:
        days = int(current_app.config.get("SHOP_POINTS_VALID_DAYS", POINTS_VALID_DAYS))
        loyalty.earn_points(
            customer,
            order.points_earned,
            expires_at=clock.now() + dt.timedelta(days=days),
            reason=f"Order {order.number}",
            reference=order.number,
            idempotency_key=f"order-{order.id}",
        )
    else:
        db.session.commit()
    session.pop("cart", None)
    return redirect(url_for("shop.order", order_id=order.id))


@shop.get("/orders")
@login_required  # type: ignore[misc]
def orders() -> str:
    rows = db.session.scalars(
        sa.select(Order).where(Order.customer_id == current_user.id).order_by(Order.id.desc())
    ).all()
    return render_template("shop/orders.html", orders=rows)


@shop.get("/orders/<int:order_id>")
@login_required  # type: ignore[misc]
def order(order_id: int) -> str:
    row = db.session.get(Order, order_id)
    if row is None or row.customer_id != current_user.id:
        abort(404)
    summary = loyalty.points_summary(current_user)
    return render_template("shop/order.html", order=row, summary=summary)


@shop.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        customer = db.session.scalar(sa.select(Customer).where(Customer.email == email))
        if customer is not None and customer.check_password(form.password.data or ""):
            customer.start_session()
            db.session.commit()
            login_user(customer)
            return redirect(safe_next(request.args.get("next")))
        flash("Wrong e-mail or password.", "error")
    return render_template("shop/login.html", form=form, demo_logins=DEMO_LOGINS)


@shop.post("/logout")
def logout() -> Response:
    """Ends the login on the server too: a copied session cookie no longer logs anybody in."""
    if current_user.is_authenticated:
        current_user.end_session()
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("shop.products"))
