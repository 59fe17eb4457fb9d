"""The points ledger: lots, FIFO-by-expiry spending, pending points, expiry, revocation."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import (
    EntryKind,
    IdempotencyConflict,
    InvalidInput,
    NotEnoughPoints,
    NotFound,
)
from tests.host import db, loyalty, models


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def remaining_by_lot(customer) -> dict[int, int]:
    lots = db.session.scalars(
        sa.select(models.PointsLot).where(models.PointsLot.customer_id == customer.id)
    )
    return {lot.id: lot.remaining for lot in lots}


@pytest.fixture(params=["admin deduction", "redemption"])
def spend(request, make_campaign):
    """Spend points both ways points are spent: every spending rule holds for each."""

    def do(customer, points: int) -> None:
        if request.param == "admin deduction":
            loyalty.adjust_points(customer, -points, reason="test spend")
        else:
            loyalty.redeem(customer, make_campaign(cost_in_points=points))

    return do


def test_earned_points_are_active_at_once(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 120)
    assert loyalty.active_points(alice) == 120


def test_spending_takes_the_soonest_expiring_lot_first(frozen_clock, make_customer, spend):
    alice = make_customer()
    now = frozen_clock()
    never = loyalty.earn_points(alice, 100)
    late = loyalty.earn_points(alice, 100, expires_at=now + days(60))
    soon = loyalty.earn_points(alice, 100, expires_at=now + days(10))
    spend(alice, 150)
    left = remaining_by_lot(alice)
    assert left[soon.id] == 0
    assert left[late.id] == 50
    assert left[never.id] == 100


def test_lots_that_never_expire_are_spent_last(frozen_clock, make_customer, spend):
    alice = make_customer()
    never = loyalty.earn_points(alice, 50)
    expiring = loyalty.earn_points(alice, 50, expires_at=frozen_clock() + days(400))
    spend(alice, 60)
    left = remaining_by_lot(alice)
    assert left[expiring.id] == 0
    assert left[never.id] == 40


def test_equal_expiry_is_spent_in_earn_order(frozen_clock, make_customer, spend):
    alice = make_customer()
    when = frozen_clock() + days(30)
    first = loyalty.earn_points(alice, 10, expires_at=when)
    frozen_clock.advance(minutes=1)
    second = loyalty.earn_points(alice, 10, expires_at=when)
    spend(alice, 15)
    left = remaining_by_lot(alice)
    assert (left[first.id], left[second.id]) == (0, 5)


def test_a_lot_can_be_consumed_partly(frozen_clock, make_customer, spend):
    alice = make_customer()
    lot = loyalty.earn_points(alice, 100)
    spend(alice, 30)
    assert remaining_by_lot(alice)[lot.id] == 70


def test_each_spend_records_which_lots_paid(frozen_clock, make_customer, spend):
    alice = make_customer()
    a = loyalty.earn_points(alice, 40, expires_at=frozen_clock() + days(5))
    b = loyalty.earn_points(alice, 40, expires_at=frozen_clock() + days(9))
    spend(alice, 50)
    entry = db.session.scalars(
        sa.select(models.LedgerEntry).where(models.LedgerEntry.delta < 0)
    ).one()
    allocations = db.session.execute(
        sa.select(models.Allocation.lot_id, models.Allocation.points).where(
            models.Allocation.entry_id == entry.id
        )
    ).all()
    assert sorted(allocations) == sorted([(a.id, 40), (b.id, 10)])


def test_pending_points_are_not_spendable_until_available(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 100, available_from=frozen_clock() + days(14))
    assert loyalty.active_points(alice) == 0
    assert loyalty.points_summary(alice).pending == 100
    frozen_clock.advance(days=14)
    assert loyalty.active_points(alice) == 100
    assert loyalty.points_summary(alice).pending == 0


def test_points_past_their_expiry_are_not_spendable_before_the_job_runs(
    frozen_clock, make_customer, spend
):
    alice = make_customer()
    loyalty.earn_points(alice, 100, expires_at=frozen_clock() + days(1))
    frozen_clock.advance(days=2)
    assert loyalty.active_points(alice) == 0
    with pytest.raises(NotEnoughPoints) as refused:
        spend(alice, 10)
    assert refused.value.points_needed == 10


def test_pending_and_overdue_points_are_passed_over_when_spending(
    frozen_clock, make_customer, spend
):
    alice = make_customer()
    now = frozen_clock()
    overdue = loyalty.earn_points(alice, 30, expires_at=now + days(1))
    pending = loyalty.earn_points(alice, 30, available_from=now + days(5), expires_at=now + days(6))
    later = loyalty.earn_points(alice, 30, expires_at=now + days(40))
    frozen_clock.advance(days=2)
    spend(alice, 20)
    assert remaining_by_lot(alice) == {overdue.id: 30, pending.id: 30, later.id: 10}
    assert loyalty.verify() == []


def test_a_spend_needing_more_lots_than_one_batch_takes_them_all_in_order(
    frozen_clock, make_customer, spend
):
    alice = make_customer()
    now = frozen_clock()
    lots = {
        day: loyalty.earn_points(alice, 5, expires_at=now + days(day))
        for day in (7, 19, 2, 11, 20, 5, 14, 1, 17, 9, 3, 12, 16, 8, 18, 4, 10, 15, 6, 13)
    }
    spend(alice, 93)
    left = remaining_by_lot(alice)
    assert [left[lots[day].id] for day in range(1, 21)] == [0] * 18 + [2, 5]
    assert loyalty.active_points(alice) == 7
    assert loyalty.verify() == []


def test_summary_lists_the_next_points_to_expire(frozen_clock, make_customer):
    alice = make_customer()
    soon = frozen_clock() + days(3)
    loyalty.earn_points(alice, 30, expires_at=soon)
    loyalty.earn_points(alice, 20, expires_at=soon)
    loyalty.earn_points(alice, 70, expires_at=frozen_clock() + days(30))
    summary = loyalty.points_summary(alice)
    assert summary.active == 120
    assert summary.next_expiry == (soon, 50)


def test_expiry_job_expires_what_is_left_of_due_lots(frozen_clock, make_customer):
    alice = make_customer()
    lot = loyalty.earn_points(alice, 100, expires_at=frozen_clock() + days(1))
    loyalty.earn_points(alice, 10)
    loyalty.adjust_points(alice, -30, reason="test spend")
    frozen_clock.advance(days=1)
    result = loyalty.run_expiry()
    assert (result.points_expired, result.lots_expired) == (70, 1)
    assert remaining_by_lot(alice)[lot.id] == 0
    assert loyalty.active_points(alice) == 10
    assert loyalty.verify() == []


def test_expiry_job_run_twice_expires_nothing_more(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 100, expires_at=frozen_clock() + days(1))
    frozen_clock.advance(days=1)
    loyalty.run_expiry()
    assert loyalty.run_expiry().points_expired == 0
    entries = db.session.scalars(
        sa.select(models.LedgerEntry).where(models.LedgerEntry.kind == EntryKind.EXPIRE)
    ).all()
    assert len(entries) == 1


def test_earning_with_the_same_idempotency_key_grants_points_once(frozen_clock, make_customer):
    alice = make_customer()
    first = loyalty.earn_points(alice, 100, idempotency_key="order-1")
    again = loyalty.earn_points(alice, 100, idempotency_key="order-1")
    assert again.id == first.id
    assert loyalty.active_points(alice) == 100


def test_a_retry_whose_expiry_was_worked_out_again_replays_the_first_lot(
    frozen_clock, make_customer
):
    alice = make_customer()
    first = loyalty.earn_points(
        alice, 100, idempotency_key="order-1", expires_at=frozen_clock() + days(180)
    )
    frozen_clock.advance(seconds=3)
    again = loyalty.earn_points(
        alice, 100, idempotency_key="order-1", expires_at=frozen_clock() + days(180)
    )
    assert again.id == first.id
    assert again.expires_at == first.expires_at
    assert loyalty.active_points(alice) == 100


def test_same_idempotency_key_with_other_points_is_refused(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 100, idempotency_key="order-1")
    with pytest.raises(IdempotencyConflict):
        loyalty.earn_points(alice, 90, idempotency_key="order-1")
    assert loyalty.active_points(alice) == 100


def test_revoking_a_refunded_order_takes_back_what_is_left(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 100, idempotency_key="order-1")
    loyalty.earn_points(alice, 50)
    loyalty.adjust_points(alice, -30, reason="test spend")
    result = loyalty.revoke_points(alice, "order-1", reason="order refunded")
    assert (result.revoked, result.already_spent) == (70, 30)
    assert loyalty.active_points(alice) == 50


def test_revoking_twice_replays_the_first_answer(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 100, idempotency_key="order-1")
    first = loyalty.revoke_points(alice, "order-1", reason="order refunded")
    second = loyalty.revoke_points(alice, "order-1", reason="order refunded")
    assert first == second
    assert loyalty.active_points(alice) == 0
    assert loyalty.verify() == []


def test_revoking_never_takes_points_from_other_orders(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 100, idempotency_key="order-1")
    loyalty.adjust_points(alice, -100, reason="test spend")
    loyalty.earn_points(alice, 40, idempotency_key="order-2")
    result = loyalty.revoke_points(alice, "order-1", reason="order refunded")
    assert (result.revoked, result.already_spent) == (0, 100)
    assert loyalty.active_points(alice) == 40


def test_revoking_an_unknown_order_is_refused(frozen_clock, make_customer):
    alice = make_customer()
    with pytest.raises(NotFound):
        loyalty.revoke_points(alice, "nope", reason="order refunded")


def test_admin_deduction_beyond_the_balance_is_refused(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 10)
    with pytest.raises(NotEnoughPoints) as refused:
        loyalty.adjust_points(alice, -25, reason="correction")
    assert refused.value.points_needed == 15
    assert refused.value.message == (
        "The balance of 10 active points is too small for a deduction of 25 points."
    )
    assert loyalty.active_points(alice) == 10


def test_admin_adjustment_needs_a_reason(frozen_clock, make_customer):
    alice = make_customer()
    with pytest.raises(InvalidInput):
        loyalty.adjust_points(alice, 10, reason="")


def test_verify_reports_a_drifted_cached_balance(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 10)
    db.session.execute(sa.update(models.Account).values(balance=11))
    db.session.commit()
    problems = loyalty.verify()
    assert {p.check for p in problems} >= {"balance_is_lots", "balance_is_ledger"}


def test_verify_reports_a_spend_whose_allocations_do_not_sum_to_it(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 10)
    loyalty.adjust_points(alice, -4, reason="correction")
    db.session.execute(sa.update(models.Allocation).values(points=3))
    db.session.commit()
    problems = loyalty.verify()
    assert "allocations_match_entry" in {p.check for p in problems}
