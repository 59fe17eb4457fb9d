"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

from ..clock import ensure_aware


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend keeps.

    PostgreSQL stores ``timestamptz``; SQLite and MariaDB store naive UTC with microseconds.
    Naive values are refused: their zone would be a guess.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.DateTime(timezone=True))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = ensure_aware(value)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite returns text for raw expressions
            value = dt.datetime.fromisoformat(value)
        moment: dt.datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.timezone.utc)
        return moment.astimezone(dt.timezone.utc)


#: Decimal money with two places (tax value, reward value, cashback amounts).
Money = sa.Numeric(12, 2, asdecimal=True)

#: An order's amount as the host gives it: up to four decimal places (some currencies have three).
ORDER_AMOUNT = sa.Numeric(18, 4, asdecimal=True)

#: Ids of the tables that grow with every change (lots, entries, events): 64 bits, except on
#: SQLite, whose rowid alias must be exactly INTEGER to autoincrement.
BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

#: "Never expires" sorts after every real date; stored so that spending order uses a plain index.
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc)


def search_key_type(length: int) -> sa.types.TypeEngine[str]:
    """Text compared byte by byte (code point order) on every backend: a prefix is a range.

    Case folding is done before the value is stored (:mod:`..services.search`), so the column
    needs no case-insensitive collation, and a binary one makes ``key >= 'ann' AND key < 'ano'``
    exact and served by a plain B-tree index: PostgreSQL's "C" collation, MariaDB's
    ``utf8mb4_bin``, SQLite's default ``BINARY``.
    """
    return (
        sa.String(length)
        .with_variant(sa.String(length, collation="C"), "postgresql")
        .with_variant(
            mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
        )
    )
