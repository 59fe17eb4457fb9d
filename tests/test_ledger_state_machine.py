"""Hypothesis drives random sequences of earn, redeem, expire (with a moving clock), cancel and
mark used/unused, and checks after every step that the database agrees with a plain-Python model
of the lots and that every ledger invariant holds (``verify``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from flask_loyalty_rewards import (
    InvalidStatusChange,
    NotEnoughPoints,
    RewardType,
    clock,
)
from flask_loyalty_rewards.models import NEVER
from tests.host import Customer, db, loyalty, models
from tests.support.apps import empty_all_tables
from tests.support.clock import FakeClock

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Lot:
    id: int
    remaining: int
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    available_from: dt.datetime | None

    def spendable(self, now: dt.datetime) -> bool:
        return (
            self.remaining > 0
            and (self.expires_at is None or self.expires_at > now)
            and (self.available_from is None or self.available_from <= now)
        )

    def order(self) -> tuple[dt.datetime, dt.datetime, int]:
        return (self.expires_at or NEVER, self.earned_at, self.id)


@dataclass
class Redemption:
    id: int
    customer: int
    redeemed_at: dt.datetime
    days_valid: int
    drawn: list[tuple[int, int]]
    used: bool = False
    canceled: bool = False

    def active(self, now: dt.datetime) -> bool:
        if self.canceled:
            return False
        if self.used or not self.days_valid:
            return True
        return now < self.redeemed_at + dt.timedelta(days=self.days_valid)


@dataclass
class Model:
    lots: dict[int, list[Lot]] = field(default_factory=dict)

    def active(self, customer: int, now: dt.datetime) -> int:
        return sum(lot.remaining for lot in self.lots[customer] if lot.spendable(now))


class LedgerMachine(RuleBasedStateMachine):
    redemptions = Bundle("redemptions")

    def __init__(self) -> None:
        super().__init__()
        db.session.remove()
        empty_all_tables(APP)
        CLOCK.set(START)
        self.model = Model()
        self.rewards: dict[int, Redemption] = {}
        self.customers: list[int] = []
        self.campaigns: dict[int, tuple[int, int]] = {}

    @initialize()
    def setup(self) -> None:
        for n in range(2):
            customer = Customer(email=f"m{n}@example.com")
            db.session.add(customer)
        for cost, days_valid in ((50, 0), (120, 2)):
            campaign = models.RewardCampaign(
                name=f"c{cost}",
                reward_type=RewardType.GIFT,
                cost_in_points=cost,
                days_valid=days_valid,
                created_at=CLOCK(),
                updated_at=CLOCK(),
            )
            db.session.add(campaign)
            db.session.flush()
            self.campaigns[campaign.id] = (cost, days_valid)
        db.session.commit()
        self.customers = list(db.session.scalars(db.select(Customer.id).order_by(Customer.id)))
        for cid in self.customers:
            self.model.lots[cid] = []

    @rule(
        who=st.integers(0, 1),
        points=st.integers(1, 200),
        ttl_hours=st.one_of(st.none(), st.integers(1, 24 * 10)),
        pending_hours=st.one_of(st.none(), st.integers(1, 48)),
    )
    def earn(self, who: int, points: int, ttl_hours: int | None, pending_hours: int | None) -> None:
        cid = self.customers[who]
        now = CLOCK()
        expires = now + dt.timedelta(hours=ttl_hours) if ttl_hours else None
        pending = now + dt.timedelta(hours=pending_hours) if pending_hours else None
        if expires is not None and pending is not None and pending >= expires:
            pending = None
        lot = loyalty.earn_points(cid, points, expires_at=expires, available_from=pending)
        self.model.lots[cid].append(Lot(lot.id, points, now, expires, pending))

    @rule(target=redemptions, who=st.integers(0, 1), which=st.integers(0, 1))
    def redeem(self, who: int, which: int) -> int:
        cid = self.customers[who]
        campaign_id = sorted(self.campaigns)[which]
        cost, days_valid = self.campaigns[campaign_id]
        now = CLOCK()
        active = self.model.active(cid, now)
        if active < cost:
            with pytest.raises(NotEnoughPoints) as refused:
                loyalty.redeem(cid, campaign_id)
            assert refused.value.points_needed == cost - active
            return -1
        reward = loyalty.redeem(cid, campaign_id)
        assert reward.active_points_after == active - cost
        drawn, owed = [], cost
        for lot in sorted(
            (lot for lot in self.model.lots[cid] if lot.spendable(now)), key=Lot.order
        ):
            take = min(owed, lot.remaining)
            lot.remaining -= take
            owed -= take
            drawn.append((lot.id, take))
            if not owed:
                break
        self.rewards[reward.id] = Redemption(reward.id, cid, now, days_valid, drawn)
        return int(reward.id)

    @rule(hours=st.integers(1, 72))
    def advance_clock(self, hours: int) -> None:
        CLOCK.advance(hours=hours)

    @rule()
    def run_expiry(self) -> None:
        now = CLOCK()
        loyalty.run_expiry()
        for lots in self.model.lots.values():
            for lot in lots:
                if lot.expires_at is not None and lot.expires_at <= now:
                    lot.remaining = 0

    @rule(rid=consumes(redemptions))
    def cancel(self, rid: int) -> None:
        if rid < 0:
            return
        r = self.rewards[rid]
        now = CLOCK()
        if r.canceled or r.used or not r.active(now):
            with pytest.raises(InvalidStatusChange):
                loyalty.cancel_redemption(rid, reason="test")
            return
        loyalty.cancel_redemption(rid, reason="test")
        r.canceled = True
        lots = {lot.id: lot for lot in self.model.lots[r.customer]}
        for lot_id, points in r.drawn:
            lot = lots[lot_id]
            if lot.expires_at is None or lot.expires_at > now:
                lot.remaining += points

    @rule(rid=redemptions, use=st.booleans())
    def mark(self, rid: int, use: bool) -> None:
        if rid < 0:
            return
        r = self.rewards[rid]
        allowed = r.active(CLOCK()) and r.used != use
        action = loyalty.mark_used if use else loyalty.unmark_used
        if not allowed:
            with pytest.raises(InvalidStatusChange):
                action(rid)
            return
        action(rid)
        r.used = use

    @invariant()
    def database_matches_the_model(self) -> None:
        now = CLOCK()
        for cid in self.customers:
            assert loyalty.active_points(cid) == self.model.active(cid, now)

    @invariant()
    def ledger_invariants_hold(self) -> None:
        assert loyalty.verify() == []


APP = None
CLOCK = FakeClock(START)


def test_ledger_invariants_hold_for_random_operation_sequences(ctx, monkeypatch):
    global APP
    APP = ctx
    monkeypatch.setattr(clock, "now", CLOCK)
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
