"""``flask loyalty ...``: the scheduled jobs and the ledger check."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from .extension import get_state


def create_cli() -> AppGroup:
    group = AppGroup("loyalty", help="Loyalty rewards: expiry, ledger checks.")

    @group.command("expire")
    def expire_command() -> None:
        """Expire points and coupons that are due (run it every few minutes)."""
        from .services.expiry import run_expiry

        result = run_expiry(get_state().current_context())
        click.echo(
            f"expired {result.points_expired} points in {result.lots_expired} lots; "
            f"activated {result.coupons_activated} and expired {result.coupons_expired} coupons"
        )

    @group.command("verify")
    def verify_command() -> None:
        """Check every ledger invariant; exits 1 and lists the drift if any."""
        from .services.verify import verify

        problems = verify(get_state().current_context())
        if problems:
            for problem in problems:
                click.echo(str(problem), err=True)
            click.echo(f"ledger check FAILED: {len(problems)} problem(s)", err=True)
            sys.exit(1)
        click.echo("ledger check passed: balances, lots and allocations agree")

    return group
