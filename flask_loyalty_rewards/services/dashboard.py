"""The programme's figures: per-day rollups of what is settled, live sums of what is new.

The ledger is append-only and a redeemed reward's day, campaign, type and cost never change,
so their per-UTC-day sums (``FlowDay``, ``RedemptionDay``) are added to once and read
ever after. A rollup follows its source by primary key, not by date: a *mark* says which ids
are in it, and the dashboard adds the rows past the mark live. An entry written with a past
date (``run_expiry(now=...)``, a clock set back) has a new id, so it is counted whatever day
it names. The mark moves to the newest id once that id has been seen :data:`SETTLE` ago: a
transaction still open then could hold a smaller id that is not yet visible.

Moving a mark is one conditional UPDATE of its row (``WHERE rolled_to = <as read>``): of two
dashboard requests at once, one adds the rows and the other waits, finds the mark moved and
adds nothing. Cancelling a redemption changes an old reward, so the rollup counts every
redemption and the cancelled ones are taken off at read time.

Each read is its own snapshot on PostgreSQL and SQLite, so the marks are read again after the
figures: a mark moved in between (its rows read live and again in the rollup) reads them again.

Nothing here runs in the write paths: redemptions and earnings do not touch a rollup row.
Liability and what expires soon are read from the accounts and the open lots (a covering
index on PostgreSQL). Periods are UTC days, ISO weeks (from Monday) or calendar months.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .. import clock
from ..models import CouponStatus, EntryKind, RewardType
from ..models.mixins import has_points_left
from . import dialect
from .context import Context
from .transaction import unit_of_work

#: Buckets shown for each period: 30 days, 12 weeks, 12 months.
WINDOWS = {"day": 30, "week": 12, "month": 12}
#: Liability falling due within these many days.
EXPIRY_HORIZONS = (30, 60, 90)
#: The ledger's flows as the dashboard names them (see :func:`flow_of`).
FLOWS = ("issued", "spent", "expired", "revoked")
TOP_CAMPAIGNS = 5
#: How long a transaction may hold a ledger entry or a redemption uncommitted: a mark moves
#: only to an id seen as the newest at least this long ago.
SETTLE = dt.timedelta(minutes=10)


def flow_of(kind: EntryKind, positive: bool) -> str | None:
    """Which flow a ledger entry counts in: grants are issued points, deductions revoked ones.

    Spent is net of refunds (a cancelled redemption gives its points back).
    """
    if kind is EntryKind.EARN or (kind is EntryKind.ADJUST and positive):
        return "issued"
    if kind in (EntryKind.SPEND, EntryKind.REFUND):
        return "spent"
    if kind is EntryKind.EXPIRE:
        return "expired"
    if kind is EntryKind.REVOKE or kind is EntryKind.ADJUST:
        return "revoked"
    return None


@dataclass(frozen=True)
class FlowRow:
    period: dt.date
    issued: int
    spent: int
    expired: int
    revoked: int


@dataclass(frozen=True)
class CampaignRow:
    campaign_id: int
    name: str
    reward_type: RewardType
    redemptions: int
    points: int


@dataclass(frozen=True)
class Dashboard:
    period: str
    start: dt.datetime
    end: dt.datetime
    flows: list[FlowRow]
    liability: int
    expiring: dict[int, int]
    campaigns: list[CampaignRow]
    by_type: dict[RewardType, int]

    @property
    def totals(self) -> dict[str, int]:
        return {flow: sum(getattr(row, flow) for row in self.flows) for flow in FLOWS}

    @property
    def breakage_rate(self) -> float | None:
        """Expired points as a share of the points issued in the window (None: none issued)."""
        totals = self.totals
        return totals["expired"] / totals["issued"] if totals["issued"] else None

    @property
    def top_campaigns(self) -> list[CampaignRow]:
        """The campaigns redeemed most often in the window (``campaigns`` is in that order)."""
        return self.campaigns[:TOP_CAMPAIGNS]


def period_start(moment: dt.datetime, period: str) -> dt.datetime:
    """The start (UTC midnight) of the day, ISO week or month ``moment`` falls in."""
    day = moment.astimezone(dt.timezone.utc).date()
    if period == "week":
        day -= dt.timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


def periods(end: dt.datetime, period: str) -> list[dt.date]:
    """The window's buckets, oldest first, the last one holding ``end``."""
    current = period_start(end, period).date()
    buckets = [current]
    for _ in range(WINDOWS[period] - 1):
        if period == "day":
            current -= dt.timedelta(days=1)
        elif period == "week":
            current -= dt.timedelta(weeks=1)
        else:
            current = (current - dt.timedelta(days=1)).replace(day=1)
        buckets.append(current)
    return buckets[::-1]


