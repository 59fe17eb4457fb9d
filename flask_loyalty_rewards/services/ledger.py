"""The points ledger: lots, append-only entries, allocations, and the balance gate.

Rules kept here and nowhere else:

* every change of a customer's points first locks that customer's account row, so changes of one
  customer never interleave, and the account's cached ``balance`` moves in the same statement;
* spending takes the lots that expire soonest first (never-expiring last, ties by earn time then
  id), partly if need be, and records which lot paid how much (allocations);
* points returned by a cancellation go back to the lots they came from; if such a lot has
  expired or was revoked meanwhile, they are taken away again at once, visibly in the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import sqlalchemy as sa

from .. import clock, signals
from ..bounds import required_text
from ..errors import InvalidInput, NotEnoughPoints, NotFound
from ..i18n import gettext, ngettext
from ..models import NEVER, EntryKind
from ..models.events import EventType
from ..models.mixins import PointsLotMixin, has_points_left
from . import dialect, events
from .arguments import idempotency_key_argument, points_argument, text_argument
from .context import Context
from .idempotency import find_key, fingerprint, run_once, store_key
from .transaction import unit_of_work

if TYPE_CHECKING:
    from typing import Unpack

#: Lots read (and locked) at first when spending; most spends need one or two.
FIRST_BATCH = 16


@dataclass(frozen=True)
class PointsSummary:
    active: int
    pending: int
    #: (expires_at, points) of the soonest-expiring active points, soonest first.
    expiring: list[tuple[dt.datetime, int]]

    @property
    def next_expiry(self) -> tuple[dt.datetime, int] | None:
        return self.expiring[0] if self.expiring else None


@dataclass(frozen=True)
class RevokeResult:
    """What a refunded order's revocation did: points taken back and points already gone."""

    revoked: int
    already_spent: int
    already_expired: int

    def to_json(self) -> str:
        return json.dumps(
            {"revoked": self.revoked, "spent": self.already_spent, "expired": self.already_expired}
        )

    @classmethod
    def from_json(cls, text: str) -> RevokeResult:
        data = json.loads(text)
        return cls(data["revoked"], data["spent"], data["expired"])


@dataclass(frozen=True)
class Draw:
    lot_id: int
    points: int
    remaining_after: int


# -- reading ----------------------------------------------------------------------------------


def unspendable_points(
    lot: sa.FromClause, customer_id: Any, now: Any
) -> tuple[sa.Select[Any], ...]:
    """Sums of points in the balance that cannot be spent now: past their expiry, still pending."""
    open_lot = sa.and_(lot.c.customer_id == customer_id, has_points_left(lot.c.remaining))
    points = sa.func.coalesce(sa.func.sum(lot.c.remaining), sa.literal_column("0"))
    overdue = sa.select(points).where(open_lot, lot.c.spend_order_at <= now)
    pending = sa.select(points).where(open_lot, lot.c.available_from > now)
    return overdue, pending


def _unspendable(
    ctx: Context, customer_id: Any, now: dt.datetime, *, lock: bool = False
) -> tuple[Any, Any]:
    """Scalar subqueries: points in the balance past their expiry, and points still pending."""
    overdue, pending = unspendable_points(ctx.models.PointsLot.__table__, customer_id, now)
    if lock:
        overdue = ctx.locked(overdue, aggregate=True)
        pending = ctx.locked(pending, aggregate=True)
    return overdue.scalar_subquery(), pending.scalar_subquery()


def balances(
    ctx: Context, customer_id: Any, now: dt.datetime, *, lock: bool = False
) -> tuple[int, int]:
    """(cached balance, points in it that are not spendable now: pending or past expiry)."""
    account = ctx.models.Account.__table__
    balance = sa.select(account.c.balance).where(account.c.customer_id == customer_id)
    overdue, pending = _unspendable(ctx, customer_id, now, lock=lock)
    row = ctx.session.execute(sa.select(balance.scalar_subquery(), overdue, pending)).one()
    return int(row[0] or 0), int(row[1]) + int(row[2])


def active_points(ctx: Context, customer_id: Any, now: dt.datetime | None = None) -> int:
    cached, unavailable = balances(ctx, customer_id, now or clock.now())
    return cached - unavailable


