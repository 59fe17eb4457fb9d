"""``flask --app example_shop.app seed``: the demo data, created once through the loyalty services.

Running it again changes nothing. Past events (points earned months ago, a coupon that expired)
are made by moving :func:`flask_loyalty_rewards.clock.now` back while the services run, so every
row is exactly what the services would have written at that time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from flask_loyalty_rewards import CodeSource, DeliveryStatus, RewardType, clock
from flask_loyalty_rewards.services.campaigns import check_campaign

from .models import Customer, Product, db, loyalty_models

#: (e-mail, password, who): shown on the login page and in the README.
DEMO_LOGINS = [
    ("admin@example.com", "admin", "Demo admin: /admin"),
    ("anna@example.com", "anna", "Demo customer with points and rewards"),
]

CUSTOMERS = [
    dict(
        email="admin@example.com",
        password="admin",
        first_name="Ada",
        last_name="Admin",
        phone="+48 600 100 100",
        street="1 Market Square",
        postal_code="00-001",
        city="Warsaw",
        country="Poland",
        is_admin=True,
    ),
    dict(
        email="anna@example.com",
        password="anna",
        first_name="Anna",
        last_name="Kowalska",
        phone="+91 98765 43210",
        street="12 Rose Street",
        postal_code="31-000",
        city="Kraków",
        country="Poland",
    ),
    dict(
        email="bob@example.com",
        password="bob",
        first_name="Bob",
        last_name="Brown",
        phone="+44 7700 900123",
        street="221 Baker Street",
        postal_code="NW1 6XE",
        city="London",
        country="United Kingdom",
    ),
    dict(
        email="carla@example.com",
        password="carla",
        first_name="Carla",
        last_name="Rossi",
        phone="+91 91234 56789",
        street="Via Roma 5",
        postal_code="00184",
        city="Rome",
        country="Italy",
    ),
]

PRODUCTS = [
    ("Espresso beans 1 kg", "Dark roast, single origin.", "24.90"),
    ("Ceramic mug", "Holds 350 ml, dishwasher safe.", "9.50"),
    ("Pour-over kettle", "Gooseneck, 1 litre.", "39.00"),
    ("Hand grinder", "Conical burrs, 18 settings.", "59.00"),
    ("Paper filters (100)", "Unbleached.", "4.20"),
    ("Tasting notebook", "Track every cup.", "7.80"),
]

#: name -> campaign fields; every reward type, and one too dear for the demo customer.
CAMPAIGNS: dict[str, dict[str, Any]] = {
    "10% off your next order": dict(
        reward_type=RewardType.PERCENTAGE_DISCOUNT_CODE,
        cost_in_points=200,
        reward_value=Decimal("10"),
        days_valid=30,
        description="A code for 10% off everything in one order.",
    ),
    "5.00 off": dict(
        reward_type=RewardType.DISCOUNT_CODE,
        cost_in_points=150,
        reward_value=Decimal("5.00"),
        days_valid=30,
        description="5.00 off an order.",
    ),
    "Birthday voucher": dict(
        reward_type=RewardType.DISCOUNT_CODE,
        cost_in_points=120,
        reward_value=Decimal("8.00"),
        days_inactive=7,
        days_valid=30,
        description="8.00 off; the code works from a week after you take it.",
    ),
    "Free delivery": dict(
        reward_type=RewardType.FREE_DELIVERY,
        cost_in_points=100,
        days_valid=14,
        code_source=CodeSource.SHARED,
        shared_code="FREESHIP",
        description="No delivery fee on one order.",
    ),
    "Loyalty tote bag": dict(
        reward_type=RewardType.GIFT,
        cost_in_points=400,
        tax_value=Decimal("1.90"),
        code_source=CodeSource.NONE,
        fulfillment_tracking=True,
        description="A canvas bag, posted to your address.",
    ),
    "Summer tasting evening": dict(
        reward_type=RewardType.EVENT_INVITATION,
        cost_in_points=250,
        code_source=CodeSource.POOL,
        description="One seat at our tasting; ticket code inside.",
    ),
    "20.00 gift card": dict(
        reward_type=RewardType.VALUE_CODE,
        cost_in_points=800,
        reward_value=Decimal("20.00"),
        description="A 20.00 code, valid for a year.",
        days_valid=365,
    ),
    "Plant a tree": dict(
        reward_type=RewardType.CUSTOM,
        cost_in_points=50,
        code_source=CodeSource.NONE,
        description="We plant a tree in your name.",
    ),
    "50 INR cashback": dict(
        reward_type=RewardType.CASHBACK,
        cost_in_points=300,
        reward_value=Decimal("50.00"),
        currency="INR",
        code_source=CodeSource.NONE,
        description="50 INR to your wallet (paid by hand in this demo).",
    ),
    "Barista course": dict(
        reward_type=RewardType.GIFT,
        cost_in_points=5000,
        code_source=CodeSource.NONE,
        fulfillment_tracking=True,
        description="A day with our head barista.",
    ),
}

#: name -> the Polish name and description (the admin's per-locale campaign texts), so a
#: customer whose browser asks for Polish reads the rewards in Polish.
POLISH_TEXTS: dict[str, tuple[str, str]] = {
    "10% off your next order": (
        "10% zniżki na następne zamówienie",
        "Kod na 10% zniżki na całe jedno zamówienie.",
    ),
    "5.00 off": ("5,00 zniżki", "5,00 zniżki na zamówienie."),
    "Birthday voucher": (
        "Bon urodzinowy",
        "8,00 zniżki; kod działa od tygodnia po jego odebraniu.",
    ),
    "Free delivery": ("Darmowa dostawa", "Bez opłaty za dostawę jednego zamówienia."),
    "Loyalty tote bag": ("Torba dla stałych klientów", "Płócienna torba, wysłana na Twój adres."),
    "Summer tasting evening": (
        "Letni wieczór degustacyjny",
        "Jedno miejsce na naszej degustacji; kod biletu w środku.",
    ),
    "20.00 gift card": ("Karta podarunkowa 20,00", "Kod na 20,00, ważny przez rok."),
    "Plant a tree": ("Posadź drzewo", "Posadzimy drzewo w Twoim imieniu."),
    "50 INR cashback": (
        "Zwrot 50 INR",
        "50 INR na Twój portfel (w tym demo wypłacane ręcznie).",
    ),
    "Barista course": ("Kurs baristy", "Dzień z naszym głównym baristą."),
}

#: What the admin's campaign form starts from.
CAMPAIGN_DEFAULTS: dict[str, Any] = dict(
    active=True,
    tax_value=Decimal("0.00"),
    days_inactive=0,
    days_valid=0,
    code_source=CodeSource.GENERATED,
    fulfillment_tracking=False,
)

EVENT_TICKETS = "\n".join(f"TASTING-{n:03d}" for n in range(1, 21))


@contextmanager
def clock_at(moment: dt.datetime) -> Iterator[None]:
    """Run the services as if it were ``moment``."""
    original = clock.now
    clock.now = lambda: moment  # type: ignore[assignment]
    try:
        yield
    finally:
        clock.now = original  # type: ignore[assignment]


def count(model: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def is_seeded() -> bool:
    """Complete demo data: the products are written last, in the final commit."""
    if count(Product):
        return True
    if count(Customer):
        raise click.ClickException(
            "the shop has customers but no products: an earlier seed stopped half-way. "
            "Empty the database (make clean, for SQLite) and seed again."
        )
    return False


def seed(now: dt.datetime | None = None) -> bool:
    """Create the demo data unless there is any; True when it did."""
    if is_seeded():
        return False
    from .app import loyalty

    now = now or clock.now()
    days = lambda n: now + dt.timedelta(days=n)  # noqa: E731
    people = {}
    for fields in CUSTOMERS:
        values = dict(fields)
        password = values.pop("password")
        customer = Customer(**values)
        customer.set_password(password)
        db.session.add(customer)
        people[customer.first_name.lower()] = customer
    campaigns = {}
    for name, fields in CAMPAIGNS.items():
        values = {**CAMPAIGN_DEFAULTS, **fields, "name": name}
        campaign = loyalty_models.RewardCampaign(
            created_at=days(-120), updated_at=days(-120), **values
        )
        check_campaign(campaign)  # the rules the admin's campaign form applies
        db.session.add(campaign)
        campaigns[name] = campaign
    db.session.flush()
    for name, (polish_name, polish_description) in POLISH_TEXTS.items():
        db.session.add(
            loyalty_models.CampaignTranslation(
                campaign_id=campaigns[name].id,
                locale="pl",
                name=polish_name,
                description=polish_description,
            )
        )
    db.session.commit()
    loyalty.add_pool_codes(campaigns["Summer tasting evening"], EVENT_TICKETS)

    anna, bob, carla = people["anna"], people["bob"], people["carla"]
    admin = "admin:admin@example.com"

    def earn(who: Customer, points: int, at: float, expires: int | None, reason: str) -> None:
        with clock_at(days(at)):
            loyalty.earn_points(
                who, points, reason=reason, expires_at=days(expires) if expires else None
            )

    def redeem(who: Customer, name: str, at: int) -> Any:
        return redeem_at(loyalty, who, campaigns[name], days(at))

    def at(day: int, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with clock_at(days(day)):
            return fn(*args, **kwargs)

    # Anna: lots that expire at different dates; spending always takes the soonest first.
    earn(anna, 300, -90, -30, "Order ORDER-90001")  # 150 left when it expired
    earn(anna, 300, -60, 10, "Welcome bonus")
    expired_coupon = redeem(anna, "5.00 off", -50)  # valid 30 days: expired by now
    earn(anna, 400, -40, 45, "Order ORDER-90002")
    gift = redeem(anna, "Loyalty tote bag", -25)  # takes the welcome bonus first
    at(-24, loyalty.mark_used, gift, actor=admin)
    at(-20, loyalty.set_delivery_status, gift, DeliveryStatus.SHIPPED, actor=admin)
    earn(anna, 600, -20, 160, "Order ORDER-90003")
    earn(anna, 100, -10, None, "Newsletter sign-up (never expires)")
    redeem(anna, "10% off your next order", -2)  # Active: use it at checkout
    redeem(anna, "Birthday voucher", -1)  # Inactive for a week
    earn(anna, 50, -0.5, 7, "Product review bonus")  # expires first, so it is spent first

    # Bob: gifts delivered and cancelled, a used ticket, a used gift card.
    earn(bob, 3000, -70, 300, "Order ORDER-90010")
    delivered = redeem(bob, "Loyalty tote bag", -60)
    at(-59, loyalty.mark_used, delivered, actor=admin)
    at(-55, loyalty.set_delivery_status, delivered, DeliveryStatus.SHIPPED, actor=admin)
    at(-52, loyalty.set_delivery_status, delivered, DeliveryStatus.DELIVERED, actor=admin)
    lost = redeem(bob, "Loyalty tote bag", -30)
    at(-29, loyalty.mark_used, lost, actor=admin)
    at(-28, loyalty.set_delivery_status, lost, DeliveryStatus.CANCELED, actor=admin)
    ticket = redeem(bob, "Summer tasting evening", -15)
    at(-14, loyalty.mark_used, ticket, actor=admin, order_reference="EVENT-DOOR")
    card = redeem(bob, "20.00 gift card", -12)
    at(-3, loyalty.mark_used, card, order_reference="ORDER-90011")

    # Carla: a cancelled redemption (points returned to their lots), an unused custom reward.
    earn(carla, 900, -45, 90, "Order ORDER-90020")
    shipping = redeem(carla, "Free delivery", -8)
    at(-7, loyalty.cancel_redemption, shipping, reason="Ordered by mistake", actor=admin)
    redeem(carla, "Plant a tree", -6)
    seed_cashback(loyalty, carla, campaigns["50 INR cashback"], days, admin)

    # The scheduled job catches up: Anna's oldest lot and the 5.00 code expire.
    loyalty.run_expiry(now)
    assert expired_coupon.id is not None
    for name, description, price in PRODUCTS:
        db.session.add(Product(name=name, description=description, price=Decimal(price)))
    db.session.commit()
    return True


def seed_cashback(loyalty: Any, who: Customer, campaign: Any, days: Any, admin: str) -> None:
    """A cashback payout in each status, through the manual provider (an admin pays by hand)."""
    from flask_loyalty_rewards import get_state
    from flask_loyalty_rewards.cashback import actions

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ctx = get_state(app).context(app)
    model = loyalty_models.CashbackPayout

    def payout_of(redeemed: Any) -> Any:
        return db.session.scalars(sa.select(model).filter_by(redeemed_reward_id=redeemed.id)).one()

    with clock_at(days(-44)):
        loyalty.earn_points(who, 2000, reason="Order ORDER-90021", expires_at=days(200))
    paid = redeem_at(loyalty, who, campaign, days(-40))  # 1: MANUAL: Paid by ...
    with clock_at(days(-39)):
        actions.settle_manually(ctx, payout_of(paid), paid=True, actor=admin)
    failed = redeem_at(loyalty, who, campaign, days(-30))  # 2: MANUAL: <why>
    with clock_at(days(-29)):
        actions.settle_manually(
            ctx, payout_of(failed), paid=False, note="Wallet is closed", actor=admin
        )
    canceled = redeem_at(loyalty, who, campaign, days(-20))  # 2: CANCELED: <reason>
    with clock_at(days(-19)):
        actions.settle_manually(
            ctx, payout_of(canceled), paid=False, note="Wrong phone number", actor=admin
        )
        actions.cancel(ctx, payout_of(canceled), reason="Customer chose points back", actor=admin)
    redeem_at(loyalty, who, campaign, days(-3))  # 3: MANUAL: waiting for an admin
    # Redeemed while sending waits for `flask loyalty cashback-sync`: 0: INIT: INIT.
    app.config["LOYALTY_CASHBACK_SEND_ON_REDEEM"] = False
    try:
        redeem_at(loyalty, who, campaign, days(-0.1))
    finally:
        app.config["LOYALTY_CASHBACK_SEND_ON_REDEEM"] = True


def redeem_at(loyalty: Any, who: Customer, campaign: Any, moment: dt.datetime) -> Any:
    with clock_at(moment):
        return loyalty.redeem(who, campaign)


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Create the tables (if missing) and the demo data (if the shop is empty)."""
    db.create_all()
    if seed():
        click.echo("example shop: demo data created")
    else:
        click.echo("example shop: demo data already there, nothing to do")
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    click.echo(f"database: {sa.make_url(url).render_as_string(hide_password=True)}")
    for email, password, who in DEMO_LOGINS:
        click.echo(f"  log in as {email} / {password}  ({who})")
