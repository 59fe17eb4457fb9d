"""16 workers redeem at once; balances cover only some attempts; not one point is double-spent.

The race runs on every backend under test (file-backed SQLite, PostgreSQL, MariaDB). To prove
the test has teeth, it is also run once against a deliberately naive read-then-write path on
PostgreSQL, and must catch it.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import LoyaltyError, NotEnoughPoints
from flask_loyalty_rewards.services import context as context_module
from flask_loyalty_rewards.services import ledger
from flask_loyalty_rewards.services.redemption import issue
from tests import host
from tests.host import db, loyalty, models
from tests.support.apps import dispose
from tests.support.databases import scratch_database
from tests.support.threads import at_once

pytestmark = pytest.mark.concurrency

WORKERS = 16
ATTEMPTS_PER_WORKER = 6
COST = 100


@dataclass
class Outcome:
    covered: dict[int, int]
    successes: Counter[int] = field(default_factory=Counter)
    refusals: int = 0
    errors: list[str] = field(default_factory=list)
    balances: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def run_race(app: Flask) -> Outcome:
    """One hot customer and a few cold ones; attempts far beyond what balances cover."""
    with app.app_context():
        from flask_loyalty_rewards import RewardType, clock

        campaign = models.RewardCampaign(
            name="Race",
            reward_type=RewardType.DISCOUNT_CODE,
            cost_in_points=COST,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        db.session.add(campaign)
        customers = [host.Customer(email=f"race-{uuid.uuid4().hex}@example.com") for _ in range(5)]
        db.session.add_all(customers)
        db.session.commit()
        ids = [c.id for c in customers]
        campaign_id = campaign.id
        grants = {
            ids[0]: 7 * COST + 50,
            ids[1]: 2 * COST,
            ids[2]: COST,
            ids[3]: COST - 1,
            ids[4]: 3 * COST,
        }
        for cid, points in grants.items():
            # Several lots with different expiries, so FIFO draws cross lot boundaries.
            loyalty.earn_points(cid, points - points // 3)
            if points // 3:
                loyalty.earn_points(cid, points // 3, expires_at=clock.now() + dt.timedelta(days=3))
        db.session.remove()
    outcome = Outcome(covered={cid: points // COST for cid, points in grants.items()})
    barrier = threading.Barrier(WORKERS)
    lock = threading.Lock()
    rng = random.Random(7)
    plans = [
        [rng.choice(ids[:2] * 3 + ids) for _ in range(ATTEMPTS_PER_WORKER)] for _ in range(WORKERS)
    ]

    def worker(plan: list[int]) -> None:
        barrier.wait()
        for cid in plan:
            with app.app_context():
                try:
                    loyalty.redeem(cid, campaign_id)
                except (NotEnoughPoints, LoyaltyError):
                    with lock:
                        outcome.refusals += 1
                except Exception as exc:  # every other failure is a bug the test must report
                    with lock:
                        outcome.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                else:
                    with lock:
                        outcome.successes[cid] += 1
                finally:
                    db.session.remove()

    threads = [threading.Thread(target=worker, args=(plan,)) for plan in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with app.app_context():
        outcome.balances = dict(
            db.session.execute(sa.select(models.Account.customer_id, models.Account.balance)).all()
        )
        outcome.problems = [str(p) for p in loyalty.verify()]
        db.session.remove()
    return outcome


def assert_race_safe(outcome: Outcome) -> None:
    assert not outcome.errors, outcome.errors
    for cid, covered in outcome.covered.items():
        assert outcome.successes[cid] == covered, (
            f"customer {cid}: {outcome.successes[cid]} successes, {covered} covered"
        )
    assert all(balance >= 0 for balance in outcome.balances.values())
    assert outcome.problems == []


def test_concurrent_redemptions_never_spend_a_point_twice(app):
    outcome = run_race(app)
    assert sum(outcome.successes.values()) + outcome.refusals == WORKERS * ATTEMPTS_PER_WORKER
    assert_race_safe(outcome)


def test_redeeming_step_by_step_on_postgresql_is_race_safe_too(postgres_app, monkeypatch):
    """PostgreSQL redeems most campaigns in one statement; the others go step by step."""
    monkeypatch.setattr(issue, "_fits_one_statement", lambda ctx, campaign: False)
    assert_race_safe(run_race(postgres_app))


# -- the same race against a naive path must fail ------------------------------------------------


_naive = threading.local()
_real_draw_fifo = ledger.draw_fifo


def naive_spend_gate(ctx: Any, customer_id: Any, points: int, now: Any) -> int:
    """Read the balance and the lots, think, then write what was read minus the cost.

    This is the classic bug: nothing stops another worker from reading the same numbers while
    this one thinks, so both spend the same points.
    """
    account = ctx.models.Account.__table__
    balance = ctx.session.execute(
        sa.select(account.c.balance).where(account.c.customer_id == customer_id)
    ).scalar_one()
    if balance < points:
        raise NotEnoughPoints(points - balance, cost=points, active_points=balance)
    _naive.draws = _real_draw_fifo(ctx, customer_id, points, now)
    time.sleep(0.002)
    ctx.session.execute(
        sa.update(account)
        .where(account.c.customer_id == customer_id)
        .values(balance=balance - points)
    )
    return int(balance - points)


def naive_draw_fifo(ctx: Any, customer_id: Any, points: int, now: Any) -> list[Any]:
    return list(_naive.draws)


@pytest.fixture
def postgres_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a fresh PostgreSQL database, whatever LOYALTY_TEST_BACKENDS says."""
    with scratch_database("postgresql", tmp_path, "flr_naive") as url:
        app = host.create_app(url)
        with app.app_context():
            db.create_all()
        try:
            yield app
        finally:
            dispose(app)


