"""Make SQLite transactions real transactions: ``LOYALTY_SQLITE_BEGIN_IMMEDIATE``.

Python's sqlite3 driver (in its default "legacy" mode) sends no BEGIN before a SELECT, so a
read-then-write reads outside any transaction, and a deferred transaction that later writes
fails with SQLITE_BUSY instead of waiting. Our units of work therefore take SQLite's single
write lock up front with ``BEGIN IMMEDIATE``, which waits (the busy timeout) for the lock and
then holds it until the commit. Savepoints then nest properly inside it.

Three modes (see docs: databases, "SQLite"):

``"ours"`` (default)
    Only our units of work begin ``BEGIN IMMEDIATE``, and only when SQLite has no transaction
    open on the connection (when the host's transaction has written already, it holds the
    write lock, and we join it). The host's engine is left as it was: its read-only requests
    take no write lock, and readers never wait for our writers or the other way round.
``"all"``
    SQLAlchemy's documented recipe on the host's whole engine: the driver's transaction
    handling is switched off and every transaction, read-only ones included, begins
    ``BEGIN IMMEDIATE``. The host's own read-then-write code becomes safe too, at the price of
    one writer (or reader that may write) at a time, for every request.
``None``
    Nothing: the host configures SQLite transactions itself.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

MODES = ("ours", "all", None)
_MARK = "_loyalty_begin_immediate"


def check_mode(mode: Any) -> None:
    if mode not in MODES:
        raise ValueError(f"LOYALTY_SQLITE_BEGIN_IMMEDIATE must be one of {MODES}, not {mode!r}")


def configure(engine: sa.Engine) -> None:
    """``"all"``: every transaction of ``engine`` begins ``BEGIN IMMEDIATE``."""
    if engine.dialect.name != "sqlite" or getattr(engine, _MARK, False):
        return
    setattr(engine, _MARK, True)

    @event.listens_for(engine, "connect")
    def _take_transaction_control(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: sa.Connection) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None  # a connection made before we were set up
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def begin_unit_of_work(session: Session, mapper: Any) -> None:
    """``"ours"``: take the write lock for the unit of work starting now, unless it is held."""
    take_write_lock(session.connection(bind_arguments={"mapper": mapper}))


def take_write_lock(connection: sa.Connection) -> None:
    """``BEGIN IMMEDIATE`` on a SQLite connection that has no transaction open yet.

    The driver opened no transaction for the reads so far (it begins one before the first
    write only), so nothing read is lost; a transaction already open (the host wrote, or the
    engine runs in ``"all"`` mode) is joined as it is, and so is a connection whose
    transactions the host controls itself (the driver's own handling switched off).
    """
    if connection.dialect.name != "sqlite":
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is None or dbapi_connection.in_transaction:
        return
    if dbapi_connection.isolation_level is None:
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")
