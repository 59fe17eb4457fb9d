"""The example shop as a host: its seed command, its checkout (codes, points) and its admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop.app import create_app
from example_shop.models import Customer, Order, Product, db, loyalty_models
from example_shop.views import POINTS_VALID_DAYS, price
from flask_loyalty_rewards import CouponStatus, DeliveryStatus, EntryKind, RewardType, clock
from flask_loyalty_rewards.cashback import PayoutState


@pytest.fixture(scope="module")
def example_app(own_database_url: str) -> Iterator[Flask]:
    """The shop, seeded once by its CLI command (as `make shop` does)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": own_database_url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        db.drop_all()
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "demo data created" in result.output
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def query(app: Flask, fn: Any) -> Any:
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def customer_id(app: Flask, email: str) -> int:
    return int(query(app, lambda: db.session.scalar(sa.select(Customer.id).filter_by(email=email))))


def login_id(app: Flask, email: str) -> str:
    """What a login of this customer puts in the session cookie (its current login, if any)."""

    def current_login() -> str:
        customer = db.session.scalars(sa.select(Customer).filter_by(email=email)).one()
        if customer.session_token is None:
            customer.start_session()
            db.session.commit()
        return str(customer.get_id())

    return str(query(app, current_login))


def client_of(app: Flask, email: str | None) -> Any:
    client = app.test_client()
    if email is not None:
        with client.session_transaction() as session:
            session["_user_id"] = login_id(app, email)
            session["_fresh"] = True
    return client


def redeem_for(app: Flask, email: str, campaign_name: str) -> str:
    """A fresh reward for the customer (through the service), returning its code."""
    from example_shop.app import loyalty

    def work() -> str:
        customer = db.session.scalar(sa.select(Customer).filter_by(email=email))
        campaign = db.session.scalar(
            sa.select(loyalty_models.RewardCampaign).filter_by(name=campaign_name)
        )
        return str(loyalty.redeem(customer, campaign).coupon_code)

    return str(query(app, work))


def place_order(client: Any, product_id: int, code: str = "") -> Any:
    client.post(f"/cart/add/{product_id}")
    return client.post("/checkout", data={"coupon_code": code})


def test_seeding_again_changes_nothing(example_app: Flask) -> None:
    def counts() -> tuple[int, ...]:
        models = (Customer, Product, loyalty_models.RedeemedReward, loyalty_models.PointsLot)
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in models)

    before = query(example_app, counts)
    result = example_app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0
    assert "already there, nothing to do" in result.output
    assert query(example_app, counts) == before


def test_demo_data_has_every_reward_type_and_status(example_app: Flask) -> None:
    rr = loyalty_models.RedeemedReward

    def seen() -> tuple[set[Any], set[Any], set[Any], set[Any]]:
        types = set(db.session.scalars(sa.select(loyalty_models.RewardCampaign.reward_type)))
        coupons = set(db.session.scalars(sa.select(rr.coupon_status)))
        deliveries = set(db.session.scalars(sa.select(rr.delivery_status)))
        payouts = set(db.session.scalars(sa.select(loyalty_models.CashbackPayout.state)))
        return types, coupons, deliveries, payouts

    types, coupons, deliveries, payouts = query(example_app, seen)
    assert types == set(RewardType)
    assert coupons == set(CouponStatus)
    assert deliveries == {None, *DeliveryStatus}
    assert {PayoutState.INIT, PayoutState.PENDING, PayoutState.SUCCESS} <= payouts
    assert {PayoutState.FAILURE, PayoutState.CANCELED} <= payouts