def summary(
    ctx: Context, customer_id: Any, now: dt.datetime | None = None, limit: int = 5
) -> PointsSummary:
    now = now or clock.now()
    lot = ctx.models.PointsLot
    cached, unavailable = balances(ctx, customer_id, now)
    pending = ctx.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(lot.remaining), 0)).where(
            lot.customer_id == customer_id,
            has_points_left(lot.remaining),
            lot.available_from > now,
            lot.spend_order_at > now,
        )
    ).scalar_one()
    rows = ctx.session.execute(
        sa.select(lot.expires_at, sa.func.sum(lot.remaining))
        .where(
            lot.customer_id == customer_id,
            has_points_left(lot.remaining),
            lot.expires_at.is_not(None),
            lot.spend_order_at > now,
            sa.or_(lot.available_from.is_(None), lot.available_from <= now),
        )
        .group_by(lot.expires_at)
        .order_by(lot.expires_at)
        .limit(limit)
    ).all()
    return PointsSummary(
        active=cached - unavailable,
        pending=int(pending),
        expiring=[(when, int(points)) for when, points in rows if when is not None],
    )


# -- the account row: the lock every change takes first ---------------------------------------


def ensure_account(ctx: Context, customer_id: Any, now: dt.datetime) -> None:
    ctx.insert_ignore(
        ctx.models.Account.__table__,
        {"customer_id": customer_id, "balance": 0, "updated_at": now},
    )


def spending_gate(account: sa.Table, customer_id: Any, points: Any, now: Any) -> sa.Update:
    """The conditional write against double spending: take ``points`` only if they are there."""
    return (
        sa.update(account)
        .where(account.c.customer_id == customer_id, account.c.balance >= points)
        .values(balance=account.c.balance - points, updated_at=now)
    )


def _gate(ctx: Context, customer_id: Any, delta: int, now: dt.datetime) -> sa.Update:
    account = ctx.models.Account.__table__
    if delta < 0:
        return spending_gate(account, customer_id, -delta, now)
    return (
        sa.update(account)
        .where(account.c.customer_id == customer_id)
        .values(balance=account.c.balance + delta, updated_at=now)
    )


def move_balance(ctx: Context, customer_id: Any, delta: int, now: dt.datetime) -> bool:
    """Add ``delta`` to the cached balance, locking the account; refuse to go below zero.

    This conditional write is the gate against double spending: under concurrency the database
    re-checks ``balance >= cost`` against the newest row after waiting for the lock.
    """
    return bool(ctx.write(_gate(ctx, customer_id, delta, now)))


def lock_account(ctx: Context, customer_id: Any, now: dt.datetime) -> None:
    """Lock the customer's account row, creating it if need be.

    On MariaDB one upsert does both (:func:`.dialect.account_lock`). Elsewhere the lock
    is an UPDATE, not a locking read, on purpose: it gives the row a new version, which the
    one-statement redemption on PostgreSQL checks (:mod:`.redemption.one_statement_pg`).
    """
    upsert = dialect.account_lock(ctx.dialect, ctx.models.Account.__table__, customer_id, now)
    if upsert is not None:
        ctx.session.execute(upsert)
        return
    ensure_account(ctx, customer_id, now)
    move_balance(ctx, customer_id, 0, now)


# -- entries ----------------------------------------------------------------------------------


class EntryColumns(TypedDict, total=False):
    """The columns of a ledger entry that some entries leave empty."""

    reason: str | None
    reference: str | None
    actor: str | None
    lot_id: int | None
    redeemed_reward_id: int | None
    reverses_entry_id: int | None


def add_entry(
    ctx: Context,
    customer_id: Any,
    kind: EntryKind,
    delta: int,
    now: dt.datetime,
    *,
    draws: list[Draw] | None = None,
    **columns: Unpack[EntryColumns],
) -> int:
    """Append an entry (and its allocations, moving the lots it draws on); returns its id."""
    entry = ctx.models.LedgerEntry.__table__
    result = ctx.session.execute(
        sa.insert(entry).values(
            customer_id=customer_id, kind=kind, delta=delta, created_at=now, **columns
        )
    )
    entry_id = int(result.inserted_primary_key[0])  # type: ignore[attr-defined]
    if draws:
        allocation = ctx.models.Allocation.__table__
        ctx.session.execute(
            sa.insert(allocation),
            [{"entry_id": entry_id, "lot_id": d.lot_id, "points": d.points} for d in draws],
        )
        lot = ctx.models.PointsLot.__table__
        ctx.session.execute(
            sa.update(lot)
            .where(lot.c.id == sa.bindparam("b_id"))
            .values(remaining=sa.bindparam("b_rem")),
            [{"b_id": d.lot_id, "b_rem": d.remaining_after} for d in draws],
        )
    return entry_id


