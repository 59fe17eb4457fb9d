"""Helpers of the client cockpit and JSON API tests.

Data is set up in short app contexts of its own, so test-client requests never run inside an
active app context (each request gets its own context and database session, as in production).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import RewardType, clock
from tests import host

T = TypeVar("T")
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
FORM_FIELD = re.compile(r'name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"')


class Shop:
    """Customers, campaigns and points of the test host shop, by id."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def run(self, fn: Callable[[], T]) -> T:
        with self.app.app_context():
            try:
                return fn()
            finally:
                host.db.session.remove()

    def customer(self, **fields: Any) -> int:
        def make() -> int:
            n = host.db.session.execute(sa.select(sa.func.count()).select_from(host.Customer))
            number = int(n.scalar_one()) + 1
            values: dict[str, Any] = {
                "email": f"client{number}@example.com",
                "first_name": f"First{number}",
                "last_name": f"Last{number}",
                "street": f"{number} Main Street",
                "postal_code": "00-950",
                "city": "Warsaw",
                "country": "Poland",
            }
            customer = host.Customer(**(values | fields))
            host.db.session.add(customer)
            host.db.session.commit()
            return int(customer.id)

        return self.run(make)

    def campaign(self, **fields: Any) -> int:
        def make() -> int:
            now = clock.now()
            values: dict[str, Any] = {
                "name": "10% off",
                "description": "Ten percent off your next order",
                "reward_type": RewardType.DISCOUNT_CODE,
                "cost_in_points": 100,
                "created_at": now,
                "updated_at": now,
            }
            if fields.get("reward_type") is RewardType.GIFT:
                values["fulfillment_tracking"] = True
            campaign = host.models.RewardCampaign(**(values | fields))
            host.db.session.add(campaign)
            host.db.session.commit()
            return int(campaign.id)

        return self.run(make)

    def cashback_without_amount(self, **fields: Any) -> int:
        """A cashback campaign whose amount was cleared past the campaign check (raw SQL)."""
        campaign_id = self.campaign(
            reward_type=RewardType.CASHBACK, reward_value=Decimal("5.00"), **fields
        )
        table = host.models.RewardCampaign.__table__

        def clear() -> None:
            host.db.session.execute(
                sa.update(table).where(table.c.id == campaign_id).values(reward_value=None)
            )
            host.db.session.commit()

        self.run(clear)
        return campaign_id

    def campaigns(self, count: int, **fields: Any) -> None:
        def make() -> None:
            now = clock.now()
            host.db.session.add_all(
                host.models.RewardCampaign(
                    name=f"Reward {n}",
                    description="",
                    reward_type=RewardType.DISCOUNT_CODE,
                    cost_in_points=10 + n,
                    created_at=now,
                    updated_at=now,
                    **fields,
                )
                for n in range(count)
            )
            host.db.session.commit()

        self.run(make)

    def earn(self, customer_id: int, points: int, **kwargs: Any) -> None:
        self.run(lambda: host.loyalty.earn_points(customer_id, points, **kwargs))

    def redeem(self, customer_id: int, campaign_id: int) -> int:
        return self.run(lambda: int(host.loyalty.redeem(customer_id, campaign_id).id))

    def set_cashback_status(self, redeemed_id: int, status: str) -> None:
        """What the payout provider's sync would write (the cashback service owns the rules)."""

        def write() -> None:
            host.db.session.get(host.models.RedeemedReward, redeemed_id).cashback_status = status
            host.db.session.commit()

        self.run(write)

    def active_points(self, customer_id: int) -> int:
        return self.run(lambda: host.loyalty.active_points(customer_id))

    def redeemed_ids(self, customer_id: int) -> list[int]:
        model = host.models.RedeemedReward
        return self.run(
            lambda: list(
                host.db.session.execute(
                    sa.select(model.id).where(model.customer_id == customer_id).order_by(model.id)
                ).scalars()
            )
        )

    def ledger_state(self) -> tuple[list[Any], ...]:
        """Every row that a redemption could write: compare before and after to prove "nothing"."""

        def read() -> tuple[list[Any], ...]:
            m = host.models
            tables = (m.LedgerEntry, m.PointsLot, m.Account, m.RedeemedReward, m.IdempotencyKey)
            return tuple(
                [tuple(row) for row in host.db.session.execute(sa.select(t.__table__)).all()]
                for t in tables
            )

        return self.run(read)

    def verify(self) -> list[Any]:
        return self.run(host.loyalty.verify)


@pytest.fixture
def shop(app: Flask) -> Shop:
    return Shop(app)


@pytest.fixture
def alice(shop: Shop) -> int:
    return shop.customer()


@pytest.fixture
def client(app: Flask, alice: int) -> Any:
    """A test client logged in as ``alice``."""
    client = app.test_client()
    log_in(client, alice)
    return client


def log_in(client: Any, customer_id: int) -> None:
    with client.session_transaction() as flask_session:
        flask_session["customer_id"] = customer_id


def csrf_token(client: Any) -> str:
    """The CSRF token the pages hand to scripts (for the API's X-CSRFToken header)."""
    page = client.get("/loyalty/")
    assert page.status_code == 200, page.status_code
    found = META_CSRF.search(page.get_data(as_text=True))
    assert found is not None
    return found.group(1)


def confirm_form(client: Any, campaign_id: int) -> dict[str, str]:
    """The hidden fields of a reward's confirmation form, as a browser would post them."""
    page = client.get(f"/loyalty/rewards/{campaign_id}/redeem")
    assert page.status_code == 200, page.status_code
    fields = dict(FORM_FIELD.findall(page.get_data(as_text=True)))
    assert set(fields) == {"csrf_token", "idempotency_key"}, fields
    return fields
