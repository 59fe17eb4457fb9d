"""Make SQLite transactions real transactions.

Python's sqlite3 driver (in its default "legacy" mode) sends no BEGIN before a SELECT, so a
read-then-write reads outside any transaction, and a deferred transaction that later writes
fails with SQLITE_BUSY instead of waiting. Following SQLAlchemy's documented recipe we take
transaction control away from the driver and begin every transaction with ``BEGIN IMMEDIATE``,
which waits for (busy timeout) and then holds the single write lock. Savepoints then nest
properly, which our units of work rely on.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

_MARK = "_loyalty_begin_immediate"


def configure(engine: sa.Engine) -> None:
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