def test_the_race_catches_a_naive_read_then_write_path(postgres_app, monkeypatch):
    monkeypatch.setattr(issue, "_fits_one_statement", lambda ctx, campaign: False)
    monkeypatch.setattr(ledger, "spend_gate", naive_spend_gate)
    monkeypatch.setattr(ledger, "draw_fifo", naive_draw_fifo)
    monkeypatch.setattr(context_module.Context, "locked", lambda self, stmt, **kw: stmt)
    outcome = run_race(postgres_app)
    overspent = sum(outcome.successes.values()) - sum(outcome.covered.values())
    assert overspent > 0, "the naive path should have redeemed more than the balances cover"
    with pytest.raises(AssertionError):
        assert_race_safe(outcome)


# -- a redemption that waited for another transaction on the same customer -----------------------


def wait_until_a_transaction_waits_for_a_lock(engine: sa.Engine) -> None:
    """Return once the database shows a transaction queued behind a row lock."""
    if engine.dialect.name == "sqlite":  # one writer at a time: the waiter is inside BEGIN
        time.sleep(0.5)
        return
    if engine.dialect.name == "postgresql":
        sql = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    else:
        sql = "SELECT count(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'"
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.exec_driver_sql(sql).scalar():
                return
            conn.rollback()  # PostgreSQL keeps one statistics snapshot per transaction
            time.sleep(0.2)  # MariaDB refreshes innodb_trx only when not read for 0.1 s
    raise AssertionError("no transaction ever waited for a lock")


