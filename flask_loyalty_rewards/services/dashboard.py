"""The programme's figures: aggregates over a bounded window, each served by an index.

Every figure is one ``GROUP BY`` over a time range (or, for the liability, over the open lots
and the accounts), so its cost follows the window, not the ledger's whole history. Periods are
UTC days, ISO weeks (from Monday) or calendar months, like every date the admin shows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .. import clock
from ..models import EntryKind, RewardType
from ..models.mixins import has_points_left
from .context import Context

#: Buckets shown for each period: 30 days, 12 weeks, 12 months.
WINDOWS = {"day": 30, "week": 12, "month": 12}
#: Liability falling due within these many days.
EXPIRY_HORIZONS = (30, 60, 90)
#: The ledger's flows as the dashboard names them (see :func:`flow_of`).
FLOWS = ("issued", "spent", "expired", "revoked")
TOP_CAMPAIGNS = 5


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


def bucket(dialect: str, column: Any, period: str) -> Any:
    """SQL for the first day of the period a UTC date-time falls in (read with :func:`as_date`).

    PostgreSQL groups by ``date_trunc`` itself (formatting every row as text costs a third of
    the query); the others by ``YYYY-MM-DD`` text.
    """
    if dialect == "postgresql":
        return sa.func.date_trunc(period, sa.func.timezone("UTC", column))
    if dialect in ("mysql", "mariadb"):
        if period == "day":
            return sa.func.date_format(column, "%Y-%m-%d")
        if period == "week":
            monday = sa.func.subdate(sa.func.date(column), sa.func.weekday(column))
            return sa.func.date_format(monday, "%Y-%m-%d")
        return sa.func.date_format(column, "%Y-%m-01")
    if period == "day":
        return sa.func.date(column)
    if period == "week":
        return sa.func.date(column, "weekday 0", "-6 days")
    return sa.func.strftime("%Y-%m-01", column)


def as_date(value: Any) -> dt.date:
    """A bucket's value (a datetime on PostgreSQL, ``YYYY-MM-DD`` text elsewhere) as a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def programme(ctx: Context, period: str = "day", now: dt.datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for the window of ``period`` ending now.

    Raises ``ValueError`` for a period other than day, week or month.
    """
    if period not in WINDOWS:
        raise ValueError(f"period must be one of {', '.join(WINDOWS)}")
    end = now or clock.now()
    buckets = periods(end, period)
    start = dt.datetime.combine(buckets[0], dt.time(), tzinfo=dt.timezone.utc)
    campaigns, by_type = _campaigns(ctx, start, end)
    return Dashboard(
        period=period,
        start=start,
        end=end,
        flows=_flows(ctx, period, start, end, buckets),
        liability=_liability(ctx),
        expiring=_expiring(ctx, end),
        campaigns=campaigns,
        by_type=by_type,
    )


def _flows(
    ctx: Context, period: str, start: dt.datetime, end: dt.datetime, buckets: list[dt.date]
) -> list[FlowRow]:
    entry = ctx.models.LedgerEntry
    when = bucket(ctx.dialect, entry.created_at, period).label("period")
    positive = (entry.delta > 0).label("positive")
    rows = ctx.session.execute(
        sa.select(when, entry.kind, positive, sa.func.sum(entry.delta))
        .where(entry.created_at >= start, entry.created_at <= end)
        .group_by(when, entry.kind, positive)
    ).all()
    sums: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLOWS, 0))
    for day, kind, is_positive, total in rows:
        flow = flow_of(kind, bool(is_positive))
        if flow is None:
            continue
        key = as_date(day)
        # Flows are shown as positive amounts: spent, expired and revoked entries are negative.
        sums[key][flow] += int(total) if flow == "issued" else -int(total)
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
    ctx: Context, start: dt.datetime, end: dt.datetime
) -> tuple[list[CampaignRow], dict[RewardType, int]]:
    """Redemptions (not cancelled) in the window per campaign and per reward type (as redeemed)."""
    rr, campaign = ctx.models.RedeemedReward, ctx.models.RewardCampaign
    rows = ctx.session.execute(
        sa.select(rr.campaign_id, rr.reward_type, sa.func.count(), sa.func.sum(rr.cost_in_points))
        .where(rr.redeemed_at >= start, rr.redeemed_at <= end, rr.canceled_at.is_(None))
        .group_by(rr.campaign_id, rr.reward_type)
    ).all()
    per_type = dict.fromkeys(RewardType, 0)
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for campaign_id, kind, count, points in rows:
        per_type[kind] += int(count)
        counts[campaign_id][0] += int(count)
        counts[campaign_id][1] += int(points or 0)
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
