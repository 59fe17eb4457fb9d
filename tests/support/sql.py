"""The SQL a test runs: recorded, and failed on purpose at a chosen statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa


class InjectedFault(Exception):
    """A failure the test injected (a dropped connection, a full disk)."""


@contextmanager
def statements(engine: sa.Engine, fail_at: int | None = None) -> Iterator[list[str]]:
    """Record the SQL statements run; raise at statement number ``fail_at`` (1-based)."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)
        if fail_at is not None and len(seen) == fail_at:
            raise InjectedFault(f"injected at statement {fail_at}: {statement[:60]}")

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@contextmanager
def round_trips(engine: sa.Engine) -> Iterator[list[str]]:
    """Record the statements sent through the driver and the transaction's own: the ``BEGIN``
    psycopg sends before the first statement of a transaction, and the ``COMMIT`` (none when
    nothing is open)."""
    seen: list[str] = []

    def sent(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if psycopg_idle(conn) and not conn.connection.driver_connection.autocommit:
            seen.append("BEGIN")
        seen.append(statement)

    def committed(conn: Any) -> None:
        if not psycopg_idle(conn):
            seen.append("COMMIT")

    sa.event.listen(engine, "before_cursor_execute", sent)
    sa.event.listen(engine, "commit", committed)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", sent)
        sa.event.remove(engine, "commit", committed)


def psycopg_idle(conn: sa.Connection) -> bool:
    """Whether psycopg has no transaction open on the connection (other drivers: False)."""
    if conn.dialect.driver != "psycopg":
        return False
    return bool(conn.connection.driver_connection.info.transaction_status.name == "IDLE")
