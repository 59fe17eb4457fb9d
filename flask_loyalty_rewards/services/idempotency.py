"""Idempotency keys: a retried request replays its first result, a different one is refused.

The key row is written in the same transaction as the work it stands for, under a unique
constraint, so two requests racing with one key give one effect: the loser's insert fails, its
work rolls back, and it replays the winner's result.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypedDict, TypeVar

import sqlalchemy as sa

from .. import clock
from ..errors import IdempotencyConflict, LoyaltyError
from ..models import LoyaltyModels
from . import dialect
from .context import Context
from .transaction import unit_of_work

if TYPE_CHECKING:
    from typing import Unpack

T = TypeVar("T")
P = ParamSpec("P")


def fingerprint(**params: Any) -> str:
    """A stable digest of a request, to tell a retry from a different request under one key."""
    canonical = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


#: The columns a key is unique on: one customer's key for one kind of request.
KEY_COLUMNS = ("customer_id", "scope", "key")


def _key_of(customer_id: Any, scope: str, key: str) -> dict[str, Any]:
    return dict(zip(KEY_COLUMNS, (customer_id, scope, key), strict=True))


def find_key(ctx: Context, customer_id: Any, scope: str, key: str, *, current: bool = False) -> Any:
    stmt = _find_key(ctx.models, ctx.dialect, current)
    return ctx.session.execute(stmt, _key_of(customer_id, scope, key)).scalar_one_or_none()


@functools.cache
def _find_key(models: LoyaltyModels, dialect_name: str, current: bool) -> sa.Select[Any]:
    """Built once: every keyed request looks its key up first, and a prebuilt statement is not
    built and compiled again."""
    model = models.IdempotencyKey
    stmt = sa.select(model).where(
        *(getattr(model, column) == sa.bindparam(column) for column in KEY_COLUMNS)
    )
    if current:
        stmt = dialect.current_read(dialect_name, stmt)
    return stmt.execution_options(populate_existing=True)


class KeyResult(TypedDict, total=False):
    """What a key replays: the id of the row its request made, or its answer as JSON."""

    result_id: int
    result_json: str


def store_key(
    ctx: Context,
    customer_id: Any,
    scope: str,
    key: str,
    request_fingerprint: str,
    **result: Unpack[KeyResult],
) -> None:
    """Record the key with its request's fingerprint and result, in the request's transaction."""
    table = ctx.models.IdempotencyKey.__table__
    ctx.session.execute(
        sa.insert(table).values(
            **_key_of(customer_id, scope, key),
            fingerprint=request_fingerprint,
            created_at=clock.now(),
            **result,
        )
    )


@dataclass(frozen=True)
class Once(Generic[T]):
    """The result of a keyed request, and whether it was the replay of an earlier one."""

    value: T
    replayed: bool


def value_of(once: Callable[P, Once[T]], doc: str) -> Callable[P, T]:
    """``once`` answering its value alone, for callers that do not ask whether it replayed.

    Named as ``once`` without ``_once``, it takes the same arguments; ``inspect.signature`` (and
    Sphinx) shows them, with the value's type as the return type.
    """

    def value(*args: P.args, **kwargs: P.kwargs) -> T:
        return once(*args, **kwargs).value

    signature = inspect.signature(once)
    (value_type,) = typing.get_args(typing.get_type_hints(once)["return"])
    value.__name__ = value.__qualname__ = once.__name__.removesuffix("_once")
    value.__module__ = once.__module__
    value.__doc__ = doc
    value.__annotations__ = {**once.__annotations__, "return": value_type}
    vars(value).update(
        __signature__=signature.replace(return_annotation=value_type), __wrapped__=once
    )
    return value


def run_once(
    ctx: Context,
    customer_id: Any,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    work: Callable[[], T],
    replay: Callable[[Any], T],
) -> Once[T]:
    """Run ``work`` in a unit of work at most once per key; ``work`` calls :func:`store_key`."""
    if key is None:
        with unit_of_work(ctx):
            return Once(work(), replayed=False)

    def answer(existing: Any) -> Once[T]:
        if existing.fingerprint != request_fingerprint:
            raise IdempotencyConflict(
                "this idempotency key was already used for a different request",
                idempotency_key=key,
            )
        return Once(replay(existing), replayed=True)

    try:
        with unit_of_work(ctx):
            existing = find_key(ctx, customer_id, scope, key)
            if existing is not None:
                return answer(existing)
            return Once(work(), replayed=False)
    except IdempotencyConflict:
        raise
    except (sa.exc.IntegrityError, LoyaltyError):
        # A request with the same key may have committed while we worked: replay it.
        existing = find_key(ctx, customer_id, scope, key, current=True)
        if existing is None:
            raise
        return answer(existing)