def spending_order(lot: sa.FromClause) -> tuple[sa.ColumnElement[Any], ...]:
    """Soonest expiry first (never-expiring lots sort last), then earn time, then id."""
    return (lot.c.spend_order_at, lot.c.earned_at, lot.c.id)


def spendable_lots(lot: sa.FromClause, customer_id: Any, now: Any) -> sa.Select[Any]:
    """The customer's lots that can pay now, in spending order."""
    order = spending_order(lot)
    return (
        sa.select(lot.c.id, lot.c.remaining, *order)
        .where(
            lot.c.customer_id == customer_id,
            has_points_left(lot.c.remaining),
            lot.c.spend_order_at > now,
            sa.or_(lot.c.available_from.is_(None), lot.c.available_from <= now),
        )
        .order_by(*order)
    )


def draw_fifo(ctx: Context, customer_id: Any, points: int, now: dt.datetime) -> list[Draw]:
    """Choose the lots that pay ``points``: soonest expiry first, reading no more than needed.

    The caller holds the account lock; lots are locked as they are read, in spending order.
    """
    lot = ctx.models.PointsLot.__table__
    order = spending_order(lot)
    base = spendable_lots(lot, customer_id, now)
    draws: list[Draw] = []
    owed = points
    after: tuple[Any, ...] | None = None
    batch = FIRST_BATCH
    while owed > 0:
        stmt = base.limit(batch)
        if after is not None:
            stmt = stmt.where(sa.tuple_(*order) > sa.tuple_(*after))
        rows = ctx.session.execute(ctx.locked(stmt)).all()
        for row in rows:
            take = min(owed, int(row.remaining))
            draws.append(Draw(int(row.id), take, int(row.remaining) - take))
            owed -= take
            if owed == 0:
                break
        if len(rows) < batch:
            break
        after = (rows[-1].spend_order_at, rows[-1].earned_at, rows[-1].id)
        batch *= 4
    if owed > 0:
        raise _short(ctx, customer_id, points, now)
    return draws


def _short(ctx: Context, customer_id: Any, cost: int, now: dt.datetime) -> NotEnoughPoints:
    active = active_points(ctx, customer_id, now)
    return NotEnoughPoints(max(1, cost - active), cost=cost, active_points=active)


def spend_gate(ctx: Context, customer_id: Any, points: int, now: dt.datetime) -> int:
    """Reserve ``points`` of active points; returns the customer's active points afterwards.

    The caller then draws the lots (:func:`draw_fifo`) and books the entry (:func:`add_entry`).
    On PostgreSQL the gate returns what is not spendable in the same statement.
    """
    if dialect.gate_returns_rows(ctx.dialect):
        account = ctx.models.Account.__table__
        stmt = _gate(ctx, customer_id, -points, now).returning(
            account.c.balance, *_unspendable(ctx, customer_id, now)
        )
        row = ctx.session.execute(stmt).first()
        if row is None:
            raise _short(ctx, customer_id, points, now)
        cached, unavailable = int(row[0]), int(row[1]) + int(row[2])
    else:
        if not move_balance(ctx, customer_id, -points, now):
            raise _short(ctx, customer_id, points, now)
        cached, unavailable = balances(ctx, customer_id, now, lock=True)
    return checked_after_gate(points, cached - unavailable)


def checked_after_gate(points: int, active_after: int) -> int:
    """Refuse a spend that passed the gate only thanks to pending or overdue points.

    The gate compares the cached balance, which counts those points too.
    """
    if active_after < 0:
        active_before = active_after + points
        raise NotEnoughPoints(-active_after, cost=points, active_points=active_before)
    return active_after


def spend(
    ctx: Context,
    customer_id: Any,
    points: int,
    now: dt.datetime,
    *,
    kind: EntryKind = EntryKind.SPEND,
    **entry: Unpack[EntryColumns],
) -> int:
    """Take ``points`` of active points in one go; returns the active points afterwards."""
    after = spend_gate(ctx, customer_id, points, now)
    draws = draw_fifo(ctx, customer_id, points, now)
    add_entry(ctx, customer_id, kind, -points, now, draws=draws, **entry)
    return after


