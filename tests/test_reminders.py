"""Expiring-soon reminders: once per lot and window, with the amount and the date."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import InvalidInput, signals
from flask_loyalty_rewards.services.reminders import remind_expiring
from tests.host import db, loyalty, models


def reminders() -> list[dict[str, Any]]:
    event = models.Event
    rows = db.session.execute(
        sa.select(event.payload).where(event.type == "points_expiring_soon").order_by(event.id)
    ).scalars()
    return [json.loads(payload) for payload in rows]


def run(days: int = 14) -> Any:
    return remind_expiring(loyalty._ctx(), days=days)


def test_a_second_run_sends_nothing_and_the_next_window_sends_the_next_date(
    frozen_clock: Any, make_customer: Any
) -> None:
    customer = make_customer()
    now = frozen_clock()
    soon, later = now + dt.timedelta(days=10), now + dt.timedelta(days=20)
    loyalty.earn_points(customer, 30, expires_at=soon)
    loyalty.earn_points(customer, 12, expires_at=soon)
    loyalty.earn_points(customer, 50, expires_at=later)
    loyalty.earn_points(customer, 99)  # never expires
    received: list[dict[str, Any]] = []

    def mailer(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    with signals.points_expiring_soon.connected_to(mailer):
        assert run().reminders == 1
        assert run().reminders == 0
        frozen_clock.advance(days=7)
        assert run().reminders == 1
        assert run().reminders == 0
    first, second = reminders()
    assert first["customer_id"] == str(customer.id)
    assert (first["data"]["points"], first["data"]["days_before"]) == (42, 14)
    assert dt.datetime.fromisoformat(first["data"]["expires_at"]) == soon
    assert second["data"]["points"] == 50
    assert [r["points"] for r in received] == [42, 50]
    assert received[0]["customer_id"] == customer.id


def test_each_window_reminds_once_and_customers_separately(
    frozen_clock: Any, make_customer: Any
) -> None:
    alice, bob = make_customer(), make_customer()
    loyalty.earn_points(alice, 5, expires_at=frozen_clock() + dt.timedelta(days=2))
    loyalty.earn_points(bob, 7, expires_at=frozen_clock() + dt.timedelta(days=2))
    assert run(14).reminders == 2
    assert run(3).reminders == 2  # the second, shorter window reminds again
    assert run(14).reminders == run(3).reminders == 0


def test_spent_expired_and_revoked_points_are_not_announced(
    frozen_clock: Any, make_customer: Any, make_campaign: Any
) -> None:
    customer = make_customer()
    loyalty.earn_points(customer, 10, expires_at=frozen_clock() + dt.timedelta(days=5))
    loyalty.earn_points(
        customer, 8, expires_at=frozen_clock() + dt.timedelta(days=6), idempotency_key="o-1"
    )
    loyalty.redeem(customer, make_campaign(cost_in_points=10))
    loyalty.revoke_points(customer, "o-1", reason="refund")
    assert run().reminders == 0


def test_a_window_outside_one_to_366_days_is_refused(ctx: Any) -> None:
    with pytest.raises(InvalidInput):
        run(0)