def test_a_customer_whose_browser_asks_for_polish_reads_the_demo_rewards_in_polish(
    example_app: Flask,
) -> None:
    client = client_of(example_app, "anna@example.com")
    page = client.get("/loyalty/", headers={"Accept-Language": "pl"}).get_data(as_text=True)
    assert "Posadź drzewo" in page
    assert "Bez opłaty za dostawę jednego zamówienia." in page
    english = client.get("/loyalty/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Plant a tree" in english


def test_demo_customer_has_lots_expiring_at_different_dates(example_app: Flask) -> None:
    lot = loyalty_models.PointsLot
    anna = customer_id(example_app, "anna@example.com")
    expiries = query(
        example_app,
        lambda: list(
            db.session.scalars(
                sa.select(lot.expires_at).where(lot.customer_id == anna, lot.remaining > 0)
            )
        ),
    )
    assert None in expiries
    assert len({e.date() for e in expiries if e is not None}) >= 2


def test_ledger_of_the_demo_data_verifies(example_app: Flask) -> None:
    result = example_app.test_cli_runner().invoke(args=["loyalty", "verify"])
    assert result.exit_code == 0, result.output


def test_checkout_needs_a_login(example_app: Flask) -> None:
    response = place_order(client_of(example_app, None), 1)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/%09/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/orders", "/orders"),
    ],
)
def test_login_goes_back_only_to_a_page_of_the_shop(
    example_app: Flask, next_url: str, landing: str
) -> None:
    response = example_app.test_client().post(
        f"/login?next={next_url}", data={"email": "anna@example.com", "password": "anna"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == landing


def test_a_request_larger_than_the_shops_limit_is_refused_unread(example_app: Flask) -> None:
    from example_shop.app import MAX_REQUEST_BYTES

    response = example_app.test_client().post(
        "/login", data=b"x" * (MAX_REQUEST_BYTES + 1), content_type="text/csv"
    )

    assert response.status_code == 413


def test_a_session_cookie_stops_working_at_logout(example_app: Flask) -> None:
    client = example_app.test_client()
    client.post("/login", data={"email": "anna@example.com", "password": "anna"})
    copied = client.get_cookie("session")
    assert copied is not None
    assert client.get("/orders").status_code == 200

    client.post("/logout")
    replayed = example_app.test_client()
    replayed.set_cookie("session", copied.value)

    response = replayed.get("/orders")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_session_from_before_the_customers_last_login_is_refused(example_app: Flask) -> None:
    stale = client_of(example_app, "carla@example.com")
    fresh = example_app.test_client()
    fresh.post("/login", data={"email": "carla@example.com", "password": "carla"})

    assert stale.get("/orders").status_code == 302
    assert fresh.get("/orders").status_code == 200


@pytest.mark.parametrize("path", ["/", "/login", "/loyalty/", "/admin/"])
def test_every_page_carries_the_security_headers(example_app: Flask, path: str) -> None:
    from example_shop.app import SECURITY_HEADERS

    response = client_of(example_app, "admin@example.com").get(path)

    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert set(SECURITY_HEADERS) <= set(response.headers.keys())


def test_the_shops_pages_allow_no_inline_script_or_style(example_app: Flask) -> None:
    csp = (
        client_of(example_app, "anna@example.com")
        .get("/loyalty/")
        .headers["Content-Security-Policy"]
    )

    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    assert "unsafe-inline" not in csp


def test_checkout_earns_points_that_expire_in_six_months(example_app: Flask) -> None:
    client = client_of(example_app, "bob@example.com")
    response = place_order(client, 3)  # 39.00 + 4.90 delivery
    assert response.status_code == 302
    order_id = int(response.headers["Location"].rsplit("/", 1)[-1])

    def lot_of_order() -> Any:
        lot = loyalty_models.PointsLot
        order = db.session.get(Order, order_id)
        return db.session.scalars(sa.select(lot).filter_by(reference=order.number)).one()

    lot = query(example_app, lot_of_order)
    assert lot.amount == 43
    expected = lot.earned_at + dt.timedelta(days=POINTS_VALID_DAYS)
    assert abs(lot.expires_at - expected) < dt.timedelta(seconds=5)


def test_coupon_code_is_used_in_the_order_typed_any_way(example_app: Flask) -> None:
    code = redeem_for(example_app, "bob@example.com", "10% off your next order")
    response = place_order(
        client_of(example_app, "bob@example.com"), 4, code.replace("-", " ").lower()
    )
    order_id = int(response.headers["Location"].rsplit("/", 1)[-1])

    def check() -> None:
        order = db.session.get(Order, order_id)
        assert (order.subtotal, order.discount, order.total) == (
            Decimal("59.00"),
            Decimal("5.90"),
            Decimal("53.10"),
        )
        reward = db.session.scalars(
            sa.select(loyalty_models.RedeemedReward).filter_by(coupon_code=code)
        ).one()
        assert reward.used and reward.used_order_reference == order.number

    query(example_app, check)


def test_inactive_coupon_is_refused_and_no_order_is_saved(example_app: Flask) -> None:
    code = redeem_for(example_app, "bob@example.com", "Birthday voucher")  # usable in a week
    orders_before = query(
        example_app, lambda: db.session.scalar(sa.select(sa.func.count(Order.id)))
    )
    client = client_of(example_app, "bob@example.com")
    response = place_order(client, 2, code)
    assert response.headers["Location"].endswith("/cart")
    page = client.get("/cart").text
    assert "Only an Active coupon can be marked as used; this one is Inactive." in page
    assert query(example_app, lambda: db.session.scalar(sa.select(sa.func.count(Order.id)))) == (
        orders_before
    )


def test_free_delivery_code_waives_the_delivery_fee() -> None:
    reward = type("Reward", (), {"reward_type": RewardType.FREE_DELIVERY, "reward_value": None})
    prices = price(Decimal("9.50"), reward)
    assert (prices.delivery, prices.discount, prices.total) == (
        Decimal("4.90"),
        Decimal("4.90"),
        Decimal("9.50"),
    )


@pytest.mark.parametrize(
    ("percent", "note"),
    [("10.00", "10% off"), ("100", "100% off"), ("12.50", "12.5% off"), ("0.5", "0.5% off")],
)
def test_a_percentage_code_is_written_in_plain_numbers(percent: str, note: str) -> None:
    reward = type(
        "Reward",
        (),
        {"reward_type": RewardType.PERCENTAGE_DISCOUNT_CODE, "reward_value": Decimal(percent)},
    )
    assert price(Decimal("80.00"), reward).note == note


def test_the_shops_customer_admin_saves_an_edit_of_an_unchanged_email(example_app: Flask) -> None:
    admin = client_of(example_app, "admin@example.com")
    bob = query(
        example_app,
        lambda: db.session.scalars(sa.select(Customer).filter_by(email="bob@example.com")).one(),
    )
    fields = {
        "email": "bob@example.com",
        "first_name": "Robert",
        "last_name": bob.last_name,
        "phone": bob.phone,
        "street": bob.street,
        "postal_code": bob.postal_code,
        "city": bob.city,
        "country": bob.country,
    }

    response = admin.post(f"/admin/customer/edit/?id={bob.id}", data=fields)

    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Already exists" not in response.get_data(as_text=True)
    saved = query(example_app, lambda: db.session.get(Customer, bob.id))
    assert (saved.first_name, saved.email) == ("Robert", "bob@example.com")


def test_the_shops_customer_admin_still_refuses_another_customers_email(example_app: Flask) -> None:
    admin = client_of(example_app, "admin@example.com")
    carla_id = customer_id(example_app, "carla@example.com")

    response = admin.post(
        f"/admin/customer/edit/?id={carla_id}",
        data={"email": "anna@example.com", "first_name": "Carla", "last_name": "X"},
    )

    assert "Already exists." in response.get_data(as_text=True)
    assert (
        query(example_app, lambda: db.session.get(Customer, carla_id).email) == "carla@example.com"
    )


def test_admin_views_are_for_admins_only(example_app: Flask) -> None:
    assert (
        client_of(example_app, "admin@example.com").get("/admin/loyalty/redeemed/").status_code
        == 200
    )
    assert client_of(example_app, "admin@example.com").get("/admin/customer/").status_code == 200
    assert client_of(example_app, "anna@example.com").get("/admin/").status_code == 403
    assert client_of(example_app, "anna@example.com").get("/admin/customer/").status_code == 403
    anonymous = client_of(example_app, None).get("/admin/loyalty/redeemed/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_seed_moves_the_clock_back_only_while_seeding(example_app: Flask) -> None:
    assert abs(clock.now() - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=5)


def test_seed_refuses_a_half_seeded_database(tmp_path: Any) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'half.sqlite'}"})
    with app.app_context():
        db.create_all()
        db.session.add(
            Customer(email="x@example.com", first_name="X", last_name="Y", password_hash="-")
        )
        db.session.commit()
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 1
    assert "an earlier seed stopped half-way" in result.output
    with app.app_context():
        db.engine.dispose()


def test_points_guide_fifo_example_is_what_the_demo_data_holds(example_app: Flask) -> None:
    """docs/guides/points.rst walks through Anna's lots; the numbers must stay true."""
    m = loyalty_models
    anna = customer_id(example_app, "anna@example.com")

    def spent_from() -> dict[str, list[tuple[str | None, int]]]:
        lots = {
            lot.id: lot.reason
            for lot in db.session.scalars(sa.select(m.PointsLot).filter_by(customer_id=anna))
        }
        result: dict[str, list[tuple[str | None, int]]] = {}
        for reward in db.session.scalars(sa.select(m.RedeemedReward).filter_by(customer_id=anna)):
            entry = db.session.scalars(
                sa.select(m.LedgerEntry).filter_by(
                    redeemed_reward_id=reward.id, kind=EntryKind.SPEND
                )
            ).one()
            allocations = db.session.scalars(
                sa.select(m.Allocation).filter_by(entry_id=entry.id).order_by(m.Allocation.id)
            )
            result[reward.reward_name] = [(lots[a.lot_id], a.points) for a in allocations]
        return result

    assert query(example_app, spent_from) == {
        "5.00 off": [("Order ORDER-90001", 150)],
        "Loyalty tote bag": [("Welcome bonus", 300), ("Order ORDER-90002", 100)],
        "10% off your next order": [("Order ORDER-90002", 200)],
        "Birthday voucher": [("Order ORDER-90002", 100), ("Order ORDER-90003", 20)],
    }