def test_points_earned_while_a_redemption_waits_are_spent_first_if_they_expire_soonest(app):
    """The redemption's reads must see what committed while it queued for the customer.

    A statement that read the lots before it queued would miss the new lot and spend the old one.
    """
    with app.app_context():
        from flask_loyalty_rewards import clock
        from tests.support.factories import campaign_fields

        now = clock.now()
        customer = host.Customer(email=f"queued-{uuid.uuid4().hex}@example.com")
        campaign = models.RewardCampaign(**campaign_fields(cost_in_points=50))
        db.session.add_all([customer, campaign])
        db.session.commit()
        customer_id, campaign_id = customer.id, campaign.id
        old_lot = loyalty.earn_points(customer_id, 100, expires_at=now + dt.timedelta(days=10)).id
        db.session.remove()
        engine = db.engine

    earner_holds_the_lock, earner_may_commit = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def hold_the_earners_commit(session: Any) -> None:
        if threading.current_thread().name == "earner":
            earner_holds_the_lock.set()
            earner_may_commit.wait(30)

    def run(name: str, call: Any) -> None:
        with app.app_context():
            try:
                results[name] = call()
            except Exception as exc:  # reported by the assertions below
                results[name] = exc
            finally:
                db.session.remove()

    soon = now + dt.timedelta(days=1)
    earner = threading.Thread(
        target=run,
        args=("earner", lambda: loyalty.earn_points(customer_id, 50, expires_at=soon).id),
        name="earner",
    )
    redeemer = threading.Thread(
        target=run, args=("redeemer", lambda: loyalty.redeem(customer_id, campaign_id).id)
    )
    sa.event.listen(sa.orm.Session, "before_commit", hold_the_earners_commit)
    try:
        earner.start()
        assert earner_holds_the_lock.wait(30)
        redeemer.start()
        wait_until_a_transaction_waits_for_a_lock(engine)
        earner_may_commit.set()
        earner.join(30)
        redeemer.join(30)
    finally:
        earner_may_commit.set()
        sa.event.remove(sa.orm.Session, "before_commit", hold_the_earners_commit)
    new_lot, reward_id = results["earner"], results["redeemer"]
    assert isinstance(new_lot, int) and isinstance(reward_id, int), results
    with app.app_context():
        spent_from = db.session.execute(
            sa.select(models.Allocation.lot_id, models.Allocation.points)
            .join(models.LedgerEntry, models.LedgerEntry.id == models.Allocation.entry_id)
            .where(models.LedgerEntry.redeemed_reward_id == reward_id)
        ).all()
        assert spent_from == [(new_lot, 50)], f"the old lot was {old_lot}"
        assert loyalty.active_points(customer_id) == 100
        assert loyalty.verify() == []
        db.session.remove()


def test_simultaneous_free_grants_never_pass_the_per_customer_limit(app):
    """An admin's free grant takes no points, so the account lock must still order the grants."""
    with app.app_context():
        from tests.support.factories import campaign_fields

        customer = host.Customer(email=f"granted-{uuid.uuid4().hex}@example.com")
        campaign = models.RewardCampaign(**campaign_fields(per_customer_limit=1))
        db.session.add_all([customer, campaign])
        db.session.commit()
        customer_id, campaign_id = customer.id, campaign.id
        db.session.remove()
    outcomes = at_once(
        app,
        8,
        lambda _: loyalty.redeem(customer_id, campaign_id, charge_points=False, actor="admin"),
    )
    refused = [o for o in outcomes if isinstance(o, LoyaltyError)]
    errors = [o for o in outcomes if isinstance(o, BaseException) and o not in refused]
    assert not errors, errors
    assert (len(outcomes) - len(refused), len(refused)) == (1, 7)
    assert {getattr(exc, "reason", None) for exc in refused} == {"customer_limit"}


# -- the campaign row: shared by every customer -------------------------------------------------


def new_campaign_and_customers(app: Flask, customers: int, **fields: Any) -> tuple[int, list[int]]:
    """A campaign costing 100 points and customers who can each afford it many times.

    Between two of them sits a customer with points who never redeems: on MariaDB a locking
    read of one customer's lots also locks the next customer's first lot, and neighbours who
    both redeem can deadlock (the database undoes one, and :func:`redeem` runs it again).
    """
    with app.app_context():
        from tests.support.factories import campaign_fields

        campaign = models.RewardCampaign(**campaign_fields(**fields))
        people = [
            host.Customer(email=f"shared-{uuid.uuid4().hex}@example.com")
            for _ in range(2 * customers)
        ]
        db.session.add_all([campaign, *people])
        db.session.commit()
        ids = [c.id for c in people]
        for cid in ids:
            loyalty.earn_points(cid, 100_000)
        campaign_id = campaign.id
        db.session.remove()
    return campaign_id, ids[::2]


