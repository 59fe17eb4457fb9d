"""`flask loyalty expire`, `flask loyalty verify` and `flask loyalty dashboard-rollup`."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from tests.host import db, loyalty, models


def test_expire_command_expires_due_points_and_reports_counts(app, frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 40, expires_at=frozen_clock() + dt.timedelta(hours=1))
    db.session.remove()
    frozen_clock.advance(hours=2)
    result = app.test_cli_runner().invoke(args=["loyalty", "expire"])
    assert result.exit_code == 0, result.output
    assert "expired 40 points in 1 lots" in result.output


def test_verify_command_passes_on_a_whole_ledger(app, frozen_clock, make_customer):
    loyalty.earn_points(make_customer(), 10)
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["loyalty", "verify"])
    assert result.exit_code == 0
    assert "passed" in result.output


def test_verify_command_exits_non_zero_and_names_the_drift(app, frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 10)
    db.session.execute(sa.update(models.PointsLot).values(remaining=3))
    db.session.commit()
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["loyalty", "verify"])
    assert result.exit_code == 1
    assert "balance_is_lots" in result.output
    assert "FAILED" in result.output


def test_dashboard_rollup_command_rolls_up_ids_seen_a_settling_time_ago(
    app, frozen_clock, make_customer
):
    loyalty.earn_points(make_customer(), 10)
    db.session.remove()
    runner = app.test_cli_runner()
    assert (
        "ledger_entry rolled up to id 0"
        in runner.invoke(args=["loyalty", "dashboard-rollup"]).output
    )
    frozen_clock.advance(minutes=11)
    result = runner.invoke(args=["loyalty", "dashboard-rollup"])
    assert result.exit_code == 0, result.output
    entry = db.session.execute(sa.select(sa.func.max(models.LedgerEntry.id))).scalar()
    assert f"ledger_entry rolled up to id {entry}" in result.output


def test_dashboard_rollup_rebuild_empties_the_rollups_and_starts_again(
    app, frozen_clock, make_customer
):
    loyalty.earn_points(make_customer(), 10)
    db.session.remove()
    runner = app.test_cli_runner()
    runner.invoke(args=["loyalty", "dashboard-rollup"])
    frozen_clock.advance(minutes=11)
    runner.invoke(args=["loyalty", "dashboard-rollup"])
    result = runner.invoke(args=["loyalty", "dashboard-rollup", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert "ledger_entry rolled up to id 0" in result.output
    assert db.session.execute(sa.select(sa.func.count()).select_from(models.FlowDay)).scalar() == 0
