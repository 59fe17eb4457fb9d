"""Expiring-soon reminders: one ``points_expiring_soon`` per customer and expiry date.

A lot is announced at most once per window (``days``): the reminder row's unique key decides,
so a second run, or two runs at once, announce nothing again. Lots of one customer expiring
on the same day go out together; a lot that enters the window later gets its own reminder.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .. import clock, signals
from ..models.events import EventType
from ..models.mixins import has_points_left
from . import events
from .arguments import whole_argument
from .context import Context
from .transaction import unit_of_work


@dataclass(frozen=True)
class ReminderResult:
    reminders: int = 0
    points: int = 0


def remind_expiring(ctx: Context, days: int = 14, now: dt.datetime | None = None) -> ReminderResult:
    """Announce points expiring within ``days`` days that were not announced for that window."""
    days = whole_argument(days, "days", maximum=366)
    now = clock.ensure_aware(now, "now") if now is not None else clock.now()
    lot = ctx.models.PointsLot.__table__
    reminder = ctx.models.ExpiryReminder.__table__
    rows = ctx.session.execute(
        sa.select(lot.c.id, lot.c.customer_id, lot.c.remaining, lot.c.expires_at)
        .where(
            has_points_left(lot.c.remaining),
            lot.c.expires_at.is_not(None),
            lot.c.expires_at > now,
            lot.c.expires_at <= now + dt.timedelta(days=days),
            lot.c.expired_at.is_(None),
            lot.c.revoked_at.is_(None),
            ~sa.exists().where(reminder.c.lot_id == lot.c.id, reminder.c.days == days),
        )
        .order_by(lot.c.customer_id, lot.c.expires_at, lot.c.id)
    ).all()
    ctx.session.commit()
    groups: dict[tuple[Any, dt.date], list[Any]] = defaultdict(list)
    for row in rows:
        groups[(row.customer_id, row.expires_at.date())].append(row)
    result = ReminderResult()
    for (customer_id, _), lots in groups.items():
        sent = _remind(ctx, customer_id, lots, days, now)
        if sent:
            result = ReminderResult(result.reminders + 1, result.points + sent)
    return result


def _remind(ctx: Context, customer_id: Any, lots: list[Any], days: int, now: dt.datetime) -> int:
    """One customer's lots of one expiry date; returns the points announced (0: none new)."""
    table = ctx.models.ExpiryReminder.__table__
    with unit_of_work(ctx):
        fresh = [
            lot
            for lot in lots
            if ctx.insert_ignore(table, {"lot_id": lot.id, "days": days, "created_at": now})
        ]
        if not fresh:
            return 0
        points = sum(int(lot.remaining) for lot in fresh)
        expires_at = min(lot.expires_at for lot in fresh)
        data = {
            "points": points,
            "expires_at": expires_at,
            "days_before": days,
            "lots": [
                {"lot_id": lot.id, "points": int(lot.remaining), "expires_at": lot.expires_at}
                for lot in fresh
            ],
        }
        events.record(ctx, EventType.POINTS_EXPIRING_SOON, customer_id, now, data)
        ctx.after_commit.append(
            signals.later(
                signals.points_expiring_soon,
                ctx.app,
                customer_id=customer_id,
                points=points,
                expires_at=expires_at,
                days_before=days,
            )
        )
    return points
