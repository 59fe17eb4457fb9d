"""The dashboard's rollups: per-day sums of the append-only ledger and of the redemptions.

Rows are added to, never recomputed: each source row (a ledger entry, a redeemed reward) is
counted once, when the source's mark moves past its id (services/dashboard.py says when that
is safe). Nothing else writes these tables, and the figures they hold can be rebuilt from the
sources at any time (``flask loyalty dashboard-rollup --rebuild``).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .enums import EntryKind, RewardType
from .mixins import _enum, _LoyaltyTable, check, id_of
from .types import UTCDateTime


class FlowDayMixin(_LoyaltyTable):
    """The points of one UTC day's ledger entries of one kind and sign (``delta > 0``)."""

    __loyalty_table__ = "flow_day"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind), primary_key=True)
    positive: Mapped[bool] = mapped_column(sa.Boolean, primary_key=True)
    #: The sum of the entries' ``delta`` (negative for deductions).
    points: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    #: On SQLite the rows are stored in key order, so a range of days is read without look-ups.
    __table_args__ = {"sqlite_with_rowid": False}


class RedemptionDayMixin(_LoyaltyTable):
    """Every redemption of one UTC day, campaign and reward type, cancelled ones included.

    Cancelling changes an old reward, so cancelled rewards are taken off when the dashboard
    reads (an index serves them: coupon status Canceled), never out of these rows.
    """

    __loyalty_table__ = "redemption_day"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    campaign_id: Mapped[int] = id_of("campaign", primary_key=True)
    reward_type: Mapped[RewardType] = mapped_column(_enum(RewardType), primary_key=True)
    redemptions: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    points: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    __table_args__ = {"sqlite_with_rowid": False}


class RollupMarkMixin(_LoyaltyTable):
    """How far a rollup has read its source, by primary key.

    Source rows with ids up to ``rolled_to`` are in the rollup. ``seen_to`` was the newest id
    at ``seen_at``; once every transaction that could hold a smaller id has ended (a settling
    time later), the rollup moves on to it.
    """

    __loyalty_table__ = "rollup_mark"

    source: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    rolled_to: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    seen_to: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    __loyalty_args__ = (check("rollup_mark", "seen_to >= rolled_to"),)