def give_back(
    ctx: Context, spend_entry: Any, now: dt.datetime, *, actor: str | None, reason: str | None
) -> int:
    """Return a spend's points to the lots it took them from; returns the points returned.

    Points that land in a lot that has expired or was revoked meanwhile leave again at once
    with an expire or revoke entry, so nobody gets back points they could no longer have had.
    """
    allocation = ctx.models.Allocation.__table__
    lot_model = ctx.models.PointsLot
    taken = ctx.session.execute(
        sa.select(allocation.c.lot_id, sa.func.sum(allocation.c.points))
        .where(allocation.c.entry_id == spend_entry.id)
        .group_by(allocation.c.lot_id)
        .order_by(allocation.c.lot_id)
    ).all()
    if not taken:
        return 0
    customer_id = spend_entry.customer_id
    total = -int(spend_entry.delta)
    move_balance(ctx, customer_id, total, now)
    lots = {
        lot.id: lot
        for lot in ctx.session.execute(
            ctx.locked(
                sa.select(lot_model)
                .where(lot_model.id.in_([row[0] for row in taken]))
                .order_by(lot_model.id)
                .execution_options(populate_existing=True)
            )
        ).scalars()
    }
    refunds = []
    gone: dict[EntryKind, list[Draw]] = {EntryKind.EXPIRE: [], EntryKind.REVOKE: []}
    for lot_id, points in taken:
        lot = lots[lot_id]
        points = int(points)
        refunds.append(Draw(lot_id, points, lot.remaining + points))
        if lot.revoked_at is not None:
            gone[EntryKind.REVOKE].append(Draw(lot_id, points, lot.remaining))
        elif lot.expired_at is not None or lot.spend_order_at <= now:
            gone[EntryKind.EXPIRE].append(Draw(lot_id, points, lot.remaining))
    common = {"actor": actor, "redeemed_reward_id": spend_entry.redeemed_reward_id}
    add_entry(
        ctx,
        customer_id,
        EntryKind.REFUND,
        total,
        now,
        reason=reason,
        reverses_entry_id=spend_entry.id,
        draws=refunds,
        **common,
    )
    for kind, draws in gone.items():
        if draws:
            points_gone = sum(d.points for d in draws)
            move_balance(ctx, customer_id, -points_gone, now)
            add_entry(
                ctx,
                customer_id,
                kind,
                -points_gone,
                now,
                reason="returned to a lot that had already "
                + ("expired" if kind is EntryKind.EXPIRE else "been revoked"),
                draws=draws,
                **common,
            )
    return total


# -- earning and taking back ------------------------------------------------------------------


def check_lot_dates(
    now: dt.datetime, expires_at: dt.datetime | None, available_from: dt.datetime | None
) -> None:
    """The dates a new lot may have: an expiry in the future, pending ending before it."""
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(gettext("The expiry must be in the future."))
    if expires_at is not None and expires_at >= NEVER:
        raise InvalidInput(
            gettext("The expiry is too far in the future; leave it empty for no expiry.")
        )
    if available_from is not None and expires_at is not None and available_from >= expires_at:
        raise InvalidInput(gettext("The points must become available before they expire."))


def add_lot(
    ctx: Context,
    customer_id: Any,
    points: int,
    now: dt.datetime,
    *,
    expires_at: dt.datetime | None,
    reason: str | None,
    actor: str | None,
    available_from: dt.datetime | None = None,
    reference: str | None = None,
    kind: EntryKind = EntryKind.EARN,
) -> PointsLotMixin:
    """Book a new lot with its entry and its event; the caller holds the account lock."""
    lot = ctx.models.PointsLot(
        customer_id=customer_id,
        amount=points,
        remaining=points,
        earned_at=now,
        available_from=available_from,
        expires_at=expires_at,
        spend_order_at=expires_at or NEVER,
        reason=reason,
        reference=reference,
    )
    ctx.session.add(lot)
    ctx.session.flush()
    move_balance(ctx, customer_id, points, now)
    add_entry(
        ctx,
        customer_id,
        kind,
        points,
        now,
        reason=reason,
        reference=reference,
        actor=actor,
        lot_id=lot.id,
    )
    if kind is EntryKind.ADJUST:
        _record_adjusted(
            ctx,
            customer_id,
            now,
            points,
            lot_id=lot.id,
            expires_at=expires_at,
            reason=reason,
            actor=actor,
        )
    else:
        events.record(
            ctx,
            EventType.POINTS_EARNED,
            customer_id,
            now,
            {
                "lot_id": lot.id,
                "points": points,
                "expires_at": expires_at,
                "available_from": available_from,
                "reason": reason,
                "reference": reference,
                "actor": actor,
            },
        )
    ctx.after_commit.append(
        signals.later(
            signals.points_earned, ctx.app, customer_id=customer_id, lot=lot, points=points
        )
    )
    return lot


