"""Orders earn points by the configured rules, once; cancellations and refunds take them back."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import IdempotencyConflict, InvalidInput
from flask_loyalty_rewards.services.arguments import amount_argument
from flask_loyalty_rewards.services.earning import EarningRules
from tests import host
from tests.host import db, loyalty, models
from tests.support.clock import FakeClock
from tests.support.threads import at_once

UTC = dt.timezone.utc


@pytest.fixture
def rules(app: Any) -> Any:
    """``rules(KEY=value, ...)`` changes the LOYALTY_POINTS_* settings for this test."""

    def set_rules(**settings: Any) -> None:
        app.config.update({f"LOYALTY_{key}": value for key, value in settings.items()})

    return set_rules


def lots_of(customer: Any) -> list[Any]:
    return list(
        db.session.execute(
            sa.select(models.PointsLot).where(models.PointsLot.customer_id == customer.id)
        ).scalars()
    )


def test_an_order_earns_points_per_unit_rounded_down(ctx, make_customer, rules):
    rules(POINTS_PER_UNIT=Decimal("0.1"))
    customer = make_customer()
    booked = loyalty.earn_for_order(customer, "A-1", Decimal("129.99"))
    assert booked.points == 12
    assert loyalty.active_points(customer) == 12


def test_the_rounding_rule_is_configurable(ctx, make_customer, rules):
    rules(POINTS_PER_UNIT=Decimal("0.1"), POINTS_ROUNDING=ROUND_HALF_UP)
    assert loyalty.earn_for_order(make_customer(), 1, Decimal("125.00")).points == 13


def test_booking_an_order_twice_earns_once(ctx, make_customer):
    customer = make_customer()
    first = loyalty.earn_for_order(customer, "A-1", Decimal("50"))
    again = loyalty.earn_for_order(customer, "A-1", Decimal("50"))
    assert again.id == first.id
    assert loyalty.active_points(customer) == 50


def test_booking_an_order_again_with_another_amount_is_a_conflict(ctx, make_customer):
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("50"))
    with pytest.raises(IdempotencyConflict):
        loyalty.earn_for_order(customer, "A-1", Decimal("60"))


@pytest.mark.parametrize("amount", [1.5, "10", Decimal("-1"), Decimal("1.00001"), None, True])
def test_an_amount_that_is_not_money_is_refused(amount):
    with pytest.raises(InvalidInput):
        amount_argument(amount)


def test_a_bad_amount_is_refused_before_anything_is_written(ctx, make_customer):
    customer = make_customer()
    with pytest.raises(InvalidInput):
        loyalty.earn_for_order(customer, "A-1", 12.5)
    assert lots_of(customer) == []


def test_points_expire_after_the_valid_days_at_the_end_of_the_local_day(
    ctx, make_customer, rules, frozen_clock
):
    rules(POINTS_VALID_DAYS=30, POINTS_EXPIRE_AT="end_of_day", TIMEZONE="Europe/Warsaw")
    frozen_clock.set(dt.datetime(2026, 3, 1, 22, 30, tzinfo=UTC))  # 23:30 in Warsaw
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("10"))
    (lot,) = lots_of(customer)
    # 30 days later is 1 April, 00:30 in Warsaw (summer time since 29 March): usable that day.
    assert lot.expires_at == dt.datetime(2026, 4, 1, 22, 0, tzinfo=UTC)


def test_points_expire_at_the_end_of_the_month(ctx, make_customer, rules, frozen_clock):
    rules(POINTS_VALID_DAYS=10, POINTS_EXPIRE_AT="end_of_month", TIMEZONE="Europe/Warsaw")
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("10"))  # 1 March + 10 days
    (lot,) = lots_of(customer)
    assert lot.expires_at == dt.datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def test_validity_counts_from_the_order_time(ctx, make_customer, rules, frozen_clock):
    rules(POINTS_VALID_DAYS=7)
    customer = make_customer()
    placed = frozen_clock.current - dt.timedelta(days=2)
    loyalty.earn_for_order(customer, "A-1", Decimal("10"), at=placed)
    (lot,) = lots_of(customer)
    assert lot.expires_at == placed + dt.timedelta(days=7)


def test_an_order_whose_points_would_have_expired_is_refused(
    ctx, make_customer, rules, frozen_clock
):
    rules(POINTS_VALID_DAYS=7)
    with pytest.raises(InvalidInput):
        loyalty.earn_for_order(
            make_customer(), "A-1", 10, at=frozen_clock.current - dt.timedelta(days=8)
        )


def test_points_stay_pending_through_the_return_window(
    ctx, make_customer, rules, frozen_clock: FakeClock
):
    rules(POINTS_PENDING_DAYS=14)
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("10"))
    assert loyalty.active_points(customer) == 0
    frozen_clock.advance(days=14)
    assert loyalty.active_points(customer) == 10


@pytest.mark.parametrize(
    "setting",
    [
        {"POINTS_PER_UNIT": -1},
        {"POINTS_ROUNDING": "down"},
        {"POINTS_VALID_DAYS": 0},
        {"POINTS_EXPIRE_AT": "midnight"},
        {"TIMEZONE": "Mars/Olympus"},
    ],
)
def test_a_wrong_earning_setting_is_named(setting):
    from flask_loyalty_rewards.config import DEFAULTS

    config = {**DEFAULTS, **{f"LOYALTY_{k}": v for k, v in setting.items()}}
    with pytest.raises(ValueError, match=next(iter(setting))):
        EarningRules.from_config(config)


def test_a_wrong_earning_setting_fails_at_init_app(tmp_path):
    with pytest.raises(ValueError, match="LOYALTY_TIMEZONE"):
        host.create_app(f"sqlite:///{tmp_path / 'x.sqlite'}", LOYALTY_TIMEZONE="Mars/Olympus")


def test_reversing_an_order_that_earned_nothing_is_a_no_op(ctx, make_customer):
    customer = make_customer()
    result = loyalty.reverse_order(customer, "never-booked", reason="cancelled")
    assert (result.revoked, result.already_spent) == (0, 0)
    tiny = loyalty.earn_for_order(customer, "A-2", Decimal("0.50"))
    assert tiny.points == 0
    assert loyalty.reverse_order(customer, "A-2", reason="cancelled").revoked == 0


def test_a_cancelled_order_loses_its_points(ctx, make_customer):
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("80"))
    loyalty.earn_points(customer, 5)
    assert loyalty.reverse_order(customer, "A-1", reason="cancelled").revoked == 80
    assert loyalty.active_points(customer) == 5
    assert loyalty.reverse_order(customer, "A-1", reason="cancelled").revoked == 0


def test_partial_refunds_reverse_proportionally_and_never_more_than_earned(ctx, make_customer):
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("3"))  # 3 points
    loyalty.earn_points(customer, 100)
    taken = [
        loyalty.reverse_order(customer, "A-1", reason="refund", amount=Decimal("1")).revoked
        for _ in range(5)
    ]
    assert taken == [1, 1, 1, 0, 0]
    assert loyalty.active_points(customer) == 100


def test_a_refund_keeps_the_share_of_the_order_not_refunded(ctx, make_customer):
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("100.00"))  # 100 points
    result = loyalty.reverse_order(customer, "A-1", reason="refund", amount=Decimal("33.33"))
    # keeps 100 x 66.67 / 100.00 = 66.67, rounded down as earning is: 66
    assert (result.revoked, loyalty.active_points(customer)) == (34, 66)


def test_points_already_spent_are_reported_and_the_balance_stays_positive(
    ctx, make_customer, make_campaign
):
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("100"))
    reward = loyalty.redeem(customer, make_campaign(cost_in_points=70))
    result = loyalty.reverse_order(customer, "A-1", reason="cancelled")
    assert (result.revoked, result.already_spent) == (30, 70)
    assert loyalty.active_points(customer) == 0
    # Cancelling the reward returns the points to the closed lot: they leave again at once.
    loyalty.cancel_redemption(reward, reason="mistake")
    assert loyalty.active_points(customer) == 0


def test_a_refund_after_spending_takes_what_a_cancelled_redemption_gave_back(
    ctx, make_customer, make_campaign
):
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("100"))
    reward = loyalty.redeem(customer, make_campaign(cost_in_points=90))
    half = Decimal("50")
    assert loyalty.reverse_order(customer, "A-1", reason="refund", amount=half).revoked == 10
    loyalty.cancel_redemption(reward, reason="mistake")
    assert loyalty.active_points(customer) == 90
    assert loyalty.reverse_order(customer, "A-1", reason="refund", amount=half).revoked == 90
    assert loyalty.active_points(customer) == 0


def test_two_threads_booking_the_same_order_earn_once(app, backend):
    with app.app_context():
        customer = host.Customer(email="race@example.com")
        db.session.add(customer)
        db.session.commit()
        customer_id = customer.id
        db.session.remove()
    outcomes = at_once(app, 2, lambda _: loyalty.earn_for_order(customer_id, "A-1", Decimal("40")))
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    with app.app_context():
        assert loyalty.active_points(customer_id) == 40
        assert len(db.session.execute(sa.select(models.PointsLot)).all()) == 1
        db.session.remove()


def test_the_rules_read_from_the_defaults_earn_a_point_per_unit_for_ever():
    from flask_loyalty_rewards.config import DEFAULTS

    rules = EarningRules.from_config(DEFAULTS)
    assert rules.points_for(Decimal("9.99")) == 9
    assert rules.expires_at(dt.datetime(2026, 1, 1, tzinfo=UTC)) is None


def test_booking_and_reversing_an_order_write_their_events(ctx, make_customer):
    customer = make_customer()
    loyalty.earn_for_order(customer, "A-1", Decimal("30"))
    loyalty.earn_for_order(customer, "A-1", Decimal("30"))  # a repeat writes nothing
    loyalty.reverse_order(customer, "A-1", reason="cancelled")
    types = db.session.execute(sa.select(models.Event.type).order_by(models.Event.id)).scalars()
    assert list(types) == ["points_earned", "points_revoked"]