def as_date(value: Any) -> dt.date:
    """A day as the database gave it (a date, or ``YYYY-MM-DD`` text on SQLite and in a
    MariaDB ``CASE``) as a date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def programme(ctx: Context, period: str = "day", now: dt.datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for the window of ``period`` ending today (whole UTC days).

    Moves the rollups on first (:func:`catch_up`). Raises ``ValueError`` for a period other
    than day, week or month.
    """
    if period not in WINDOWS:
        raise ValueError(f"period must be one of {', '.join(WINDOWS)}")
    end = now or clock.now()
    buckets = periods(end, period)
    start = dt.datetime.combine(buckets[0], dt.time(), tzinfo=dt.timezone.utc)
    flows, redemptions = rollups(ctx)
    marks = catch_up(ctx, end)
    while True:
        # Each read is its own snapshot (PostgreSQL, SQLite): a mark that moved meanwhile
        # could have put rows read live into the rollup too. Marks move once per SETTLE.
        campaigns, by_type = _campaigns(ctx, redemptions, start, marks.get(redemptions.name, 0))
        flow_rows = _flows(ctx, flows, period, start, buckets, marks.get(flows.name, 0))
        again = rolled_to(ctx)
        if again == marks:
            break
        marks = again
    return Dashboard(
        period=period,
        start=start,
        end=end,
        flows=flow_rows,
        liability=_liability(ctx),
        expiring=_expiring(ctx, end),
        campaigns=campaigns,
        by_type=by_type,
    )


# -- rollups ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    """A source table summed per UTC day of ``day`` and the ``keys`` into ``target``."""

    name: str
    source: sa.Table
    target: sa.Table
    day: sa.ColumnElement[Any]
    keys: dict[str, sa.ColumnElement[Any]]
    sums: dict[str, sa.ColumnElement[Any]]

    @property
    def id(self) -> sa.ColumnElement[Any]:
        column: sa.ColumnElement[Any] = self.source.c.id
        return column


def rollups(ctx: Context) -> tuple[Rollup, Rollup]:
    """The ledger's flows and the redemptions, each with its rollup table."""
    entry, rr = ctx.models.LedgerEntry.__table__, ctx.models.RedeemedReward.__table__
    flows = Rollup(
        name="ledger_entry",
        source=entry,
        target=ctx.models.FlowDay.__table__,
        day=entry.c.created_at,
        keys={"kind": entry.c.kind, "positive": entry.c.delta > 0},
        sums={"points": sa.func.sum(entry.c.delta)},
    )
    redemptions = Rollup(
        name="redeemed_reward",
        source=rr,
        target=ctx.models.RedemptionDay.__table__,
        day=rr.c.redeemed_at,
        keys={"campaign_id": rr.c.campaign_id, "reward_type": rr.c.reward_type},
        sums={"redemptions": sa.func.count(), "points": sa.func.sum(rr.c.cost_in_points)},
    )
    return flows, redemptions


def summed(ctx: Context, rollup: Rollup, *where: Any) -> list[dict[str, Any]]:
    """The source rows matching ``where``, summed per day and keys like the rollup's rows."""
    day = dialect.utc_day(ctx.dialect, rollup.day).label("day")
    keys = [column.label(name) for name, column in rollup.keys.items()]
    sums = [column.label(name) for name, column in rollup.sums.items()]
    rows = ctx.session.execute(
        sa.select(day, *keys, *sums).where(*where).group_by(day, *keys)
    ).mappings()
    return [_typed(rollup, dict(row)) for row in rows]


def stored(
    ctx: Context, rollup: Rollup, since: dt.date, buckets: list[dt.date] | None = None
) -> list[dict[str, Any]]:
    """The rollup's rows from ``since`` on, summed per bucket (a ``day``) or for the window.

    ``buckets`` are the periods' first days, oldest first; summing them in SQL spares reading a
    year of days per campaign.
    """
    target = rollup.target
    groups: list[Any] = [target.c[name] for name in rollup.keys]
    if buckets:
        latest_first = [(target.c.day >= b, sa.literal(b, sa.Date)) for b in reversed(buckets)]
        groups.insert(0, sa.case(*latest_first).label("day"))
    sums = [sa.func.sum(target.c[name]).label(name) for name in rollup.sums]
    rows = ctx.session.execute(
        sa.select(*groups, *sums).where(target.c.day >= since).group_by(*groups)
    ).mappings()
    return [_typed(rollup, dict(row)) for row in rows]


