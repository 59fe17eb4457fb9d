"""The largest value each kind of number may take, and the one parser of numbers people type.

Every bound fits the column that keeps the value on SQLite, PostgreSQL and MariaDB alike
(``INTEGER`` is 32 bits there, ``BIGINT`` 64, ``NUMERIC(p, s)`` holds ``p - s`` whole digits),
so a value the rules accept can always be written and read back, and arithmetic on it (the
cashback amount, a balance) cannot overflow. The service rules, the admin's forms, the JSON API
and the CLI all check against these names; docs/guides/bounds.rst lists them.

Text typed by people (a form field, a query string, a CLI option, an id in a URL) is parsed here
too, and only ASCII digits count: Python's ``int()`` would take an Arabic-Indic
five as 5 and ``"1_0"`` as 10.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import Any, TypeVar

from .errors import InvalidInput

T = TypeVar("T")

#: Points one call may move, and a campaign's cost: far above any real order, far below BIGINT.
MAX_POINTS = 10**12
#: Counts and ids kept in ``INTEGER`` columns (total and per-customer limits, row ids).
MAX_COUNT = 2**31 - 1
MAX_ID = MAX_COUNT
#: Days a coupon waits or stays valid (a hundred years).
MAX_DAYS = 36_500
#: Money in ``NUMERIC(12, 2)`` columns: tax value, reward value, cashback amounts.
MAX_MONEY = Decimal("9999999999.99")
MONEY_PLACES = 2
#: The cashback worth of one point, ``NUMERIC(14, 6)``.
MAX_POINT_VALUE = Decimal("99999999.999999")
POINT_VALUE_PLACES = 6
#: A host's order amount (``earn_for_order``), ``NUMERIC(18, 4)``.
MAX_ORDER_AMOUNT = Decimal("1e12")
ORDER_AMOUNT_PLACES = 4
#: Longer text is not a number we keep (and ``int()`` of thousands of digits is slow).
MAX_NUMBER_TEXT = 40

_WHOLE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def _parse(text: Any, pattern: re.Pattern[str], convert: Callable[[str], T]) -> T | None:
    """Text that fully matches ``pattern`` (spaces around allowed), converted; else None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if len(text) > MAX_NUMBER_TEXT or not pattern.fullmatch(text):
        return None
    return convert(text)


def parse_whole(text: Any) -> int | None:
    """A whole number written in ASCII digits (an optional sign, spaces around); else None."""
    return _parse(text, _WHOLE, int)


def parse_decimal(text: Any) -> Decimal | None:
    """A finite decimal written in ASCII (no exponent, NaN or Infinity); else None."""
    return _parse(text, _DECIMAL, Decimal)


def parse_id(value: Any) -> int | None:
    """A row id from a request (text) or from code (an int); None when no row can have it."""
    if isinstance(value, str):
        value = parse_whole(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value


def whole_problem(value: Any, *, minimum: int, maximum: int) -> str | None:
    """What is wrong with a whole number that must lie in ``[minimum, maximum]``; None if fine."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    if not minimum <= value <= maximum:
        return f"must be between {minimum} and {maximum}"
    return None


def amount_problem(value: Any, *, maximum: Decimal, places: int) -> str | None:
    """What is wrong with an amount of 0 to ``maximum`` with at most ``places`` decimals."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return "must be a decimal amount"
    amount = Decimal(value)
    if not amount.is_finite():
        return "must be a finite amount"
    if not 0 <= amount <= maximum:
        return f"must be between 0 and {maximum}"
    if amount.quantize(Decimal(1).scaleb(-places)) != amount:
        return f"may have at most {places} decimal places"
    return None


def points_worth(per_point: Decimal, points: int) -> Decimal | None:
    """What ``points`` are worth at ``per_point`` each, rounded down to the cent.

    None when that is not an amount a money column keeps (past :data:`MAX_MONEY`, NaN, ...).
    """
    if not Decimal(per_point).is_finite() or per_point > MAX_POINT_VALUE or points > MAX_POINTS:
        return None
    worth = (Decimal(per_point) * points).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return worth if worth <= MAX_MONEY else None


def required_text(value: Any, name: str, max_length: int = 255) -> str:
    """Text that is not blank and at most ``max_length`` characters; else :class:`InvalidInput`."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required")
    if len(value) > max_length:
        raise InvalidInput(f"{name} must be at most {max_length} characters")
    return value