def _record_adjusted(
    ctx: Context,
    customer_id: Any,
    now: dt.datetime,
    points: int,
    *,
    lot_id: int | None,
    expires_at: dt.datetime | None,
    reason: str | None,
    actor: str | None,
) -> None:
    """The event of an admin's correction: a lot added (``points`` > 0) or points deducted."""
    data = {
        "points": points,
        "lot_id": lot_id,
        "expires_at": expires_at,
        "reason": reason,
        "actor": actor,
    }
    events.record(ctx, EventType.POINTS_ADJUSTED, customer_id, now, data)


def locked_lot(ctx: Context, lot_id: int) -> PointsLotMixin:
    """A lot re-read and row-locked; the caller holds the account lock (:func:`lock_account`)."""
    model = ctx.models.PointsLot
    stmt = sa.select(model).where(model.id == lot_id).execution_options(populate_existing=True)
    lot: PointsLotMixin = ctx.session.execute(ctx.locked(stmt)).scalar_one()
    return lot


def revoke_from_lot(
    ctx: Context,
    customer_id: Any,
    lot: PointsLotMixin,
    points: int,
    now: dt.datetime,
    *,
    reason: str,
    actor: str | None,
) -> None:
    """Take ``points`` (at most what is left in it) back from one lot; the caller holds the lock."""
    move_balance(ctx, customer_id, -points, now)
    add_entry(
        ctx,
        customer_id,
        EntryKind.REVOKE,
        -points,
        now,
        reason=reason,
        reference=lot.reference,
        actor=actor,
        draws=[Draw(lot.id, points, lot.remaining - points)],
    )
    ctx.after_commit.append(
        signals.later(
            signals.points_revoked, ctx.app, customer_id=customer_id, points=points, lot=lot
        )
    )


def earn_points(
    ctx: Context,
    customer: Any,
    points: int,
    *,
    expires_at: dt.datetime | None = None,
    available_from: dt.datetime | None = None,
    reason: str | None = None,
    reference: str | None = None,
    idempotency_key: str | None = None,
    actor: str | None = None,
) -> PointsLotMixin:
    """Give a customer points (one new lot); a retry under the same key replays.

    Raises: InvalidInput, NotFound (no such customer), IdempotencyConflict (the key earned a
    different number of points).
    """
    now = clock.now()
    points = points_argument(points)
    expires_at = clock.optional_aware(expires_at, "expires_at")
    available_from = clock.optional_aware(available_from, "available_from")
    check_lot_dates(now, expires_at, available_from)
    reason = text_argument(reason, "reason")
    reference = text_argument(reference, "reference")
    actor = text_argument(actor, "actor")
    key = idempotency_key_argument(idempotency_key)
    customer_id = ctx.customer_id(customer)
    # A retry often works its dates out again from "now"; only a different number of points
    # makes it a different request. The first request's dates stay.
    request_fingerprint = fingerprint(points=points, kind=EntryKind.EARN.value)
    lot_model = ctx.models.PointsLot

    def work() -> PointsLotMixin:
        lock_account(ctx, customer_id, now)
        lot = add_lot(
            ctx,
            customer_id,
            points,
            now,
            available_from=available_from,
            expires_at=expires_at,
            reason=reason,
            reference=reference,
            actor=actor,
        )
        if key is not None:
            store_key(ctx, customer_id, "earn", key, request_fingerprint, result_id=lot.id)
        return lot

    def replay(existing: Any) -> PointsLotMixin:
        lot = ctx.session.get(lot_model, existing.result_id)
        assert lot is not None
        return lot

    return run_once(ctx, customer_id, "earn", key, request_fingerprint, work, replay).value


def revoke_points(
    ctx: Context, customer: Any, idempotency_key: str, *, reason: str, actor: str | None = None
) -> RevokeResult:
    """Take back what is left of the points earned under ``idempotency_key`` (a refunded order).

    Runs once: asking again replays the first answer. Points already spent or expired are
    reported, never taken from other lots, so the balance never goes negative.

    Raises: InvalidInput, NotFound (no such customer, or nothing was earned under the key).
    """
    now = clock.now()
    key = idempotency_key_argument(idempotency_key)
    if key is None:
        raise InvalidInput("idempotency_key is required to find the earned points")
    reason = required_text(reason, "reason")
    actor = text_argument(actor, "actor")
    customer_id = ctx.customer_id(customer)
    earned = find_key(ctx, customer_id, "earn", key)
    if earned is None:
        raise NotFound("no points were earned under this idempotency key", idempotency_key=key)

    def work() -> RevokeResult:
        lock_account(ctx, customer_id, now)
        lot = locked_lot(ctx, earned.result_id)
        revoked = lot.remaining
        if revoked:
            revoke_from_lot(ctx, customer_id, lot, revoked, now, reason=reason, actor=actor)
        lot.revoked_at = now
        result = revocation(ctx, lot.id, revoked)
        record_revocation(ctx, customer_id, lot, result, now, reason=reason, actor=actor)
        store_key(
            ctx, customer_id, "revoke", key, request_fingerprint, result_json=result.to_json()
        )
        return result

    request_fingerprint = fingerprint(key=key)
    return run_once(
        ctx,
        customer_id,
        "revoke",
        key,
        request_fingerprint,
        work,
        lambda existing: RevokeResult.from_json(existing.result_json),
    ).value