def _typed(rollup: Rollup, row: dict[str, Any]) -> dict[str, Any]:
    """A row with the target's Python types (MariaDB gives a comparison as 0/1, a CASE of dates
    as text; SQLite a comparison as 0/1)."""
    if "day" in row:
        row["day"] = as_date(row["day"])
    for name in rollup.sums:
        row[name] = int(row[name] or 0)
    if "positive" in row:
        row["positive"] = bool(row["positive"])
    return row


def live(
    ctx: Context, rollup: Rollup, mark: int, since: dt.date, *where: Any
) -> list[dict[str, Any]]:
    """The source rows past the mark from ``since`` on, summed like the rollup's rows.

    Read by primary key alone (the rows since the mark are few): a date condition could lead
    the planner to the date's index and a year of rows. The days are chosen here.
    """
    return [row for row in summed(ctx, rollup, _after(rollup, mark), *where) if row["day"] >= since]


def _after(rollup: Rollup, mark: int) -> sa.ColumnElement[bool]:
    """``id > mark`` with the mark written into the SQL: a range of the primary key.

    A literal, so PostgreSQL plans it for its value (a parameter's generic plan could scan).
    """
    return rollup.id > sa.literal(int(mark), sa.BigInteger, literal_execute=True)


def _marks(ctx: Context) -> dict[str, Any]:
    mark = ctx.models.RollupMark.__table__
    rows = ctx.session.execute(
        sa.select(mark.c.source, mark.c.rolled_to, mark.c.seen_to, mark.c.seen_at)
    )
    return {row.source: row for row in rows}


def rolled_to(ctx: Context) -> dict[str, int]:
    """Each rollup's mark: the ids up to it are in the rollup table."""
    return {source: int(row.rolled_to) for source, row in _marks(ctx).items()}


def catch_up(
    ctx: Context, now: dt.datetime | None = None, *, settle: dt.timedelta = SETTLE
) -> dict[str, int]:
    """Move each rollup's mark on where that is safe; returns the marks (see the module doc).

    A mark moves to the id it saw as the newest ``settle`` ago, adding the rows up to it, and
    sees the newest id again. ``settle`` may be zero only when no transaction can be writing
    (after a bulk load). One query when there is nothing to move.
    """
    now = now or clock.now()
    found = _marks(ctx)
    due = [r for r in rollups(ctx) if r.name not in found or now - found[r.name].seen_at >= settle]
    if not due:
        return {source: int(row.rolled_to) for source, row in found.items()}
    for rollup in due:
        _catch_up(ctx, rollup, found.get(rollup.name), now, settle)
    return rolled_to(ctx)


def _catch_up(
    ctx: Context, rollup: Rollup, found: Any, now: dt.datetime, settle: dt.timedelta
) -> None:
    mark = ctx.models.RollupMark.__table__
    newest = int(
        ctx.session.execute(sa.select(sa.func.coalesce(sa.func.max(rollup.id), 0))).scalar_one()
    )
    with unit_of_work(ctx):
        if found is None:
            ctx.insert_ignore(
                mark, {"source": rollup.name, "rolled_to": 0, "seen_to": newest, "seen_at": now}
            )
            if settle:
                return
            found = _marks(ctx)[rollup.name]
        moved = ctx.write(
            sa.update(mark)
            .where(
                mark.c.source == rollup.name,
                mark.c.rolled_to == found.rolled_to,
                mark.c.seen_to == found.seen_to,
            )
            .values(rolled_to=found.seen_to, seen_to=max(newest, found.seen_to), seen_at=now)
        )
        if moved and found.seen_to > found.rolled_to:
            rows = summed(ctx, rollup, _after(rollup, found.rolled_to), rollup.id <= found.seen_to)
            _add(ctx, rollup, rows)


def _add(ctx: Context, rollup: Rollup, rows: list[dict[str, Any]]) -> None:
    """Add ``rows`` to the rollup's: insert new days, add to the sums of existing ones."""
    if rows:
        stmt = dialect.insert_or_add(ctx.dialect, rollup.target, tuple(rollup.sums))
        ctx.session.execute(stmt, rows)


