"""Redeeming rewards and the coupon, usage and delivery life of a redeemed reward."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import (
    CodeSource,
    CouponStatus,
    DeliveryStatus,
    HistoryEvent,
    IdempotencyConflict,
    InvalidStatusChange,
    NotEnoughPoints,
    RewardType,
    RewardUnavailable,
    signals,
)
from flask_loyalty_rewards.services.codes import ALPHABET
from flask_loyalty_rewards.services.redemption import issue
from tests.host import db, loyalty, models
from tests.support.sql import statements


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


@pytest.fixture
def rich(make_customer):
    customer = make_customer(first_name="Ada", last_name="Lovelace", phone="+44 1")
    loyalty.earn_points(customer, 10_000)
    return customer


def history(reward) -> list[tuple[HistoryEvent, str | None, str | None, str | None]]:
    rows = db.session.scalars(
        sa.select(models.RewardHistory)
        .where(models.RewardHistory.redeemed_reward_id == reward.id)
        .order_by(models.RewardHistory.id)
    )
    return [(h.event, h.from_value, h.to_value, h.actor) for h in rows]


# -- redeeming ----------------------------------------------------------------------------------


def what_a_redemption_wrote(reward) -> dict[str, list[tuple]]:
    """Every row a redemption wrote or changed, with its own ids and customer taken out."""

    def rows(model, *where, leave_out=("id", "customer_id")):
        table = model.__table__
        columns = [c for c in table.c if c.name not in leave_out]
        return [tuple(r) for r in db.session.execute(sa.select(*columns).where(*where)).all()]

    entry, lot = models.LedgerEntry, models.PointsLot
    spend = db.session.scalars(sa.select(entry).where(entry.redeemed_reward_id == reward.id)).one()
    return {
        "reward": rows(
            models.RedeemedReward,
            models.RedeemedReward.id == reward.id,
            leave_out=("id", "customer_id", "customer_email", "search_email"),
        ),
        "entry": rows(
            entry, entry.id == spend.id, leave_out=("id", "customer_id", "redeemed_reward_id")
        ),
        "allocations": [
            tuple(r)
            for r in db.session.execute(
                sa.select(lot.expires_at, models.Allocation.points)
                .join(lot, lot.id == models.Allocation.lot_id)
                .where(models.Allocation.entry_id == spend.id)
                .order_by(lot.expires_at)
            ).all()
        ],
        "lots": [
            tuple(r)
            for r in db.session.execute(
                sa.select(lot.expires_at, lot.remaining)
                .where(lot.customer_id == reward.customer_id)
                .order_by(lot.expires_at)
            ).all()
        ],
        "history": rows(
            models.RewardHistory,
            models.RewardHistory.redeemed_reward_id == reward.id,
            leave_out=("id", "redeemed_reward_id"),
        ),
        "key": rows(
            models.IdempotencyKey,
            models.IdempotencyKey.result_id == reward.id,
            leave_out=("id", "customer_id", "result_id"),
        ),
    }


def test_redeeming_in_one_statement_writes_what_redeeming_step_by_step_writes(
    frozen_clock, make_customer, make_campaign, monkeypatch
):
    """PostgreSQL redeems most campaigns in one statement; the rows must be the same."""

    campaign = make_campaign(
        cost_in_points=150, code_source=CodeSource.SHARED, shared_code="SPRING", total_limit=9
    )
    written = []
    for path in ("as the database allows", "step by step"):
        if path == "step by step":
            monkeypatch.setattr(issue, "_fits_one_statement", lambda ctx, campaign: False)
        customer = make_customer(
            first_name="Same", last_name="Person", phone="+48 1", street="1 Main Street"
        )
        for expires_in in (5, 30):
            loyalty.earn_points(customer, 100, expires_at=frozen_clock() + days(expires_in))
        loyalty.earn_points(customer, 100)
        reward = loyalty.redeem(customer, campaign, idempotency_key="checkout-1")
        db.session.expire_all()
        written.append(what_a_redemption_wrote(reward))
    assert written[0] == written[1]
    assert campaign.redeemed_count == 2
    assert loyalty.verify() == []


def what_the_caller_reads(reward) -> tuple:
    return (
        reward.id,
        reward.coupon_code,
        reward.cost_in_points,
        reward.active_points_after,
        reward.customer_email,
        reward.coupon_status,
        reward.redeemed_at,
        reward.active_to,
        reward.tax_value,
        reward.status_at(reward.redeemed_at),
        reward.used_at,
        reward.delivery_status,
        reward.cashback_status,
        reward.campaign,
    )


@pytest.mark.parametrize("path", ["as the database allows", "step by step"])
def test_a_new_reward_is_read_after_the_commit_without_another_query(
    make_campaign, rich, monkeypatch, path
):
    """The commit expires every instance; the reward comes back holding what was inserted."""
    if path == "step by step":
        monkeypatch.setattr(issue, "_fits_one_statement", lambda ctx, campaign: False)
    campaign = make_campaign(cost_in_points=300, tax_value=Decimal("1.20"), days_valid=30)
    reward = loyalty.redeem(rich, campaign)
    with statements(db.engine) as queries:
        read = what_the_caller_reads(reward)
    assert queries == []
    assert read[3] == 9_700
    db.session.expire_all()
    assert what_the_caller_reads(reward) == read  # and it is what the database holds


def test_the_redeemed_signal_sees_the_new_reward_loaded(make_campaign, rich):
    campaign = make_campaign(cost_in_points=300)
    seen: list[tuple[bool, str | None]] = []

    def receiver(sender, redeemed, **extra):
        loaded = "coupon_code" not in sa.inspect(redeemed).unloaded
        seen.append((loaded, redeemed.coupon_code))

    with signals.reward_redeemed.connected_to(receiver):
        reward = loyalty.redeem(rich, campaign)
    assert seen == [(True, reward.coupon_code)]


def test_redeemed_reward_keeps_a_snapshot_of_campaign_and_customer(
    frozen_clock, make_campaign, rich
):
    campaign = make_campaign(name="Mug", cost_in_points=300, tax_value=Decimal("1.23"))
    reward = loyalty.redeem(rich, campaign)
    assert (reward.reward_name, reward.reward_type, reward.cost_in_points) == (
        "Mug",
        RewardType.DISCOUNT_CODE,
        300,
    )
    assert reward.tax_value == Decimal("1.23")
    assert (reward.customer_email, reward.customer_phone) == (rich.email, "+44 1")
    assert (reward.customer_first_name, reward.customer_last_name) == ("Ada", "Lovelace")
    assert reward.delivery_address.city == "Warsaw"
    assert reward.redeemed_at == frozen_clock()


def test_active_points_after_are_the_points_left_after_redeeming(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign(cost_in_points=300))
    assert reward.active_points_after == 9_700


def test_later_profile_edits_do_not_change_the_snapshot(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign())
    rich.city = "Krakow"
    db.session.commit()
    assert db.session.get(models.RedeemedReward, reward.id).address_city == "Warsaw"


def test_redeeming_without_enough_points_says_how_many_are_missing(make_campaign, make_customer):
    poor = make_customer()
    loyalty.earn_points(poor, 70)
    with pytest.raises(NotEnoughPoints) as refused:
        loyalty.redeem(poor, make_campaign(cost_in_points=100))
    assert refused.value.points_needed == 30
    assert str(refused.value) == "You must have 30 more points to get reward"
    assert loyalty.active_points(poor) == 70


def test_points_needed_is_cost_minus_active_points(make_campaign, make_customer):
    poor = make_customer()
    loyalty.earn_points(poor, 70)
    campaign = make_campaign(cost_in_points=100)
    assert loyalty.points_needed(poor, campaign) == 30
    loyalty.earn_points(poor, 100)
    assert loyalty.points_needed(poor, campaign) == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"active": False}, "inactive"),
        ({"active_from": dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)}, "not_started"),
        ({"active_to": dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)}, "ended"),
        ({"visible_to": dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)}, "not_visible"),
    ],
)
def test_campaign_outside_its_windows_is_refused_with_a_reason(
    frozen_clock, make_campaign, rich, fields, reason
):
    with pytest.raises(RewardUnavailable) as refused:
        loyalty.redeem(rich, make_campaign(**fields))
    assert refused.value.reason == reason
    assert loyalty.active_points(rich) == 10_000


def test_unknown_campaign_is_refused(rich):
    with pytest.raises(RewardUnavailable) as refused:
        loyalty.redeem(rich, 999_999)
    assert refused.value.reason == "not_found"


def test_total_limit_is_enforced(frozen_clock, make_campaign, rich, make_customer):
    campaign = make_campaign(total_limit=1)
    loyalty.redeem(rich, campaign)
    other = make_customer()
    loyalty.earn_points(other, 1000)
    with pytest.raises(RewardUnavailable) as refused:
        loyalty.redeem(other, campaign)
    assert refused.value.reason == "sold_out"


def test_an_unlimited_campaign_counts_its_redemptions_from_the_rewards(
    frozen_clock, make_campaign, rich
):
    campaign = make_campaign()
    loyalty.redeem(rich, campaign)
    loyalty.cancel_redemption(loyalty.redeem(rich, campaign), reason="changed my mind")
    db.session.expire_all()
    assert (campaign.times_redeemed, campaign.redeemed_count) == (1, 0)
    assert loyalty.verify() == []


@pytest.mark.parametrize("path", ["as the database allows", "step by step"])
def test_a_total_limit_set_later_counts_the_redemptions_made_before_it(
    frozen_clock, make_campaign, rich, monkeypatch, path
):
    if path == "step by step":
        monkeypatch.setattr(issue, "_fits_one_statement", lambda ctx, campaign: False)
    campaign = make_campaign()
    loyalty.redeem(rich, campaign)
    loyalty.redeem(rich, campaign)
    loyalty.cancel_redemption(loyalty.redeem(rich, campaign), reason="wrong size")
    campaign.total_limit = 3
    db.session.commit()
    assert campaign.redeemed_count == 2
    loyalty.redeem(rich, campaign)
    with pytest.raises(RewardUnavailable) as refused:
        loyalty.redeem(rich, campaign)
    assert refused.value.reason == "sold_out"
    assert loyalty.verify() == []


def test_per_customer_limit_is_enforced(frozen_clock, make_campaign, rich):
    campaign = make_campaign(per_customer_limit=2)
    loyalty.redeem(rich, campaign)
    loyalty.redeem(rich, campaign)
    with pytest.raises(RewardUnavailable) as refused:
        loyalty.redeem(rich, campaign)
    assert refused.value.reason == "customer_limit"


def test_generated_codes_have_80_bits_from_an_unambiguous_alphabet(
    frozen_clock, make_campaign, rich
):
    campaign = make_campaign()
    codes = {loyalty.redeem(rich, campaign).coupon_code for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
        assert set(code.replace("-", "")) <= set(ALPHABET)
        assert not set(code) & set("ILOU")


def test_pool_codes_are_handed_out_once_then_run_out(frozen_clock, make_campaign, rich):
    campaign = make_campaign(code_source=CodeSource.POOL)
    report = loyalty.add_pool_codes(campaign, "AAA-1\n\nBBB-2\nAAA-1\n")
    assert (report.added, report.duplicates_in_file, report.blank_lines) == (
        ["AAA-1", "BBB-2"],
        ["AAA-1"],
        1,
    )
    first = loyalty.redeem(rich, campaign).coupon_code
    second = loyalty.redeem(rich, campaign).coupon_code
    assert {first, second} == {"AAA-1", "BBB-2"}
    with pytest.raises(RewardUnavailable) as refused:
        loyalty.redeem(rich, campaign)
    assert refused.value.reason == "no_codes_left"


def test_uploading_a_code_that_exists_already_reports_it(frozen_clock, make_campaign):
    first, second = (
        make_campaign(code_source=CodeSource.POOL),
        make_campaign(code_source=CodeSource.POOL),
    )
    loyalty.add_pool_codes(first, "SAME")
    report = loyalty.add_pool_codes(second, "SAME\nNEW")
    assert (report.added, report.already_known) == (["NEW"], ["SAME"])


def test_shared_code_is_given_to_everybody(frozen_clock, make_campaign, rich):
    campaign = make_campaign(code_source=CodeSource.SHARED, shared_code="WELCOME10")
    assert loyalty.redeem(rich, campaign).coupon_code == "WELCOME10"
    assert loyalty.redeem(rich, campaign).coupon_code == "WELCOME10"


def test_redeem_writes_a_history_row(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign())
    assert history(reward) == [(HistoryEvent.REDEEMED, None, "active", None)]


def test_same_idempotency_key_replays_the_original_reward(frozen_clock, make_campaign, rich):
    campaign = make_campaign()
    first = loyalty.redeem(rich, campaign, idempotency_key="click-1")
    again = loyalty.redeem(rich, campaign, idempotency_key="click-1")
    assert again.id == first.id
    assert loyalty.active_points(rich) == 10_000 - 100


def test_same_idempotency_key_for_another_campaign_is_refused(frozen_clock, make_campaign, rich):
    loyalty.redeem(rich, make_campaign(), idempotency_key="click-1")
    with pytest.raises(IdempotencyConflict):
        loyalty.redeem(rich, make_campaign(name="Other"), idempotency_key="click-1")


def test_replay_is_given_even_when_the_points_are_gone(frozen_clock, make_campaign, make_customer):
    customer = make_customer()
    loyalty.earn_points(customer, 100)
    campaign = make_campaign(cost_in_points=100)
    first = loyalty.redeem(customer, campaign, idempotency_key="k")
    assert loyalty.redeem(customer, campaign, idempotency_key="k").id == first.id


def test_admin_can_grant_a_reward_without_charging_points(
    frozen_clock, make_campaign, make_customer
):
    customer = make_customer()
    reward = loyalty.redeem(customer, make_campaign(), charge_points=False, actor="admin@shop")
    assert (reward.cost_in_points, reward.charged, reward.redeemed_by) == (0, False, "admin@shop")
    assert loyalty.verify() == []


def test_redeemed_signal_is_sent_after_commit(app, frozen_clock, make_campaign, rich):
    seen = []
    with signals.reward_redeemed.connected_to(
        lambda sender, redeemed: seen.append(redeemed.id), app
    ):
        reward = loyalty.redeem(rich, make_campaign())
    assert seen == [reward.id]


# -- coupon status ------------------------------------------------------------------------------


def test_coupon_is_inactive_for_the_days_inactive_then_active(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign(days_inactive=2, days_valid=5))
    assert reward.coupon_status is CouponStatus.INACTIVE
    frozen_clock.advance(days=2)
    assert loyalty.run_expiry().coupons_activated == 1
    db.session.refresh(reward)
    assert reward.coupon_status is CouponStatus.ACTIVE


def test_coupon_expires_days_valid_after_activation(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign(days_inactive=2, days_valid=5))
    assert reward.active_to == frozen_clock() + days(7)
    frozen_clock.advance(days=7)
    assert loyalty.run_expiry().coupons_expired == 1
    db.session.refresh(reward)
    assert reward.coupon_status is CouponStatus.EXPIRED


def test_days_valid_zero_never_expires(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign(days_valid=0))
    frozen_clock.advance(days=3650)
    assert reward.status_at(frozen_clock()) is CouponStatus.ACTIVE


# -- used / unused ------------------------------------------------------------------------------


def test_marking_used_records_time_order_and_sets_delivery_ordered(
    frozen_clock, make_campaign, rich
):
    reward = loyalty.redeem(rich, make_campaign())
    frozen_clock.advance(hours=1)
    loyalty.mark_used(reward, actor="admin@shop", order_reference="order-9")
    db.session.refresh(reward)
    assert reward.used and reward.used_at == frozen_clock()
    assert reward.used_order_reference == "order-9"
    assert reward.delivery_status is DeliveryStatus.ORDERED
    assert history(reward)[-1] == (HistoryEvent.USED, None, "ordered", "admin@shop")


def test_inactive_coupon_cannot_be_marked_used(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign(days_inactive=1))
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.mark_used(reward)
    assert refused.value.reason == "coupon_not_active"


def test_expired_coupon_can_be_neither_marked_nor_unmarked(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign(days_valid=1))
    frozen_clock.advance(days=2)
    with pytest.raises(InvalidStatusChange):
        loyalty.mark_used(reward)
    with pytest.raises(InvalidStatusChange):
        loyalty.unmark_used(reward)
    with pytest.raises(InvalidStatusChange):
        loyalty.cancel_redemption(reward, reason="late")


def test_marking_used_twice_is_refused(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign())
    loyalty.mark_used(reward)
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.mark_used(reward)
    assert refused.value.reason == "already_used"


def test_used_coupon_does_not_expire(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign(days_valid=1))
    loyalty.mark_used(reward)
    frozen_clock.advance(days=5)
    loyalty.run_expiry()
    db.session.refresh(reward)
    assert reward.coupon_status is CouponStatus.ACTIVE


def test_unmarking_clears_usage_and_delivery(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign())
    loyalty.mark_used(reward, order_reference="o-1")
    loyalty.unmark_used(reward, actor="admin@shop")
    db.session.refresh(reward)
    assert (reward.used, reward.used_at, reward.used_order_reference, reward.delivery_status) == (
        False,
        None,
        None,
        None,
    )
    assert history(reward)[-1][0] is HistoryEvent.UNUSED


def test_coupon_whose_validity_ended_while_used_expires_when_unmarked(
    frozen_clock, make_campaign, rich
):
    reward = loyalty.redeem(rich, make_campaign(days_valid=1))
    loyalty.mark_used(reward)
    frozen_clock.advance(days=3)
    loyalty.unmark_used(reward)
    db.session.refresh(reward)
    assert reward.coupon_status is CouponStatus.EXPIRED


# -- gift delivery ------------------------------------------------------------------------------


@pytest.fixture
def used_gift(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(
        rich, make_campaign(reward_type=RewardType.GIFT, fulfillment_tracking=True)
    )
    loyalty.mark_used(reward)
    return reward


def test_gift_moves_ordered_shipped_delivered(used_gift):
    loyalty.set_delivery_status(used_gift, DeliveryStatus.SHIPPED, actor="ops")
    loyalty.set_delivery_status(used_gift, "delivered", actor="ops")
    db.session.refresh(used_gift)
    assert used_gift.delivery_status is DeliveryStatus.DELIVERED
    assert history(used_gift)[-2:] == [
        (HistoryEvent.DELIVERY_STATUS, "ordered", "shipped", "ops"),
        (HistoryEvent.DELIVERY_STATUS, "shipped", "delivered", "ops"),
    ]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], DeliveryStatus.DELIVERED),
        ([DeliveryStatus.SHIPPED], DeliveryStatus.ORDERED),
        ([DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED], DeliveryStatus.CANCELED),
        ([DeliveryStatus.CANCELED], DeliveryStatus.SHIPPED),
    ],
)
def test_gift_delivery_cannot_skip_or_go_back(used_gift, path, refused):
    for status in path:
        loyalty.set_delivery_status(used_gift, status)
    with pytest.raises(InvalidStatusChange) as error:
        loyalty.set_delivery_status(used_gift, refused)
    assert error.value.reason == "transition_not_allowed"


def test_gift_can_be_canceled_from_shipped(used_gift):
    loyalty.set_delivery_status(used_gift, DeliveryStatus.SHIPPED)
    loyalty.set_delivery_status(used_gift, DeliveryStatus.CANCELED)
    db.session.refresh(used_gift)
    assert used_gift.delivery_status is DeliveryStatus.CANCELED


def test_only_gifts_have_a_delivery_to_track(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign())
    loyalty.mark_used(reward)
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.set_delivery_status(reward, DeliveryStatus.SHIPPED)
    assert refused.value.reason == "not_a_gift"


def test_unused_gift_has_no_delivery_to_move(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign(reward_type=RewardType.GIFT))
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.set_delivery_status(reward, DeliveryStatus.SHIPPED)
    assert refused.value.reason == "not_used"


def test_a_gift_whose_campaign_does_not_track_delivery_stays_ordered(
    frozen_clock, make_campaign, rich
):
    reward = loyalty.redeem(
        rich, make_campaign(reward_type=RewardType.GIFT, fulfillment_tracking=False)
    )
    loyalty.mark_used(reward)
    for status in (DeliveryStatus.SHIPPED, DeliveryStatus.CANCELED):
        with pytest.raises(InvalidStatusChange) as refused:
            loyalty.set_delivery_status(reward, status)
        assert refused.value.reason == "delivery_not_tracked"
    db.session.refresh(reward)
    assert reward.delivery_status is DeliveryStatus.ORDERED


def test_a_gift_whose_campaign_does_not_track_delivery_is_unmarked_then_cancelled(
    frozen_clock, make_campaign, rich
):
    reward = loyalty.redeem(
        rich, make_campaign(reward_type=RewardType.GIFT, fulfillment_tracking=False)
    )
    loyalty.mark_used(reward)
    loyalty.unmark_used(reward)
    loyalty.cancel_redemption(reward, reason="out of stock")
    assert reward.coupon_status is CouponStatus.CANCELED


def test_shipped_gift_cannot_be_unmarked(used_gift):
    loyalty.set_delivery_status(used_gift, DeliveryStatus.SHIPPED)
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.unmark_used(used_gift)
    assert refused.value.reason == "delivery_in_progress"


# -- cancellation -------------------------------------------------------------------------------


def test_cancel_returns_points_to_their_original_lots(frozen_clock, make_campaign, make_customer):
    customer = make_customer()
    soon = loyalty.earn_points(customer, 60, expires_at=frozen_clock() + days(10))
    later = loyalty.earn_points(customer, 60, expires_at=frozen_clock() + days(20))
    reward = loyalty.redeem(customer, make_campaign(cost_in_points=100))
    loyalty.cancel_redemption(reward, reason="customer asked", actor="admin@shop")
    assert db.session.get(models.PointsLot, soon.id).remaining == 60
    assert db.session.get(models.PointsLot, later.id).remaining == 60
    assert loyalty.active_points(customer) == 120
    assert loyalty.verify() == []


def test_points_returned_to_an_expired_lot_stay_expired(frozen_clock, make_campaign, make_customer):
    customer = make_customer()
    loyalty.earn_points(customer, 100, expires_at=frozen_clock() + days(2))
    loyalty.earn_points(customer, 100)
    reward = loyalty.redeem(customer, make_campaign(cost_in_points=150))
    frozen_clock.advance(days=3)
    loyalty.run_expiry()
    loyalty.cancel_redemption(reward, reason="customer asked")
    assert loyalty.active_points(customer) == 100
    assert loyalty.verify() == []


def test_cancel_frees_the_limit_slot_but_not_the_pool_code(frozen_clock, make_campaign, rich):
    campaign = make_campaign(code_source=CodeSource.POOL, total_limit=1)
    loyalty.add_pool_codes(campaign, "ONLY-ONE\nSECOND")
    reward = loyalty.redeem(rich, campaign)
    loyalty.cancel_redemption(reward, reason="wrong item")
    again = loyalty.redeem(rich, campaign)
    assert again.coupon_code == "SECOND"


def test_cancel_twice_is_refused(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign())
    loyalty.cancel_redemption(reward, reason="x")
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.cancel_redemption(reward, reason="x")
    assert refused.value.reason == "already_canceled"
    assert loyalty.active_points(rich) == 10_000


def test_used_reward_must_be_unmarked_before_cancelling(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign())
    loyalty.mark_used(reward)
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.cancel_redemption(reward, reason="x")
    assert refused.value.reason == "used"


def test_gift_whose_delivery_was_canceled_can_be_cancelled(used_gift, rich):
    loyalty.set_delivery_status(used_gift, DeliveryStatus.CANCELED)
    loyalty.cancel_redemption(used_gift, reason="parcel lost")
    assert loyalty.active_points(rich) == 10_000


def test_canceled_coupon_can_no_longer_be_used(frozen_clock, make_campaign, rich):
    reward = loyalty.redeem(rich, make_campaign())
    loyalty.cancel_redemption(reward, reason="x")
    with pytest.raises(InvalidStatusChange):
        loyalty.mark_used(reward)
