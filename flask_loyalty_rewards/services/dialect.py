"""Every place SQLite, PostgreSQL and MariaDB need different SQL, and why.

The services say what they need (a locking read, an insert that may find the row, a lock on an
account row); these functions say how each database does it. A service that picks between two
ways of working asks a question here (:func:`gate_returns_rows`) instead of naming a database.
Each takes the database's name as SQLAlchemy spells it (``Context.dialect``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session

from .. import sqlite as sqlite_transactions

SelectT = TypeVar("SelectT", bound=sa.Select[Any])

_MARIADB = ("mysql", "mariadb")


def locked(
    name: str, stmt: SelectT, *, aggregate: bool = False, skip_locked: bool = False
) -> SelectT:
    """A read that sees the newest committed rows and keeps them until commit.

    SQLite needs nothing (its transactions begin IMMEDIATE). PostgreSQL reads committed data
    per statement, so aggregates need no lock there (and may not take one). MariaDB's
    REPEATABLE READ snapshot may predate our lock, so every read of ledger state after the
    gate is a locking ("current") read.
    """
    if name == "sqlite" or (aggregate and name == "postgresql"):
        return stmt
    return stmt.with_for_update(skip_locked=skip_locked)


def current_read(name: str, stmt: SelectT) -> SelectT:
    """A read of rows committed after this transaction began, without holding them for long.

    MariaDB reads the transaction's old snapshot otherwise; a shared lock makes the read a
    "current read" (on rows that exist no gap lock is taken). The others read committed rows.
    """
    return stmt.with_for_update(read=True) if name in _MARIADB else stmt


def insert_ignore(name: str, table: sa.Table, values: dict[str, Any]) -> sa.Executable:
    """INSERT that silently does nothing when the row exists (run it with ``Context.write``)."""
    if name == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(table).values(**values).on_conflict_do_nothing()
    if name in _MARIADB:
        return mysql.insert(table).values(**values).prefix_with("IGNORE")
    raise RuntimeError(f"unsupported database dialect {name!r}")  # pragma: no cover


def insert_or_add(name: str, table: sa.Table, added: tuple[str, ...]) -> sa.Executable:
    """INSERT of rows (run it with a list of them) that adds the ``added`` columns to those of
    a row already there with the same primary key."""
    if name in _MARIADB:
        upsert = mysql.insert(table)
        return upsert.on_duplicate_key_update({c: table.c[c] + upsert.inserted[c] for c in added})
    if name in ("postgresql", "sqlite"):
        insert = postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
        return insert.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key],
            set_={c: table.c[c] + insert.excluded[c] for c in added},
        )
    raise RuntimeError(f"unsupported database dialect {name!r}")  # pragma: no cover


def utc_day(name: str, column: Any) -> Any:
    """SQL for the UTC day of a stored date-time (SQLite gives it as ``YYYY-MM-DD`` text).

    PostgreSQL stores an instant, so it is moved to UTC first; the others store UTC already.
    """
    if name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def begin_unit_of_work(
    name: str, session: Session, config: Mapping[str, Any], account: type[Any]
) -> None:
    """On SQLite, when we own its transactions (``LOYALTY_SQLITE_BEGIN_IMMEDIATE = "ours"``),
    take the write lock before the first read, so no read of ours goes stale."""
    if name == "sqlite" and config["LOYALTY_SQLITE_BEGIN_IMMEDIATE"] == "ours":
        sqlite_transactions.begin_unit_of_work(session, account)


def account_lock(
    name: str, account: sa.Table, customer_id: Any, now: dt.datetime
) -> sa.Executable | None:
    """The one statement that locks (and creates if need be) a customer's account row, where
    the database needs one; None: create the row, then lock it with an UPDATE.

    InnoDB: two transactions creating the row at once with INSERT IGNORE, then UPDATE, deadlock
    (each holds a shared lock the other's update waits for); an upsert takes the exclusive lock
    in one step, so the second one simply queues.
    """
    if name not in _MARIADB:
        return None
    return (
        mysql.insert(account)
        .values(customer_id=customer_id, balance=0, updated_at=now)
        .on_duplicate_key_update(updated_at=now)
    )


def gate_returns_rows(name: str) -> bool:
    """Whether the spending gate (an UPDATE) can also return what is not spendable, in the same
    statement: PostgreSQL's ``UPDATE ... RETURNING`` with subqueries; the others ask after."""
    return name == "postgresql"


def writes_with_statement_ctes(name: str) -> bool:
    """Whether a redemption can be one ``WITH`` statement whose parts write (gate, lots, rows:
    :mod:`.redemption.one_statement_pg`) and run in autocommit: PostgreSQL's data-modifying
    CTEs; the others go step by step."""
    return name == "postgresql"


def counts_slot_first(name: str) -> bool:
    """Whether a limited campaign's slot is counted before the reward row is inserted.

    PostgreSQL counts last, so the campaign row, shared by every customer, stays locked for the
    shortest time. Elsewhere the reward's foreign key share-locks that row, and a count after
    it would upgrade the lock, which deadlocks two redemptions that both hold it.
    """
    return name != "postgresql"


def skips_locked_rows_in_scans(name: str) -> bool:
    """Whether a ``SKIP LOCKED`` scan may pick the rows to lock itself.

    PostgreSQL skips locked rows in the scan, so each worker takes the next free ones. MariaDB's
    locking scans also lock the gaps between index records, which would hold up inserts: there
    a plain read picks candidates, and only those rows are locked, by key.
    """
    return name == "postgresql"


def estimated_rows(session: Any, table: sa.Table) -> int | None:
    """The planner's idea of a table's size, or None when the backend has none to give."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        value = session.execute(
            sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:name)"),
            {"name": table.fullname},
        ).scalar()
    elif name in _MARIADB:
        value = session.execute(
            sa.text(
                "SELECT table_rows FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name = :name"
            ),
            {"name": table.name},
        ).scalar()
    elif name == "sqlite":
        # ANALYZE (or PRAGMA optimize) leaves each index's row count in sqlite_stat1.
        has_stats = session.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        ).scalar()
        if not has_stats:
            return None
        stat = session.execute(
            sa.text("SELECT stat FROM sqlite_stat1 WHERE tbl = :name AND stat != '' LIMIT 1"),
            {"name": table.name},
        ).scalar()
        value = str(stat).split()[0] if stat else None
    else:
        return None
    return int(value) if value is not None and int(value) >= 0 else None


def counts_whole_tables(session: Any) -> bool:
    """Whether the admin's grid counts a whole table exactly when there is no estimate.

    SQLite keeps no estimate without ``ANALYZE`` and counts a table by walking its smallest
    index; the servers answer :func:`estimated_rows` from their statistics.
    """
    return bool(session.get_bind().dialect.name == "sqlite")