def rebuild(ctx: Context) -> None:
    """Empty the rollups and their marks: the next :func:`catch_up` starts them afresh."""
    with unit_of_work(ctx):
        for rollup in rollups(ctx):
            ctx.session.execute(sa.delete(rollup.target))
        ctx.session.execute(sa.delete(ctx.models.RollupMark.__table__))


# -- figures ----------------------------------------------------------------------------------


def _flows(
    ctx: Context,
    rollup: Rollup,
    period: str,
    start: dt.datetime,
    buckets: list[dt.date],
    mark: int,
) -> list[FlowRow]:
    rows = stored(ctx, rollup, start.date(), buckets) + live(ctx, rollup, mark, start.date())
    sums: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLOWS, 0))
    for row in rows:
        flow = flow_of(EntryKind(row["kind"]), row["positive"])
        if flow is None:
            continue
        key = period_start(
            dt.datetime.combine(row["day"], dt.time(), tzinfo=dt.timezone.utc), period
        ).date()
        # Flows are shown as positive amounts: spent, expired and revoked entries are negative.
        sums[key][flow] += row["points"] if flow == "issued" else -row["points"]
    return [FlowRow(day, **sums[day]) for day in buckets]


def _liability(ctx: Context) -> int:
    """Points customers hold (pending included): the sum of the cached balances."""
    account = ctx.models.Account
    total = ctx.session.execute(sa.select(sa.func.coalesce(sa.func.sum(account.balance), 0)))
    return int(total.scalar_one())


def _expiring(ctx: Context, now: dt.datetime) -> dict[int, int]:
    """Points of open lots that expire within each horizon from now (cumulative)."""
    lot = ctx.models.PointsLot
    cases = [
        sa.func.coalesce(
            sa.func.sum(
                sa.case(
                    (lot.spend_order_at < now + dt.timedelta(days=days), lot.remaining), else_=0
                )
            ),
            0,
        )
        for days in EXPIRY_HORIZONS
    ]
    row = ctx.session.execute(
        sa.select(*cases).where(
            has_points_left(lot.remaining),
            lot.spend_order_at >= now,
            lot.spend_order_at < now + dt.timedelta(days=max(EXPIRY_HORIZONS)),
        )
    ).one()
    return {days: int(value) for days, value in zip(EXPIRY_HORIZONS, row, strict=True)}


def _campaigns(
    ctx: Context, rollup: Rollup, start: dt.datetime, mark: int
) -> tuple[list[CampaignRow], dict[RewardType, int]]:
    """Redemptions (not cancelled) from ``start`` on per campaign and per type (as redeemed).

    Every redemption (the rollup's up to the mark, the newer ones live) less the cancelled
    ones, which are few: read from the partial index of cancelled rewards (from the coupon
    status index on MariaDB), by a condition that names both.
    """
    rr, campaign = rollup.source, ctx.models.RewardCampaign
    canceled = sa.and_(
        rr.c.canceled_at.is_not(None),
        rr.c.coupon_status == sa.literal_column(f"'{CouponStatus.CANCELED.value}'"),
    )
    since = start.date()
    # Cancelled ones first: one cancelled between the reads then counts as not yet cancelled.
    taken_off = [row for row in summed(ctx, rollup, canceled) if row["day"] >= since]
    redeemed = stored(ctx, rollup, since) + live(ctx, rollup, mark, since)
    per_type = dict.fromkeys(RewardType, 0)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for rows, sign in ((redeemed, 1), (taken_off, -1)):
        for row in rows:
            per_type[RewardType(row["reward_type"])] += sign * row["redemptions"]
            counts[row["campaign_id"]][0] += sign * row["redemptions"]
            counts[row["campaign_id"]][1] += sign * row["points"]
    counts = {cid: found for cid, found in counts.items() if found[0]}
    names = (
        ctx.session.execute(
            sa.select(campaign.id, campaign.name, campaign.reward_type).where(
                campaign.id.in_(counts)
            )
        ).all()
        if counts
        else []
    )
    found = [CampaignRow(cid, name, kind, *counts[cid]) for cid, name, kind in names]
    found.sort(key=lambda row: (-row.redemptions, row.name, row.campaign_id))
    return found, per_type
