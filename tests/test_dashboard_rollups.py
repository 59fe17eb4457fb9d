"""The dashboard's per-day rollups say what a direct sum over the ledger and the rewards says.

The oracle below reads every entry and reward and sums them in Python; the dashboard reads its
rollups plus the rows past each mark. They must agree before and after a mark moves, with more
entries on a day already rolled up, on a new day, with entries dated in the past and with
cancelled redemptions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
import sqlalchemy as sa
from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_loyalty_rewards import RewardType
from flask_loyalty_rewards.extension import get_state
from flask_loyalty_rewards.models import CouponStatus
from flask_loyalty_rewards.services import dashboard
from flask_loyalty_rewards.services.context import Context
from tests import host
from tests.support.apps import empty_all_tables
from tests.support.factories import add_campaign, add_customer

UTC = dt.timezone.utc
SETTLED = dashboard.SETTLE + dt.timedelta(seconds=1)


def context() -> Context:
    return get_state().context(current_app._get_current_object())


def direct(period: str, now: dt.datetime) -> tuple[list[tuple], list[tuple], dict]:
    """Flows, campaigns and types of the window, summed from every row (the oracle)."""
    models = host.models
    buckets = dashboard.periods(now, period)
    start = dt.datetime.combine(buckets[0], dt.time(), tzinfo=UTC)
    flows: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(dashboard.FLOWS, 0))
    for entry in host.db.session.execute(sa.select(models.LedgerEntry)).scalars():
        flow = dashboard.flow_of(entry.kind, entry.delta > 0)
        if entry.created_at >= start and flow is not None:
            key = dashboard.period_start(entry.created_at, period).date()
            flows[key][flow] += entry.delta if flow == "issued" else -entry.delta
    campaigns: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    types = dict.fromkeys(RewardType, 0)
    for reward in host.db.session.execute(sa.select(models.RedeemedReward)).scalars():
        if reward.redeemed_at >= start and reward.canceled_at is None:
            campaigns[reward.campaign.name][0] += 1
            campaigns[reward.campaign.name][1] += reward.cost_in_points
            types[reward.reward_type] += 1
    host.db.session.rollback()
    return (
        [(day, *flows[day].values()) for day in buckets],
        sorted((name, *found) for name, found in campaigns.items()),
        types,
    )


def shown(period: str, now: dt.datetime) -> tuple[list[tuple], list[tuple], dict]:
    found = dashboard.programme(context(), period, now)
    host.db.session.rollback()
    return (
        [(r.period, r.issued, r.spent, r.expired, r.revoked) for r in found.flows],
        sorted((c.name, c.redemptions, c.points) for c in found.campaigns),
        found.by_type,
    )


def assert_matches(now: dt.datetime) -> None:
    for period in dashboard.WINDOWS:
        assert shown(period, now) == direct(period, now)


def marks() -> dict[str, int]:
    return dashboard.rolled_to(context())


@pytest.fixture
def ann_bob_mug_and_code(ctx, frozen_clock):
    """Ann and Bob, a mug and a coupon campaign; the clock on Monday 2026-03-02 09:00 UTC."""
    frozen_clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    ann, bob = (add_customer(email=f"{name}@example.com") for name in ("ann", "bob"))
    mug = add_campaign(name="Mug", reward_type=RewardType.GIFT, cost_in_points=100)
    code = add_campaign(name="10% off", cost_in_points=50)
    return ann.id, bob.id, mug.id, code.id


def test_a_first_look_sets_the_marks_and_reads_everything_live(ann_bob_mug_and_code, frozen_clock):
    ann, _, mug, _ = ann_bob_mug_and_code
    host.loyalty.earn_points(ann, 300)
    host.loyalty.redeem(ann, mug)
    assert_matches(frozen_clock())
    assert marks() == {"ledger_entry": 0, "redeemed_reward": 0}


def test_a_mark_moves_to_the_newest_id_seen_a_settling_time_ago(ann_bob_mug_and_code, frozen_clock):
    ann, bob, mug, _ = ann_bob_mug_and_code
    host.loyalty.earn_points(ann, 300)
    host.loyalty.redeem(ann, mug)
    assert_matches(frozen_clock())  # sees the newest ids
    host.loyalty.earn_points(bob, 500)  # past what was seen: stays live
    frozen_clock.advance(seconds=SETTLED.total_seconds())
    assert_matches(frozen_clock())
    entries = host.db.session.execute(sa.select(host.models.LedgerEntry.id)).scalars().all()
    assert marks()["ledger_entry"] == sorted(entries)[1]  # Ann's two entries, not Bob's
    assert marks()["redeemed_reward"] > 0


def test_more_entries_on_a_rolled_up_day_and_on_a_new_day_are_added(
    ann_bob_mug_and_code, frozen_clock
):
    ann, bob, mug, code = ann_bob_mug_and_code
    host.loyalty.earn_points(ann, 300)
    assert_matches(frozen_clock())
    frozen_clock.advance(minutes=15)
    host.loyalty.redeem(ann, mug)
    host.loyalty.earn_points(bob, 80)
    assert_matches(frozen_clock())  # Ann's earning rolled up, the rest live
    frozen_clock.advance(minutes=15)
    host.loyalty.redeem(bob, code)
    assert_matches(frozen_clock())  # the same day, added to its rows
    frozen_clock.advance(days=1)
    host.loyalty.adjust_points(bob, -10, reason="typo")
    assert_matches(frozen_clock())
    frozen_clock.advance(seconds=SETTLED.total_seconds())
    assert_matches(frozen_clock())
    rolled = host.db.session.execute(
        sa.select(host.models.FlowDay.day, host.models.FlowDay.points)
    ).all()
    assert (dt.date(2026, 3, 3), -10) in rolled


def test_an_entry_dated_on_a_rolled_up_day_is_counted(ann_bob_mug_and_code, frozen_clock):
    ann, *_ = ann_bob_mug_and_code
    host.loyalty.earn_points(ann, 300, expires_at=dt.datetime(2026, 3, 4, tzinfo=UTC))
    for _ in range(2):
        frozen_clock.advance(days=3)
        assert_matches(frozen_clock())
    host.loyalty.run_expiry(now=dt.datetime(2026, 3, 4, 1, 0, tzinfo=UTC))  # dated 4 days ago
    assert_matches(frozen_clock())
    for _ in range(2):  # seen as the newest, then rolled up
        frozen_clock.advance(seconds=SETTLED.total_seconds())
        assert_matches(frozen_clock())
    newest = host.db.session.execute(sa.select(sa.func.max(host.models.LedgerEntry.id))).scalar()
    assert marks()["ledger_entry"] == newest
    assert shown("day", frozen_clock())[0][-5] == (dt.date(2026, 3, 4), 0, 0, 300, 0)


def test_a_redemption_cancelled_after_its_day_was_rolled_up_is_taken_off(
    ann_bob_mug_and_code, frozen_clock
):
    ann, _, _, code = ann_bob_mug_and_code
    host.loyalty.earn_points(ann, 300)
    reward = host.loyalty.redeem(ann, code)
    host.loyalty.redeem(ann, code)
    for _ in range(2):
        frozen_clock.advance(days=1)
        assert_matches(frozen_clock())
    newest = host.db.session.execute(sa.select(sa.func.max(host.models.RedeemedReward.id)))
    assert marks()["redeemed_reward"] == newest.scalar()
    host.loyalty.cancel_redemption(reward.id, reason="changed mind")
    assert_matches(frozen_clock())
    assert shown("day", frozen_clock())[1] == [("10% off", 1, 50)]


def test_a_mark_moved_while_the_dashboard_reads_is_read_again(
    ann_bob_mug_and_code, frozen_clock, monkeypatch
):
    ann, *_ = ann_bob_mug_and_code
    host.loyalty.earn_points(ann, 300)
    assert_matches(frozen_clock())  # sees Ann's entry
    host.loyalty.earn_points(ann, 40)
    frozen_clock.advance(seconds=SETTLED.total_seconds())
    read_campaigns = dashboard._campaigns

    def another_request_moves_the_marks_first(*args):
        monkeypatch.setattr(dashboard, "_campaigns", read_campaigns)
        dashboard.catch_up(context(), settle=dt.timedelta(0))  # rolls up the 40 points
        return read_campaigns(*args)

    monkeypatch.setattr(dashboard, "_campaigns", another_request_moves_the_marks_first)
    assert_matches(frozen_clock())


def test_two_looks_at_the_same_moment_add_the_rows_once(ann_bob_mug_and_code, frozen_clock):
    ann, *_ = ann_bob_mug_and_code
    host.loyalty.earn_points(ann, 300)
    ctx = context()
    dashboard.catch_up(ctx)
    frozen_clock.advance(seconds=SETTLED.total_seconds())
    first = dashboard.catch_up(ctx)
    assert dashboard.catch_up(ctx) == first
    assert_matches(frozen_clock())


def test_rebuilding_starts_the_rollups_afresh(ann_bob_mug_and_code, frozen_clock):
    ann, *_ = ann_bob_mug_and_code
    host.loyalty.earn_points(ann, 300)
    ctx = context()
    dashboard.catch_up(ctx, settle=dt.timedelta(0))
    assert marks()["ledger_entry"] > 0
    dashboard.rebuild(ctx)
    assert marks() == {}
    assert host.db.session.execute(sa.select(sa.func.count(host.models.FlowDay.day))).scalar() == 0
    assert_matches(frozen_clock())


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(0, 1), st.integers(1, 400), st.integers(1, 90)),
        st.tuples(st.just("redeem"), st.integers(0, 1), st.integers(0, 1)),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("expire"), st.integers(0, 72)),
        st.tuples(st.just("adjust"), st.integers(0, 1), st.integers(-50, 50).filter(bool)),
        st.tuples(st.just("wait"), st.integers(1, 60 * 30)),
        st.tuples(st.just("look")),
    ),
    min_size=10,
    max_size=30,
)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_the_dashboard_equals_a_direct_sum_after_any_sequence_of_changes(ctx, frozen_clock, steps):
    host.db.session.remove()
    empty_all_tables(ctx)
    frozen_clock.set(dt.datetime(2026, 3, 1, 22, 0, tzinfo=UTC))  # two hours before a new day
    people = [host.Customer(email=f"p{n}@example.com") for n in range(2)]
    campaigns = [
        host.models.RewardCampaign(name=f"c{n}", reward_type=kind, cost_in_points=cost)
        for n, (kind, cost) in enumerate(((RewardType.GIFT, 60), (RewardType.DISCOUNT_CODE, 25)))
    ]
    host.db.session.add_all(people + campaigns)
    host.db.session.commit()
    customers, offers = [p.id for p in people], [c.id for c in campaigns]
    rewards: list[int] = []
    for step in steps:
        now = frozen_clock()
        if step[0] == "earn":
            expires = now + dt.timedelta(hours=step[3])
            host.loyalty.earn_points(customers[step[1]], step[2], expires_at=expires)
        elif step[0] == "redeem" and host.loyalty.active_points(customers[step[1]]) >= 60:
            rewards.append(host.loyalty.redeem(customers[step[1]], offers[step[2]]).id)
        elif step[0] == "cancel" and step[1] < len(rewards):
            reward = host.db.session.get(host.models.RedeemedReward, rewards[step[1]])
            if reward.coupon_status is not CouponStatus.CANCELED:
                host.loyalty.cancel_redemption(reward.id, reason="test")
        elif step[0] == "expire":  # dated up to three days ago, as a late job would be
            host.loyalty.run_expiry(now=now - dt.timedelta(hours=step[1]))
        elif step[0] == "adjust" and host.loyalty.active_points(customers[step[1]]) >= 50:
            host.loyalty.adjust_points(customers[step[1]], step[2], reason="test")
        elif step[0] == "wait":
            frozen_clock.advance(minutes=step[1])
        elif step[0] == "look":
            assert_matches(now)
        host.db.session.remove()
    assert_matches(frozen_clock())