@pytest.mark.parametrize("path", ["one statement", "step by step"])
def test_redemptions_of_an_unlimited_campaign_never_wait_for_its_row(
    postgres_app, monkeypatch, path
):
    """Another transaction holds the lock a write of the campaign row would need, and keeps it.

    A redemption that counted itself on the row would queue behind it until the lock timeout.
    """
    if path == "step by step":
        monkeypatch.setattr(issue, "_fits_one_statement", lambda ctx, campaign: False)
    campaign_id, (customer_id,) = new_campaign_and_customers(postgres_app, 1)
    with postgres_app.app_context():
        engine = db.engine
    with engine.connect() as holder:
        holder.exec_driver_sql(
            f"SELECT id FROM loyalty_campaign WHERE id = {campaign_id} FOR NO KEY UPDATE"
        ).all()
        with postgres_app.app_context():
            db.session.execute(sa.text("SET LOCAL lock_timeout = '3s'"))
            reward = loyalty.redeem(customer_id, campaign_id)
            assert reward.id is not None
            db.session.remove()
        holder.rollback()


def test_a_limit_set_while_customers_redeem_is_kept_exactly(app):
    """The limit's count starts from every redemption committed or in flight, none twice."""
    campaign_id, ids = new_campaign_and_customers(app, 4, cost_in_points=1)
    limit = 12
    redeemed, sold_out, errors = [], [], []
    counted_when_set: list[int] = []
    barrier = threading.Barrier(9)

    def customer(cid: int) -> None:
        barrier.wait()
        for _ in range(8):
            with app.app_context():
                try:
                    loyalty.redeem(cid, campaign_id)
                except LoyaltyError as exc:
                    sold_out.append(getattr(exc, "reason", None))
                except Exception as exc:  # every other failure is a bug the test must report
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                else:
                    redeemed.append(cid)
                finally:
                    db.session.remove()

    def admin() -> None:
        barrier.wait()
        while len(redeemed) < 3 and not errors:
            time.sleep(0.001)
        with app.app_context():
            campaign = db.session.get(models.RewardCampaign, campaign_id)
            campaign.total_limit = limit
            db.session.commit()
            counted_when_set.append(campaign.redeemed_count)
            db.session.remove()

    threads = [threading.Thread(target=customer, args=(cid,)) for cid in ids * 2]
    threads.append(threading.Thread(target=admin))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert set(sold_out) <= {"sold_out"}
    assert len(redeemed) == max(limit, counted_when_set[0])
    with app.app_context():
        assert db.session.get(models.RewardCampaign, campaign_id).redeemed_count == len(redeemed)
        assert loyalty.verify() == []
        db.session.remove()


def test_simultaneous_requests_under_one_key_all_get_its_one_reward(app, database_url):
    """A double submit raced four times over: one redemption per key and every caller gets it.

    On PostgreSQL the losers' statement fails on the key while its connection commits each
    statement by itself; that connection must not reach the pool so (another request's
    transaction would commit statement by statement). A pool of one hands it on at once.
    """
    campaign_id, (customer_id,) = new_campaign_and_customers(app, 1)
    options = {**host.engine_options(database_url), "pool_size": 1, "max_overflow": 8}
    small_pool = host.create_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=options)
    answers = [
        at_once(
            small_pool,
            4,
            lambda _, key=f"double-{attempt}": (
                loyalty.redeem(customer_id, campaign_id, idempotency_key=key).id
            ),
        )
        for attempt in range(15)
    ]
    with small_pool.app_context():
        pooled = [db.engine.raw_connection() for _ in range(4)]
        autocommitting = [getattr(c.driver_connection, "autocommit", None) is True for c in pooled]
        for c in pooled:
            c.close()
    dispose(small_pool)
    errors = [o for round_ in answers for o in round_ if isinstance(o, BaseException)]
    assert not errors, errors
    assert not any(autocommitting)
    assert all(len(set(round_)) == 1 for round_ in answers)
    with app.app_context():
        rows = db.session.scalar(
            sa.select(sa.func.count()).where(models.RedeemedReward.customer_id == customer_id)
        )
        assert rows == 15
        assert loyalty.verify() == []
