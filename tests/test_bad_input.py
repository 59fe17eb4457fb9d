"""Bad input gets a clear LoyaltyError or ValueError and writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import InvalidInput, LoyaltyError, NotFound, RewardUnavailable
from tests.host import db, loyalty, models

NAIVE = dt.datetime(2026, 6, 1, 12, 0)


def row_counts() -> dict[str, int]:
    return {
        t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        for t in models.tables()
    }


@pytest.fixture
def customer(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 500)
    return alice


def refused_without_writes(call: Any, error: type[Exception] = ValueError) -> Exception:
    before = row_counts()
    with pytest.raises(error) as raised:
        call()
    db.session.rollback()
    assert row_counts() == before
    return raised.value


@pytest.mark.parametrize("points", [0, -5, 10**13, 1.5, "100", None, True, float("nan")])
def test_earning_an_impossible_number_of_points_is_refused(customer, points):
    error = refused_without_writes(lambda: loyalty.earn_points(customer, points))
    assert isinstance(error, InvalidInput | LoyaltyError)


def test_earning_with_a_naive_expiry_is_refused(customer):
    error = refused_without_writes(lambda: loyalty.earn_points(customer, 10, expires_at=NAIVE))
    assert "timezone-aware" in str(error)


def test_earning_points_that_expired_already_is_refused(customer, frozen_clock):
    refused_without_writes(
        lambda: loyalty.earn_points(
            customer, 10, expires_at=frozen_clock() - dt.timedelta(seconds=1)
        )
    )


def test_pending_points_must_become_available_before_they_expire(customer, frozen_clock):
    now = frozen_clock()
    refused_without_writes(
        lambda: loyalty.earn_points(
            customer,
            10,
            expires_at=now + dt.timedelta(days=1),
            available_from=now + dt.timedelta(days=2),
        )
    )


@pytest.mark.parametrize("who", ["1", 1.0, None, True, 2**70, object()])
def test_a_customer_of_the_wrong_type_is_refused(ctx, frozen_clock, who):
    refused_without_writes(lambda: loyalty.earn_points(who, 10))


def test_an_unknown_customer_is_refused(ctx, frozen_clock):
    refused_without_writes(lambda: loyalty.earn_points(987_654, 10), NotFound)


@pytest.mark.parametrize("campaign", ["1", 1.5, None, -1, 0, 2**40])
def test_a_campaign_of_the_wrong_type_is_refused(customer, campaign):
    refused_without_writes(lambda: loyalty.redeem(customer, campaign))


def test_an_unknown_campaign_is_refused(customer):
    error = refused_without_writes(lambda: loyalty.redeem(customer, 424_242), RewardUnavailable)
    assert error.reason == "not_found"  # type: ignore[attr-defined]


def test_redeeming_by_keys_names_the_one_that_is_unknown(customer, make_campaign):
    campaign_id = make_campaign().id
    refused_without_writes(lambda: loyalty.redeem(987_654, campaign_id), NotFound)
    error = refused_without_writes(lambda: loyalty.redeem(customer.id, 424_242), RewardUnavailable)
    assert error.reason == "not_found"  # type: ignore[attr-defined]


@pytest.mark.parametrize("who", ["1", 1.0, None, True, 2**70])
def test_redeeming_for_a_customer_key_of_the_wrong_type_is_refused(customer, make_campaign, who):
    campaign_id = make_campaign().id
    refused_without_writes(lambda: loyalty.redeem(who, campaign_id))


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, 42])
def test_a_bad_idempotency_key_is_refused(customer, make_campaign, key):
    campaign = make_campaign()
    refused_without_writes(lambda: loyalty.redeem(customer, campaign, idempotency_key=key))


def test_an_unknown_delivery_status_is_refused(customer, make_campaign):
    reward = loyalty.redeem(customer, make_campaign())
    refused_without_writes(lambda: loyalty.set_delivery_status(reward, "lost-in-space"))


@pytest.mark.parametrize("reason", ["", "  ", None, 5])
def test_a_cancellation_without_a_reason_is_refused(customer, make_campaign, reason):
    reward = loyalty.redeem(customer, make_campaign())
    refused_without_writes(lambda: loyalty.cancel_redemption(reward, reason=reason))


def test_running_expiry_with_a_naive_now_is_refused(ctx):
    refused_without_writes(lambda: loyalty.run_expiry(NAIVE))


def test_an_admin_adjustment_of_zero_is_refused(customer):
    refused_without_writes(lambda: loyalty.adjust_points(customer, 0, reason="nothing"))


def test_every_refusal_has_a_stable_code_and_a_message(customer):
    with pytest.raises(LoyaltyError) as raised:
        loyalty.earn_points(customer, -1)
    payload = raised.value.to_dict()
    assert payload["code"] == "invalid_input"
    assert payload["message"]
