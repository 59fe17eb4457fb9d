"""The one way a service call touches the database: a unit of work.

A service call is one *unit of work*: it runs in a savepoint of the host's session, so a refusal
rolls back only our own writes and leaves the host's pending changes in place; on success it
commits, the host's pending changes included, so "mark the order paid" and "earn its points"
land together. A call that owns its transaction runs again when the database undid it to
break a deadlock (:func:`retrying_deadlocks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

from . import dialect
from .context import Context

T = TypeVar("T")

#: How many times a call runs when the database keeps picking it as a deadlock's victim.
DEADLOCK_ATTEMPTS = 3


def is_deadlock(exc: sa.exc.DBAPIError) -> bool:
    """Whether the database rolled the transaction back to break a deadlock.

    On MariaDB the locking range reads of one customer's lots also lock the record that ends
    the range, the next customer's, so two customers' redemptions can deadlock. Either way
    nothing of the transaction is left, so running it again is safe.
    """
    error = exc.orig
    if getattr(error, "sqlstate", None) == "40P01":  # PostgreSQL
        return True
    args: tuple[Any, ...] = getattr(error, "args", ())
    return bool(args) and args[0] == 1213  # MariaDB / MySQL: ER_LOCK_DEADLOCK


def retrying_deadlocks(ctx: Context, call: Callable[[], T]) -> T:
    """Run ``call`` (whole units of work), again when the database undid it to break a deadlock.

    Only when the call owns its transaction (:attr:`Context.owns_transaction`): nothing of the
    host's was in it, so running it again repeats nothing but our own work.
    """
    attempt = 1
    while True:
        try:
            return call()
        except sa.exc.DBAPIError as exc:
            if attempt == DEADLOCK_ATTEMPTS or not ctx.owns_transaction or not is_deadlock(exc):
                raise
            attempt += 1


@contextmanager
def unit_of_work(ctx: Context) -> Iterator[None]:
    """Run the body in a savepoint; commit on success, undo only our part on failure.

    When the transaction holds nothing but our own work (:attr:`Context.owns_transaction`),
    the savepoint is left out: on failure the whole transaction is rolled back instead.
    """
    session = ctx.session
    dialect.begin_unit_of_work(ctx.dialect, session, ctx.config, ctx.models.Account)
    if _joining.get():
        with _joined_transaction(ctx):
            yield
        return
    if ctx.owns_transaction and not (session.new or session.dirty or session.deleted):
        try:
            yield
        except BaseException:
            _abandon(ctx)
            raise
        _commit(ctx)
        return
    savepoint = session.begin_nested()
    try:
        yield
        session.flush()
    except BaseException:
        try:
            if savepoint.is_active:
                savepoint.rollback()
        except sa.exc.SQLAlchemyError:
            # The database threw the whole transaction away (MariaDB does on deadlock).
            session.rollback()
        ctx.after_commit.clear()
        raise
    savepoint.commit()
    _commit(ctx)


_joining: ContextVar[bool] = ContextVar("loyalty_joining", default=False)


@contextmanager
def joined() -> Iterator[None]:
    """Service calls in the body join the host's transaction that is committing: each runs
    in a savepoint (a refusal undoes only its own work) and the host's commit commits it."""
    token = _joining.set(True)
    try:
        yield
    finally:
        _joining.reset(token)


@contextmanager
def _joined_transaction(ctx: Context) -> Iterator[None]:
    session = ctx.session
    savepoint = session.begin_nested()
    try:
        yield
        session.flush()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        ctx.after_commit.clear()
        raise
    savepoint.commit()
    callbacks, ctx.after_commit[:] = list(ctx.after_commit), []
    if callbacks:
        event.listen(session, "after_commit", lambda _: [cb() for cb in callbacks], once=True)


def _commit(ctx: Context) -> None:
    """Commit the session, then run the after-commit callbacks (signals) of the unit of work."""
    try:
        ctx.session.commit()
    except BaseException:
        _abandon(ctx)
        raise
    callbacks, ctx.after_commit[:] = list(ctx.after_commit), []
    for callback in callbacks:
        callback()


def _abandon(ctx: Context) -> None:
    """Roll the whole transaction back; what was to run after its commit never runs."""
    ctx.session.rollback()
    ctx.after_commit.clear()
