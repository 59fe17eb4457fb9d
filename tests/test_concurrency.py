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
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import LoyaltyError, NotEnoughPoints
from flask_loyalty_rewards.services import context as context_module
from flask_loyalty_rewards.services import ledger
from tests import host
from tests.conftest import SERVER_URLS, dispose
from tests.host import db, loyalty, models

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
def postgres_app() -> Iterator[Flask]:
    """An app on a fresh PostgreSQL database, whatever LOYALTY_TEST_BACKENDS says."""
    server = sa.make_url(SERVER_URLS["postgresql"])
    name = f"flr_naive_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    app = host.create_app(server.set(database=name).render_as_string(hide_password=False))
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        dispose(app)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_the_race_catches_a_naive_read_then_write_path(postgres_app, monkeypatch):
    monkeypatch.setattr(ledger, "spend_gate", naive_spend_gate)
    monkeypatch.setattr(ledger, "draw_fifo", naive_draw_fifo)
    monkeypatch.setattr(context_module.Context, "locked", lambda self, stmt, **kw: stmt)
    outcome = run_race(postgres_app)
    overspent = sum(outcome.successes.values()) - sum(outcome.covered.values())
    assert overspent > 0, "the naive path should have redeemed more than the balances cover"
    with pytest.raises(AssertionError):
        assert_race_safe(outcome)
