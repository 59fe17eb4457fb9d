"""A shop we did not design for (tests/vendor_shop/shop.py) mounted with at most 25 lines of glue,
walked from payment to cancellation through its own routes, on every backend."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import RewardType
from tests.vendor_shop import glue, shop

GLUE = Path(glue.__file__)
MAX_GLUE_LINES = 25


def glue_lines() -> list[str]:
    """The glue module's lines that are neither blank nor comments."""
    lines = GLUE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.strip().startswith("#")]


def test_the_glue_is_at_most_25_lines():
    assert len(glue_lines()) <= MAX_GLUE_LINES, "\n".join(glue_lines())


@pytest.fixture
def vendor_app(own_database_url: str) -> Iterator[Flask]:
    app = glue.create_app(own_database_url)
    with app.app_context():
        shop.db.drop_all()
        shop.db.create_all()
    yield app
    with app.app_context():
        shop.db.session.remove()
        shop.db.drop_all()
        shop.db.engine.dispose()


class Shopper:
    """A logged-in browser session of one customer, posting the shop's CSRF-protected forms."""

    def __init__(self, app: Flask, customer_id: int) -> None:
        self.client = app.test_client()
        page = self.client.get(f"/login/{customer_id}").get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match is not None
        self.token = match.group(1)

    def post(self, url: str, **form: Any) -> Any:
        return self.client.post(url, data={"csrf_token": self.token, **form})

    def api(self, method: str, url: str, **json: Any) -> Any:
        return self.client.open(url, method=method, json=json, headers={"X-CSRFToken": self.token})


def test_pay_earn_redeem_use_the_voucher_cancel_and_lose_the_points(vendor_app):
    with vendor_app.app_context():
        customer = shop.Customer(email="vera@example.com")
        campaign = glue.models.RewardCampaign(
            name="10% off your next order",
            reward_type=RewardType.PERCENTAGE_DISCOUNT_CODE,
            cost_in_points=60,
            reward_value=Decimal("10"),
        )
        shop.db.session.add_all([customer, campaign])
        shop.db.session.commit()
        customer_id, campaign_id = customer.id, campaign.id
    vera = Shopper(vendor_app, customer_id)

    order = vera.post("/checkout", total="100.00").get_json()["order"]
    assert vera.api("GET", "/loyalty/api/points").get_json()["active"] == 0
    assert vera.post(f"/orders/{order}/status", status=shop.PAID).status_code == 200
    assert vera.api("GET", "/loyalty/api/points").get_json()["active"] == 100

    redeemed = vera.api("POST", "/loyalty/api/redeemed-rewards", campaign_id=campaign_id)
    assert redeemed.status_code == 201, redeemed.get_json()
    code = redeemed.get_json()["coupon_code"]
    with vendor_app.app_context():
        voucher = shop.db.session.scalar(sa.select(shop.Voucher))
        assert (voucher.code, voucher.percent) == (code, Decimal("10.00"))
        assert len(code) == 16

    second = vera.post("/checkout", total="50.00", voucher=code)
    assert second.status_code == 201 and second.get_json()["total"] == "45.00"
    assert vera.post("/checkout", total="50.00", voucher=code).status_code == 400
    with vendor_app.app_context():
        reward = shop.db.session.get(glue.models.RedeemedReward, redeemed.get_json()["id"])
        assert reward.used

    assert vera.post(f"/orders/{order}/status", status=shop.CANCELLED).status_code == 200
    assert vera.api("GET", "/loyalty/api/points").get_json()["active"] == 0
    with vendor_app.app_context():
        booked = shop.db.session.scalar(sa.select(glue.models.OrderPoints))
        assert (booked.points, booked.reversed_points) == (100, 40)  # 60 were spent already
        assert glue.loyalty.verify() == []


def test_a_refused_change_fails_the_hosts_commit_and_stores_nothing(vendor_app):
    with vendor_app.app_context():
        customer = shop.Customer(email="neg@example.com")
        shop.db.session.add(customer)
        shop.db.session.commit()
        customer_id = customer.id
    buyer = Shopper(vendor_app, customer_id)
    order = buyer.post("/checkout", total="-5.00").get_json()["order"]  # the shop allows it
    assert buyer.post(f"/orders/{order}/status", status=shop.PAID).status_code == 500
    with vendor_app.app_context():
        assert shop.db.session.get(shop.Order, order).status == 1
        assert shop.db.session.scalar(sa.select(sa.func.count(glue.models.OrderPoints.id))) == 0
