"""A customer's points history: every ledger entry, with the lots each one took from or gave to."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..models import NEVER, EntryKind
from .context import Context

#: Entries shown, newest first.
HISTORY_LIMIT = 100


@dataclass(frozen=True)
class LotShare:
    lot_id: int
    points: int
    #: None: the lot never expires.
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    kind: EntryKind
    delta: int
    reason: str | None
    reference: str | None
    redeemed_reward_id: int | None
    #: The lots a spend, expiry or revocation took from (or a cancellation gave back to).
    lots: list[LotShare]
    #: The expiry of the lot an earning created.
    expires_at: dt.datetime | None


def points_history(
    ctx: Context, customer_id: Any, limit: int = HISTORY_LIMIT
) -> list[HistoryEntry]:
    """The newest ``limit`` entries of a customer's ledger, in two queries."""
    entry = ctx.models.LedgerEntry.__table__
    lot = ctx.models.PointsLot.__table__
    allocation = ctx.models.Allocation.__table__
    rows = ctx.session.execute(
        sa.select(entry, lot.c.expires_at.label("lot_expires_at"))
        .outerjoin(lot, lot.c.id == entry.c.lot_id)
        .where(entry.c.customer_id == customer_id)
        .order_by(entry.c.created_at.desc(), entry.c.id.desc())
        .limit(limit)
    ).all()
    shares: dict[int, list[LotShare]] = defaultdict(list)
    if rows:
        for share in ctx.session.execute(
            sa.select(
                allocation.c.entry_id, allocation.c.lot_id, allocation.c.points, lot.c.expires_at
            )
            .join(lot, lot.c.id == allocation.c.lot_id)
            .where(allocation.c.entry_id.in_([row.id for row in rows]))
            .order_by(allocation.c.entry_id, lot.c.spend_order_at, allocation.c.lot_id)
        ):
            shares[share.entry_id].append(
                LotShare(int(share.lot_id), int(share.points), _expiry(share.expires_at))
            )
    return [
        HistoryEntry(
            at=row.created_at,
            kind=row.kind,
            delta=int(row.delta),
            reason=row.reason,
            reference=row.reference,
            redeemed_reward_id=row.redeemed_reward_id,
            lots=shares.get(row.id, []),
            expires_at=_expiry(row.lot_expires_at),
        )
        for row in rows
    ]


def _expiry(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None or value >= NEVER else value
