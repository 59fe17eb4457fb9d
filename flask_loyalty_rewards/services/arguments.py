"""The arguments of service calls, checked at the door: one parser for each kind of value.

Every service checks what its caller passed with these before it touches the database, so bad
input is a clear :class:`~flask_loyalty_rewards.errors.InvalidInput`, never a 500 nor a
half-written record. The bounds themselves (and the parsing of text people type) are
:mod:`flask_loyalty_rewards.bounds`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ..bounds import (
    MAX_COUNT,
    MAX_ID,
    MAX_ORDER_AMOUNT,
    MAX_POINTS,
    ORDER_AMOUNT_PLACES,
    amount_problem,
    required_text,
    whole_problem,
)
from ..errors import InvalidInput

#: The longest idempotency key (the column's length).
MAX_KEY_LENGTH = 255


def integer_id(value: Any, what: str) -> int:
    """A row id given by code: an ``int`` (not a bool, nor text) that a row can have."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be given by its integer id, not {type(value).__name__}")
    if not 0 < value <= MAX_ID:
        raise InvalidInput(f"{what} id is out of range")
    return value


def customer_key(customer: Any, model: type[Any], pk_type: sa.types.TypeEngine[Any]) -> Any:
    """A customer's primary key as given (not the instance), checked; a UUID's text parsed."""
    python_type = _python_type(pk_type)
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


def _python_type(type_: sa.types.TypeEngine[Any]) -> type | None:
    try:
        return type_.python_type
    except NotImplementedError:
        return None


def whole_argument(value: Any, name: str, *, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """A whole number (not a bool) in ``[minimum, maximum]``: a page, a limit, a number of days."""
    problem = whole_problem(value, minimum=minimum, maximum=maximum)
    if problem is not None:
        raise InvalidInput(f"{name} {problem}", **{name: problem})
    return int(value)


def points_argument(value: Any, name: str = "points") -> int:
    """Points one call moves: a whole number from 1 to :data:`~..bounds.MAX_POINTS`."""
    return whole_argument(value, name, maximum=MAX_POINTS)


def amount_argument(value: Any, name: str = "amount") -> Decimal:
    """A host's order amount: a Decimal or an int (a float's rounding would be a guess)."""
    problem = amount_problem(value, maximum=MAX_ORDER_AMOUNT, places=ORDER_AMOUNT_PLACES)
    if problem is not None:
        raise InvalidInput(f"{name} {problem}", **{name: problem})
    return Decimal(value)


def text_argument(value: Any, name: str, max_length: int = 255) -> str | None:
    """Optional text (an actor, a note, a reference): None, or a string of at most
    ``max_length`` characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    if len(value) > max_length:
        raise InvalidInput(f"{name} must be at most {max_length} characters")
    return value


def idempotency_key_argument(value: Any) -> str | None:
    """An optional idempotency key: None, or text that is not blank."""
    return None if value is None else required_text(value, "idempotency_key", MAX_KEY_LENGTH)


def order_id_argument(value: Any) -> str:
    """The host's order id, as text: a string or an integer (both are common)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput("order_id must be a string or an integer")
    return required_text(str(value), "order_id")
