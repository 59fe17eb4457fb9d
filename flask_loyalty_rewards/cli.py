"""``flask loyalty ...``: the scheduled jobs and the ledger check."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from .bounds import MAX_COUNT, parse_whole
from .state import get_state


class WholeNumber(click.ParamType[int]):
    """A positive whole number in ASCII digits (``click.INT`` takes any script's digits)."""

    name = "integer"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        number = value if isinstance(value, int) else parse_whole(value)
        if number is None or not 1 <= number <= MAX_COUNT:
            self.fail(f"{value!r} is not a whole number from 1 to {MAX_COUNT}", param, ctx)
        return number


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

    @group.command("cashback-sync")
    @click.option(
        "--limit",
        type=WholeNumber(),
        default=100,
        show_default=True,
        help="Most payouts in this run.",
    )
    def cashback_sync_command(limit: int) -> None:
        """Send cashback payouts that are due and check pending ones (run it every minute).

        Safe to run on several servers at once: each payout is claimed by one of them.
        """
        from .cashback.payouts import sync

        report = sync(get_state().current_context(), limit=limit)
        states = "".join(f", {n} {name}" for name, n in sorted(report.states.items()))
        click.echo(f"cashback-sync: {report.checked} payout(s) checked{states}")

    @group.command("remind-expiring")
    @click.option("--days", default=14, show_default=True, help="Announce points expiring within.")
    def remind_expiring_command(days: int) -> None:
        """Announce points that expire soon, once per lot (run it daily)."""
        from .services.reminders import remind_expiring

        result = remind_expiring(get_state().current_context(), days=days)
        click.echo(f"remind-expiring: {result.reminders} reminder(s), {result.points} points")

    @group.command("deliver-webhooks")
    @click.option("--limit", type=int, default=None, help="Most attempts in this run.")
    def deliver_webhooks_command(limit: int | None) -> None:
        """Send due webhook events to their endpoints (run it every minute, or in a loop).

        Safe to run on several servers at once on PostgreSQL and MariaDB; one on SQLite.
        """
        from .services.webhooks import deliver

        report = deliver(get_state().current_context(), limit=limit)
        outcomes = "".join(f", {n} {name}" for name, n in sorted(report.outcomes.items()))
        click.echo(
            f"deliver-webhooks: {report.dispatched} event(s) dispatched, "
            f"{report.attempts} attempt(s){outcomes}"
        )

    @group.command("dashboard-rollup")
    @click.option(
        "--rebuild", is_flag=True, help="Empty the rollups first; they fill again from the ids."
    )
    def dashboard_rollup_command(rebuild: bool) -> None:
        """Bring the dashboard's per-day rollups up to date (run it every few minutes).

        The dashboard does the same when it is viewed; run from cron, the job keeps the rows it
        reads live few. A mark moves only to ids seen at least ten minutes before.
        """
        from .services import dashboard

        ctx = get_state().current_context()
        if rebuild:
            dashboard.rebuild(ctx)
        marks = dashboard.catch_up(ctx)
        click.echo(
            "dashboard-rollup: "
            + ", ".join(
                f"{source} rolled up to id {mark}" for source, mark in sorted(marks.items())
            )
        )

    return group
