"""A service call is one unit of work in the host's session; a failure leaves no trace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from flask_loyalty_rewards import CodeSource, NotEnoughPoints
from tests.host import Customer, db, loyalty, models
from tests.support.sql import InjectedFault, statements


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in models.tables()
    }


def ledger_state() -> list[tuple[Any, ...]]:
    lots = db.session.execute(
        sa.select(models.PointsLot.id, models.PointsLot.remaining).order_by(models.PointsLot.id)
    ).all()
    accounts = db.session.execute(
        sa.select(models.Account.customer_id, models.Account.balance).order_by(
            models.Account.customer_id
        )
    ).all()
    campaigns = db.session.execute(
        sa.select(models.RewardCampaign.id, models.RewardCampaign.redeemed_count).order_by(
            models.RewardCampaign.id
        )
    ).all()
    codes = db.session.execute(
        sa.select(models.CouponCode.id, models.CouponCode.handed_out_at).order_by(
            models.CouponCode.id
        )
    ).all()
    return [tuple(r) for r in [*lots, *accounts, *campaigns, *codes]]


#: Campaigns that take each way through a redemption (PostgreSQL does the second in one
#: statement), with the fewest statements such a redemption can run.
SCENARIOS = {
    "pool code and per-customer limit": (
        {"code_source": CodeSource.POOL, "per_customer_limit": 5, "total_limit": 100},
        12,
    ),
    "generated code and total limit": ({"total_limit": 100}, 3),
}


@pytest.fixture(params=list(SCENARIOS))
def scenario(request, frozen_clock, make_customer, make_campaign):
    """A redemption from two lots, with a key, a code and limits."""
    fields, fewest_statements = SCENARIOS[request.param]
    campaign = make_campaign(cost_in_points=150, **fields)
    if campaign.code_source is CodeSource.POOL:
        loyalty.add_pool_codes(campaign, "\n".join(f"CODE-{i}" for i in range(10)))

    def customer_with_two_lots():
        customer = make_customer()
        loyalty.earn_points(customer, 100, expires_at=frozen_clock() + dt.timedelta(days=5))
        loyalty.earn_points(customer, 100)
        return customer

    return campaign, customer_with_two_lots, fewest_statements


@pytest.mark.parametrize("session_state", ["host transaction open", "fresh session"])
def test_a_fault_at_any_statement_of_a_redemption_leaves_no_trace(ctx, scenario, session_state):
    """Fail statement 1, then 2, ... of the same redemption until it gets through untouched.

    With the host's transaction open the call works in a savepoint; on a fresh session it owns
    the whole transaction and needs none. Both paths must leave no trace.
    """
    fresh = session_state == "fresh session"
    campaign, customer_with_two_lots, fewest_statements = scenario
    campaign_id = campaign.id
    victim_id = customer_with_two_lots().id
    k = 0
    while True:
        k += 1
        db.session.expire_all()
        before_counts, before_state = row_counts(), ledger_state()
        if fresh:
            db.session.remove()
        with statements(db.engine, fail_at=k) as run:
            try:
                reward = loyalty.redeem(victim_id, campaign_id, idempotency_key="retry-me")
            except (InjectedFault, sa.exc.StatementError):
                failed = True
            else:
                failed = False
        if not failed:
            assert len(run) < k
            assert any(st.startswith("SAVEPOINT") for st in run) is not fresh
            break
        db.session.rollback()
        assert row_counts() == before_counts, f"a fault at statement {k} left rows behind"
        assert ledger_state() == before_state, f"a fault at statement {k} changed the ledger"
    assert k > fewest_statements, "the redemption should have run more statements than that"
    again = loyalty.redeem(victim_id, campaign_id, idempotency_key="retry-me")
    assert again.id == reward.id
    assert loyalty.active_points(victim_id) == 50
    assert loyalty.verify() == []


def test_a_fault_at_commit_leaves_no_trace(ctx, scenario):
    campaign, customer_with_two_lots, _ = scenario
    customer = customer_with_two_lots()
    before_counts, before_state = row_counts(), ledger_state()

    def refuse_commit(conn):
        raise InjectedFault("commit failed")

    event.listen(db.engine, "commit", refuse_commit)
    try:
        with pytest.raises(InjectedFault):
            loyalty.redeem(customer, campaign, idempotency_key="k")
    finally:
        event.remove(db.engine, "commit", refuse_commit)
    db.session.rollback()
    assert row_counts() == before_counts
    assert ledger_state() == before_state


def test_success_commits_the_hosts_pending_changes_too(ctx, frozen_clock, make_customer):
    customer = make_customer()
    newcomer = Customer(email="pending@example.com")
    db.session.add(newcomer)
    loyalty.earn_points(customer, 10)
    db.session.remove()
    assert db.session.scalar(sa.select(Customer).where(Customer.email == "pending@example.com"))


def test_refusal_keeps_the_hosts_pending_changes_and_session_usable(
    ctx, frozen_clock, make_customer, make_campaign
):
    customer = make_customer()
    campaign = make_campaign(cost_in_points=10)
    newcomer = Customer(email="pending@example.com")
    db.session.add(newcomer)
    with pytest.raises(NotEnoughPoints):
        loyalty.redeem(customer, campaign)
    newcomer.first_name = "Still here"
    db.session.commit()
    db.session.remove()
    saved = db.session.scalar(sa.select(Customer).where(Customer.email == "pending@example.com"))
    assert saved is not None and saved.first_name == "Still here"
    assert row_counts()[models.RedeemedReward.__table__.name] == 0


def test_sqlite_all_mode_begins_every_transaction_immediate(tmp_path):
    """SQLite's driver would read outside a transaction; "all" takes the write lock up front."""
    from tests.host import create_app

    app = create_app(
        f"sqlite:///{tmp_path / 'immediate.sqlite'}", LOYALTY_SQLITE_BEGIN_IMMEDIATE="all"
    )
    with app.app_context():
        with statements(db.engine) as seen:
            db.session.execute(sa.select(1))
            db.session.rollback()
        db.engine.dispose()
    assert seen[0] == "BEGIN IMMEDIATE"


