"""`flask loyalty expire` and `flask loyalty verify`."""

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
