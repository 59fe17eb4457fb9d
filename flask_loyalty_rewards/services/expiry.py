"""The scheduled job: expire points and coupons whose time has come.

Safe to run from several processes at once: each customer's lots are expired under that
customer's account lock and re-read after taking it, and each coupon moves with a conditional
write, so two runners never expire the same thing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .. import clock, signals
from ..models import CouponStatus, EntryKind, HistoryEvent
from ..models.events import EventType
from ..models.mixins import has_points_left
from . import events, ledger
from .context import Context
from .redemption import add_history
from .transaction import unit_of_work

BATCH = 200


@dataclass(frozen=True)
class ExpiryResult:
    points_expired: int = 0
    lots_expired: int = 0
    coupons_activated: int = 0
    coupons_expired: int = 0


def run_expiry(ctx: Context, now: dt.datetime | None = None) -> ExpiryResult:
    """Expire the points and coupons that are due (``flask loyalty expire``).

    Raises: InvalidInput.
    """
    now = clock.ensure_aware(now, "now") if now is not None else clock.now()
    points, lots = _expire_lots(ctx, now)
    activated = _move_coupons(ctx, now, CouponStatus.INACTIVE, CouponStatus.ACTIVE)
    expired = _move_coupons(ctx, now, CouponStatus.ACTIVE, CouponStatus.EXPIRED)
    return ExpiryResult(points, lots, activated, expired)


def _expire_lots(ctx: Context, now: dt.datetime) -> tuple[int, int]:
    lot = ctx.models.PointsLot.__table__
    total_points = total_lots = 0
    done: set[Any] = set()
    while True:
        customers = [
            c
            for c in ctx.session.execute(
                sa.select(lot.c.customer_id)
                .where(has_points_left(lot.c.remaining), lot.c.spend_order_at <= now)
                .group_by(lot.c.customer_id)
                .order_by(lot.c.customer_id)
                .limit(BATCH)
            ).scalars()
            if c not in done
        ]
        if not customers:
            return total_points, total_lots
        for customer_id in customers:
            done.add(customer_id)
            points, lots = _expire_customer(ctx, customer_id, now)
            total_points += points
            total_lots += lots


def _expire_customer(ctx: Context, customer_id: Any, now: dt.datetime) -> tuple[int, int]:
    lot = ctx.models.PointsLot.__table__
    with unit_of_work(ctx):
        ledger.lock_account(ctx, customer_id, now)
        due = ctx.session.execute(
            ctx.locked(
                sa.select(lot.c.id, lot.c.remaining, lot.c.expires_at)
                .where(
                    lot.c.customer_id == customer_id,
                    has_points_left(lot.c.remaining),
                    lot.c.spend_order_at <= now,
                )
                .order_by(lot.c.spend_order_at, lot.c.id)
            )
        ).all()
        points = sum(int(row.remaining) for row in due)
        if points:
            ledger.move_balance(ctx, customer_id, -points, now)
            ledger.add_entry(
                ctx,
                customer_id,
                EntryKind.EXPIRE,
                -points,
                now,
                reason="points expired",
                draws=[ledger.Draw(int(row.id), int(row.remaining), 0) for row in due],
            )
            ctx.session.execute(
                sa.update(lot).where(lot.c.id.in_([row.id for row in due])).values(expired_at=now)
            )
            lots = [
                {"lot_id": row.id, "points": row.remaining, "expires_at": row.expires_at}
                for row in due
            ]
            events.record(
                ctx,
                EventType.POINTS_EXPIRED,
                customer_id,
                now,
                {"points": points, "lots": lots},
            )
            app = ctx.app
            ctx.after_commit.append(
                signals.later(signals.points_expired, app, customer_id=customer_id, points=points)
            )
    return points, len(due)


def _move_coupons(ctx: Context, now: dt.datetime, old: CouponStatus, new: CouponStatus) -> int:
    model = ctx.models.RedeemedReward
    table = model.__table__
    if new is CouponStatus.ACTIVE:
        due: Any = sa.and_(table.c.coupon_status == old, table.c.active_from <= now)
    else:
        due = sa.and_(
            table.c.coupon_status == old,
            table.c.used.is_(False),
            table.c.active_to.is_not(None),
            table.c.active_to <= now,
        )
    moved = 0
    while True:
        ids = list(
            ctx.session.execute(
                sa.select(table.c.id).where(due).order_by(table.c.id).limit(BATCH)
            ).scalars()
        )
        if not ids:
            return moved
        changed: list[int] = []
        with unit_of_work(ctx):
            for rid in ids:
                # Conditional per row: a concurrent runner or admin may have moved it already.
                if ctx.write(
                    sa.update(table).where(table.c.id == rid, due).values(coupon_status=new)
                ):
                    changed.append(rid)
                    event = (
                        HistoryEvent.EXPIRED
                        if new is CouponStatus.EXPIRED
                        else HistoryEvent.ACTIVATED
                    )
                    add_history(ctx, rid, event, now, actor=None, from_value=old, to_value=new)
            if new is CouponStatus.EXPIRED and changed:
                app = ctx.app
                rows = list(
                    ctx.session.execute(sa.select(model).where(model.id.in_(changed)))
                    .unique()
                    .scalars()
                )

                for row in rows:
                    events.record(
                        ctx,
                        EventType.REWARD_EXPIRED,
                        row.customer_id,
                        now,
                        {**events.reward_data(row, actor=None), "active_to": row.active_to},
                    )
                ctx.after_commit.extend(
                    signals.later(signals.coupon_expired, app, redeemed=row) for row in rows
                )
        moved += len(changed)
