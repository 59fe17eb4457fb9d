"""The one builder of the rows tests start from: customers, campaigns, points, redemptions.

Each row is written in a short app context of its own and named by its id, so test-client
requests never run inside an active app context (each request gets its own context and
database session, as in production). ``make_customer`` and ``make_campaign`` hand back the rows
themselves, for tests that run inside the ``ctx`` app context.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import CodeSource, RewardType, clock
from tests import host

T = TypeVar("T")

_numbers = itertools.count(1)

#: A PayTM-style cashback: 50 rupees for 500 points (``campaign(**CASHBACK_INR)``).
CASHBACK_INR: dict[str, Any] = {
    "name": "Cashback 50",
    "reward_type": RewardType.CASHBACK,
    "cost_in_points": 500,
    "reward_value": Decimal("50.00"),
    "currency": "INR",
    "code_source": CodeSource.NONE,
}


def customer_fields(n: int | None = None, **fields: Any) -> dict[str, Any]:
    """A plausible customer of the test host, numbered ``n`` (by default the next number of the
    session, so e-mails never clash), with ``fields`` on top."""
    n = next(_numbers) if n is None else n
    values: dict[str, Any] = {
        "email": f"customer{n}@example.com",
        "phone": f"+48 600 000 {n:03d}",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "street": f"{n} Main Street",
        "postal_code": "00-950",
        "city": "Warsaw",
        "country": "Poland",
    }
    values.update(fields)
    return values


def campaign_fields(**fields: Any) -> dict[str, Any]:
    """A discount-code campaign costing 100 points, with ``fields`` on top.

    A cashback gets an amount and a gift tracks its delivery unless ``fields`` say otherwise.
    """
    now = clock.now()
    values: dict[str, Any] = {
        "name": "10% off",
        "description": "Ten percent off your next order",
        "reward_type": RewardType.DISCOUNT_CODE,
        "cost_in_points": 100,
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    if values["reward_type"] is RewardType.CASHBACK:
        values.setdefault("reward_value", Decimal("5.00"))
    if values["reward_type"] is RewardType.GIFT:
        values.setdefault("fulfillment_tracking", True)
    return values


def add_customer(**fields: Any) -> Any:
    """A new customer (``customer_fields`` with ``fields`` on top), in the current app context."""
    return _add(host.Customer(**customer_fields(**fields)))


def add_campaign(**fields: Any) -> Any:
    """A new campaign (``campaign_fields`` with ``fields`` on top), in the current app context."""
    return _add(host.models.RewardCampaign(**campaign_fields(**fields)))


def _add(row: T) -> T:
    host.db.session.add(row)
    host.db.session.commit()
    return row


def _model(name: str) -> Any:
    return host.Customer if name == "customer" else getattr(host.models, name)


class Rows:
    """Rows of the test host shop, each written in an app context of its own, by id."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def run(self, fn: Callable[[Any, Any], T]) -> T:
        """``fn(session, models)`` in an app context of its own."""
        with self.app.app_context():
            try:
                return fn(host.db.session, host.models)
            finally:
                host.db.session.remove()

    def customer(self, **fields: Any) -> int:
        return self.run(lambda session, models: int(add_customer(**fields).id))

    def admin(self) -> int:
        return self.customer(is_admin=True)

    def campaign(self, **fields: Any) -> int:
        return self.run(lambda session, models: int(add_campaign(**fields).id))

    def campaigns(self, count: int, **fields: Any) -> None:
        """``count`` discount codes named "Reward 0".., costing 10, 11.. points."""

        def add(session: Any, models: Any) -> None:
            session.add_all(
                models.RewardCampaign(
                    **campaign_fields(name=f"Reward {n}", cost_in_points=10 + n, **fields)
                )
                for n in range(count)
            )
            session.commit()

        self.run(add)

    def cashback_without_amount(self, **fields: Any) -> int:
        """A cashback campaign whose amount was cleared past the campaign check (raw SQL)."""
        campaign_id = self.campaign(reward_type=RewardType.CASHBACK, **fields)

        def clear(session: Any, models: Any) -> None:
            table = models.RewardCampaign.__table__
            session.execute(
                sa.update(table).where(table.c.id == campaign_id).values(reward_value=None)
            )
            session.commit()

        self.run(clear)
        return campaign_id

    def earn(self, customer_id: int, points: int, **kwargs: Any) -> None:
        self.run(lambda session, models: host.loyalty.earn_points(customer_id, points, **kwargs))

    def redeem(self, customer_id: int, campaign_id: int) -> int:
        return self.run(
            lambda session, models: int(host.loyalty.redeem(customer_id, campaign_id).id)
        )

    def redeemed(self, customer_id: int, campaign_id: int, *, used: bool = False) -> int:
        """The customer earns just enough points and redeems the campaign (optionally uses it)."""

        def redeem(session: Any, models: Any) -> int:
            campaign = session.get(models.RewardCampaign, campaign_id)
            host.loyalty.earn_points(customer_id, campaign.cost_in_points)
            row = host.loyalty.redeem(customer_id, campaign_id)
            if used:
                host.loyalty.mark_used(row, actor="test")
            return int(row.id)

        return self.run(redeem)

    def set_cashback_status(self, redeemed_id: int, status: str) -> None:
        """What the payout provider's sync would write (the cashback service owns the rules)."""

        def write(session: Any, models: Any) -> None:
            session.get(models.RedeemedReward, redeemed_id).cashback_status = status
            session.commit()

        self.run(write)

    def get(self, model_name: str, row_id: int) -> Any:
        """A fresh copy of a row, detached (read its attributes, do not change it)."""

        def read(session: Any, models: Any) -> Any:
            row = session.get(_model(model_name), row_id)
            session.expunge_all()
            return row

        return self.run(read)

    def active_points(self, customer_id: int) -> int:
        return self.run(lambda session, models: host.loyalty.active_points(customer_id))

    def redeemed_ids(self, customer_id: int) -> list[int]:
        def read(session: Any, models: Any) -> list[int]:
            model = models.RedeemedReward
            query = sa.select(model.id).where(model.customer_id == customer_id).order_by(model.id)
            return list(session.execute(query).scalars())

        return self.run(read)

    def ledger_state(self) -> tuple[list[Any], ...]:
        """Every row that a redemption could write: compare before and after to prove "nothing"."""

        def read(session: Any, m: Any) -> tuple[list[Any], ...]:
            tables = (m.LedgerEntry, m.PointsLot, m.Account, m.RedeemedReward, m.IdempotencyKey)
            return tuple(
                [tuple(row) for row in session.execute(sa.select(t.__table__)).all()]
                for t in tables
            )

        return self.run(read)

    def verify(self) -> list[Any]:
        return self.run(lambda session, models: host.loyalty.verify())


@pytest.fixture
def shop(app: Flask) -> Rows:
    """Rows of the test host shop (customers, campaigns, points, redemptions), by id."""
    return Rows(app)


@pytest.fixture
def admin_data(shop: Rows) -> Rows:
    """The rows of the admin tests: the same builder as ``shop``."""
    return shop


@pytest.fixture
def alice(shop: Rows) -> int:
    return shop.customer()


@pytest.fixture
def make_customer(ctx: Flask) -> Callable[..., Any]:
    """``make_customer(**fields)``: a new customer, a row of the ``ctx`` app context."""
    return add_customer


@pytest.fixture
def make_campaign(ctx: Flask) -> Callable[..., Any]:
    """``make_campaign(**fields)``: a new campaign, a row of the ``ctx`` app context."""
    return add_campaign
