"""What every service call works with, and the one way it touches the database.

A service call is one *unit of work*: it runs in a savepoint of the host's session, so a refusal
rolls back only our own writes and leaves the host's pending changes in place; on success it
commits, the host's pending changes included, so "mark the order paid" and "earn its points"
land together.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session

from .. import sqlite as sqlite_transactions
from ..bounds import MAX_ID
from ..errors import InvalidInput, NotFound, RewardUnavailable
from ..models import LoyaltyModels
from ..models.mixins import RedeemedRewardMixin, RewardCampaignMixin
from ..profile import CustomerProfile

MAX_KEY_LENGTH = 255

SelectT = TypeVar("SelectT", bound=sa.Select[Any])


@dataclass
class Context:
    app: Flask
    session: Session
    models: LoyaltyModels
    config: Mapping[str, Any]
    profile_loader: Callable[[Any], CustomerProfile] | None = None
    #: The host's callback creating its own voucher for a code-bearing reward, if any.
    coupon_issuer: Callable[[Any], Any] | None = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: The call began on a session with no transaction and nothing pending: nothing of the
    #: host's can be in the transaction, so a refusal may roll all of it back (no savepoint).
    owns_transaction: bool = False

    # -- dialect-aware statements -------------------------------------------------------------

    @functools.cached_property
    def dialect(self) -> str:
        bind = self.session.get_bind(mapper=sa.inspect(self.models.Account))
        return bind.dialect.name

    def locked(
        self, stmt: SelectT, *, aggregate: bool = False, skip_locked: bool = False
    ) -> SelectT:
        """A read that sees the newest committed rows and keeps them until commit.

        SQLite needs nothing (its transactions begin IMMEDIATE). PostgreSQL reads committed data
        per statement, so aggregates need no lock there (and may not take one). MariaDB's
        REPEATABLE READ snapshot may predate our lock, so every read of ledger state after the
        gate is a locking ("current") read.
        """
        name = self.dialect
        if name == "sqlite" or (aggregate and name == "postgresql"):
            return stmt
        return stmt.with_for_update(skip_locked=skip_locked)

    def write(self, stmt: sa.Executable) -> int:
        """Run an UPDATE/DELETE and say how many rows it changed (conditional writes rely on it)."""
        result: sa.CursorResult[Any] = self.session.execute(stmt)  # type: ignore[assignment]
        return int(result.rowcount)

    def insert_ignore(self, table: sa.Table, values: dict[str, Any]) -> int:
        """INSERT that silently does nothing when the row exists; returns the rowcount."""
        name = self.dialect
        stmt: Any
        if name == "postgresql":
            stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
        elif name == "sqlite":
            stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
        elif name in ("mysql", "mariadb"):
            stmt = mysql.insert(table).values(**values).prefix_with("IGNORE")
        else:  # pragma: no cover - other dialects
            raise RuntimeError(f"unsupported database dialect {name!r}")
        return self.write(stmt)

    # -- arguments ----------------------------------------------------------------------------

    def customer_id(self, customer: Any) -> Any:
        """The primary key of a customer given as a model instance or as the key itself."""
        model = self.models.customer_model
        if isinstance(customer, model):
            value = getattr(customer, self.models.customer_pk)
            if value is None:
                self.session.flush()
                value = getattr(customer, self.models.customer_pk)
            if value is None:
                raise InvalidInput("the customer has no primary key yet")
            return value
        return getattr(self.customer_object(customer), self.models.customer_pk)

    def customer_object(self, customer: Any) -> Any:
        """The customer instance; a key is checked and loaded (one query, then the identity map).

        Keep the returned object while you work: the session only holds it weakly, so asking
        again for a key whose object was dropped costs another query.
        """
        model = self.models.customer_model
        if isinstance(customer, model):
            return customer
        key = self._customer_key(customer)
        found = self.session.get(model, key)
        if found is None:
            raise NotFound("no such customer", customer_id=str(key))
        return found

    def _customer_key(self, customer: Any) -> Any:
        """A customer's primary key as given, checked (and a UUID's text parsed)."""
        model = self.models.customer_model
        python_type = _python_type(self.models.customer_pk_type)
        if customer is None or isinstance(customer, bool):
            raise InvalidInput(f"customer must be a {model.__name__} or its primary key")
        if python_type is uuid.UUID and isinstance(customer, str):
            try:
                customer = uuid.UUID(customer)
            except ValueError as exc:
                raise InvalidInput("customer is not a valid UUID") from exc
        if python_type is not None and not isinstance(customer, python_type):
            raise InvalidInput(
                f"customer must be a {model.__name__} or a {python_type.__name__} primary key, "
                f"not {type(customer).__name__}"
            )
        if isinstance(customer, str) and not customer:
            raise InvalidInput("customer must not be empty")
        if isinstance(customer, int) and not -(2**63) <= customer < 2**63:
            raise InvalidInput("customer id is out of range")
        return customer

    def profile_of(self, customer: Any) -> CustomerProfile:
        obj = self.customer_object(customer)
        if self.profile_loader is not None:
            profile = self.profile_loader(obj)
            if not isinstance(profile, CustomerProfile):
                raise TypeError("the customer_profile callback must return a CustomerProfile")
            return profile
        return CustomerProfile(
            email=str(getattr(obj, "email", "") or ""),
            phone=str(getattr(obj, "phone", "") or ""),
            first_name=str(getattr(obj, "first_name", "") or ""),
            last_name=str(getattr(obj, "last_name", "") or ""),
        )

    def campaign(self, campaign: Any) -> RewardCampaignMixin:
        model = self.models.RewardCampaign
        if isinstance(campaign, model):
            return campaign
        campaign_id = integer_id(campaign, "campaign")
        found = self.session.get(model, campaign_id)
        if found is None:
            raise RewardUnavailable("not_found", campaign_id=campaign_id)
        return found

    def customer_and_campaign(
        self, customer: Any, campaign: Any
    ) -> tuple[Any, RewardCampaignMixin]:
        """Both instances; given both by key (a job, an integration), loaded in one query."""
        customer_model, campaign_model = self.models.customer_model, self.models.RewardCampaign
        if isinstance(customer, customer_model) or isinstance(campaign, campaign_model):
            return self.customer_object(customer), self.campaign(campaign)
        customer_key = self._customer_key(customer)
        campaign_id = integer_id(campaign, "campaign")
        both = self.session.execute(
            _customer_and_campaign(self.models), {"customer": customer_key, "campaign": campaign_id}
        ).first()
        if both is None:  # one of them does not exist: say which
            return self.customer_object(customer_key), self.campaign(campaign_id)
        return both[0], both[1]

    def redeemed(
        self, redeemed: Any, *, lock: bool = True, current: bool = False
    ) -> RedeemedRewardMixin:
        """The redeemed reward, re-read and row-locked so two admins cannot race on it.

        ``current`` (without ``lock``): see rows committed after this transaction began, as a
        replay after losing an idempotency race must (MariaDB reads an older snapshot otherwise).
        """
        model = self.models.RedeemedReward
        rid = (
            redeemed.id if isinstance(redeemed, model) else integer_id(redeemed, "redeemed reward")
        )
        stmt = sa.select(model).where(model.id == rid).execution_options(populate_existing=True)
        if lock:
            stmt = self.locked(stmt)
        elif current and self.dialect in ("mysql", "mariadb"):
            stmt = stmt.with_for_update(read=True)
        found = self.session.execute(stmt).unique().scalar_one_or_none()
        if found is None:
            raise NotFound("no such redeemed reward", redeemed_reward_id=rid)
        return found


@functools.cache
def _customer_and_campaign(models: LoyaltyModels) -> sa.Select[Any]:
    """Built once: a prebuilt statement is not compiled again."""
    customer_model, campaign_model = models.customer_model, models.RewardCampaign
    return (
        sa.select(customer_model, campaign_model)
        .join(campaign_model, campaign_model.id == sa.bindparam("campaign"))
        .where(getattr(customer_model, models.customer_pk) == sa.bindparam("customer"))
    )


def _python_type(type_: sa.types.TypeEngine[Any]) -> type | None:
    try:
        return type_.python_type
    except NotImplementedError:
        return None


def integer_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be given by its integer id, not {type(value).__name__}")
    if not 0 < value <= MAX_ID:
        raise InvalidInput(f"{what} id is out of range")
    return value


def idempotency_key_argument(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("idempotency_key must be a non-empty string")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidInput(f"idempotency_key must be at most {MAX_KEY_LENGTH} characters")
    return value


def text_argument(value: Any, name: str, max_length: int = 255) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    if len(value) > max_length:
        raise InvalidInput(f"{name} must be at most {max_length} characters")
    return value


def required_text(value: Any, name: str, max_length: int = 255) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required")
    if len(value) > max_length:
        raise InvalidInput(f"{name} must be at most {max_length} characters")
    return value


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


def fingerprint(**params: Any) -> str:
    """A stable digest of a request, to tell a retry from a different request under one key."""
    canonical = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@contextmanager
def unit_of_work(ctx: Context) -> Iterator[None]:
    """Run the body in a savepoint; commit on success, undo only our part on failure.

    When the transaction holds nothing but our own work (:attr:`Context.owns_transaction`),
    the savepoint is left out: on failure the whole transaction is rolled back instead.
    """
    session = ctx.session
    if ctx.dialect == "sqlite" and ctx.config["LOYALTY_SQLITE_BEGIN_IMMEDIATE"] == "ours":
        sqlite_transactions.begin_unit_of_work(session, ctx.models.Account)
    if _joining.get():
        with _joined_transaction(ctx):
            yield
        return
    if ctx.owns_transaction and not (session.new or session.dirty or session.deleted):
        with _whole_transaction(ctx):
            yield
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
    try:
        session.commit()
    except BaseException:
        session.rollback()
        ctx.after_commit.clear()
        raise
    _announce(ctx)


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


@contextmanager
def _whole_transaction(ctx: Context) -> Iterator[None]:
    session = ctx.session
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        ctx.after_commit.clear()
        raise
    _announce(ctx)


def _announce(ctx: Context) -> None:
    """Run the after-commit callbacks (signals) of the unit of work that just committed."""
    callbacks, ctx.after_commit[:] = list(ctx.after_commit), []
    for callback in callbacks:
        callback()