def revocation(ctx: Context, lot_id: int, revoked: int) -> RevokeResult:
    """``revoked`` points taken back from a lot, with the net points it lost to spending and to
    expiry so far (those are reported, never taken back)."""
    allocation = ctx.models.Allocation.__table__
    entry = ctx.models.LedgerEntry.__table__
    rows = ctx.session.execute(
        sa.select(entry.c.kind, sa.func.sum(allocation.c.points))
        .join(entry, entry.c.id == allocation.c.entry_id)
        .where(allocation.c.lot_id == lot_id)
        .group_by(entry.c.kind)
    ).all()
    by_kind = {EntryKind(k) if not isinstance(k, EntryKind) else k: int(v) for k, v in rows}
    spent = (
        by_kind.get(EntryKind.SPEND, 0)
        + by_kind.get(EntryKind.ADJUST, 0)
        - by_kind.get(EntryKind.REFUND, 0)
    )
    return RevokeResult(revoked, spent, by_kind.get(EntryKind.EXPIRE, 0))


def record_revocation(
    ctx: Context,
    customer_id: Any,
    lot: PointsLotMixin,
    result: RevokeResult,
    now: dt.datetime,
    *,
    reason: str | None,
    actor: str | None,
) -> None:
    """The event of points taken back from an earned lot (a refunded order, a revoked key)."""
    data = {
        "lot_id": lot.id,
        "points": result.revoked,
        "already_spent": result.already_spent,
        "already_expired": result.already_expired,
        "reason": reason,
        "reference": lot.reference,
        "actor": actor,
    }
    events.record(ctx, EventType.POINTS_REVOKED, customer_id, now, data)


def adjust_points(
    ctx: Context,
    customer: Any,
    delta: int,
    *,
    reason: str,
    actor: str | None = None,
    expires_at: dt.datetime | None = None,
) -> int:
    """An admin's correction: a positive delta adds a lot, a negative one spends FIFO.

    Returns the customer's active points afterwards.

    Raises: InvalidInput (a bad delta or reason), NotFound (no such customer), NotEnoughPoints
    (its message: the balance is too small for the deduction, larger than the active points).
    """
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidInput("delta must be a non-zero whole number", delta="not a whole number")
    points = points_argument(abs(delta), "delta")
    reason = required_text(reason, "reason")
    now = clock.now()
    if delta > 0:
        expires_at = clock.optional_aware(expires_at, "expires_at")
        check_lot_dates(now, expires_at, None)
    actor = text_argument(actor, "actor")
    customer_id = ctx.customer_id(customer)
    if delta > 0:
        with unit_of_work(ctx):
            lock_account(ctx, customer_id, now)
            add_lot(
                ctx,
                customer_id,
                points,
                now,
                expires_at=expires_at,
                reason=reason,
                actor=actor,
                kind=EntryKind.ADJUST,
            )
        return active_points(ctx, customer_id)
    try:
        with unit_of_work(ctx):
            ensure_account(ctx, customer_id, now)
            after = spend(
                ctx, customer_id, points, now, kind=EntryKind.ADJUST, reason=reason, actor=actor
            )
            _record_adjusted(
                ctx,
                customer_id,
                now,
                -points,
                lot_id=None,
                expires_at=None,
                reason=reason,
                actor=actor,
            )
    except NotEnoughPoints as short:
        active = short.details["active_points"]
        raise NotEnoughPoints(
            short.points_needed,
            cost=points,
            active_points=active,
            message=ngettext(
                "The balance of %(active)s active points is too small for a deduction of "
                "%(num)s points.",
                "The balance of %(active)s active points is too small for a deduction of "
                "%(num)s points.",
                points,
                active=active,
            ),
        ) from None
    return after