def test_sqlite_ours_mode_leaves_the_hosts_reads_alone(tmp_path):
    from tests.host import create_app

    app = create_app(f"sqlite:///{tmp_path / 'ours.sqlite'}")
    with app.app_context():
        with statements(db.engine) as seen:
            db.session.execute(sa.select(1))
            db.session.rollback()
        db.engine.dispose()
    assert seen == ["SELECT 1"]


# -- a deadlock's victim ---------------------------------------------------------------------------


def deadlock_error(dialect: str) -> Exception:
    """What the driver raises when the database rolls a deadlock's victim back."""
    if dialect == "postgresql":
        import psycopg

        return psycopg.errors.DeadlockDetected("deadlock detected")
    import pymysql

    return pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")


@contextmanager
def deadlocks(engine: sa.Engine, times: int) -> Iterator[list[str]]:
    """The first ``times`` redemption statements that write the account die in a deadlock."""
    victims: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if len(victims) < times and statement.lstrip().startswith(("UPDATE", "WITH")):
            victims.append(statement)
            raise deadlock_error(engine.dialect.name)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield victims
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def deadlock_victim(ctx, backend, frozen_clock, make_customer, make_campaign):
    if backend == "sqlite":
        pytest.skip("SQLite transactions queue behind BEGIN IMMEDIATE; they never deadlock")
    customer = make_customer()
    loyalty.earn_points(customer, 500)
    ids = customer.id, make_campaign(cost_in_points=150).id
    db.session.remove()
    return ids


def test_a_redemption_picked_as_a_deadlock_victim_runs_again_and_spends_once(deadlock_victim):
    customer_id, campaign_id = deadlock_victim
    with deadlocks(db.engine, times=2) as victims:
        reward = loyalty.redeem(customer_id, campaign_id)
    assert len(victims) == 2
    assert reward.cost_in_points == 150
    assert loyalty.active_points(customer_id) == 350
    assert row_counts()[models.RedeemedReward.__tablename__] == 1
    assert loyalty.verify() == []


def test_a_redemption_that_keeps_deadlocking_gives_up_and_leaves_no_trace(deadlock_victim):
    customer_id, campaign_id = deadlock_victim
    before_counts, before_state = row_counts(), ledger_state()
    db.session.remove()
    with deadlocks(db.engine, times=99) as victims, pytest.raises(sa.exc.OperationalError):
        loyalty.redeem(customer_id, campaign_id)
    assert len(victims) == 3
    db.session.rollback()
    assert (row_counts(), ledger_state()) == (before_counts, before_state)
