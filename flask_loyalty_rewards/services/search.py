"""Finding a redeemed reward by its customer or code: case-folded keys searched by prefix.

The grid searches the customer data copied onto each reward at redeem time (e-mail, name,
phone) and the coupon code. Each is also stored case-folded in a ``search_*`` column with a
binary collation and a plain B-tree index, and a search term matches a key that *starts with*
it: ``key >= term AND key < next(term)``, one index range per key on every backend.

Why prefix and not substring: a substring needs a trigram index (``pg_trgm``, an extension a
host may not be allowed to install; nothing like it on SQLite or MariaDB) or a full scan, which
takes seconds on a million rows. Prefix search is what shop back offices offer (people type the
beginning of an e-mail, a name or a code), and on separate keys it still finds "smith" in
"Ann Smith" (the surname key), and a phone is compared digits only ("+48 600" and "48600" find
the same number).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from .codes import normalize_code

#: Largest code point; a prefix ending in it has no next string of the same length.
MAX_CHAR = 0x10FFFF
SURROGATES = range(0xD800, 0xE000)
#: A term of only these characters (and some digits) is also looked up as a phone number.
PHONE_TERM = re.compile(r"[\d\s+().\-/]+")
#: Columns of each key (a ``search_*`` column's maximum length).
KEY_LENGTHS = {
    "search_email": 255,
    "search_name": 241,
    "search_surname": 120,
    "search_phone": 64,
    "search_code": 64,
}


def fold(text: str | None) -> str:
    """The form keys are stored and compared in: case-folded, inner spaces collapsed."""
    return " ".join((text or "").casefold().split())


def digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def search_keys(
    *, email: str | None, first_name: str | None, last_name: str | None, phone: str | None
) -> dict[str, str]:
    """The ``search_*`` columns of a reward's customer snapshot (the code's is :func:`code_key`)."""
    keys = {
        "search_email": fold(email),
        "search_name": fold(f"{first_name or ''} {last_name or ''}"),
        "search_surname": fold(last_name),
        "search_phone": digits(phone),
    }
    return {name: value[: KEY_LENGTHS[name]] for name, value in keys.items()}


def code_key(code: str | None) -> str:
    """A code as checkout compares it (any case, dashes and look-alikes), so it is found so too."""
    return normalize_code(code or "")[: KEY_LENGTHS["search_code"]]


def fill_keys(row: Any) -> None:
    """Set a redeemed reward's keys from its own columns (plain ORM inserts and edits)."""
    for name, value in search_keys(
        email=row.customer_email,
        first_name=row.customer_first_name,
        last_name=row.customer_last_name,
        phone=row.customer_phone,
    ).items():
        setattr(row, name, value)
    row.search_code = code_key(row.coupon_code)


def next_prefix(prefix: str) -> str | None:
    """The smallest string after every string starting with ``prefix``; None if there is none."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop()) + 1
        if last in SURROGATES:
            last = SURROGATES.stop
        if last <= MAX_CHAR:
            return "".join(chars) + chr(last)
    return None


def starts_with(column: Any, prefix: str) -> sa.ColumnElement[bool]:
    """``column`` starts with ``prefix``, as an index range (the column's collation is binary)."""
    upper = next_prefix(prefix)
    condition: sa.ColumnElement[bool] = column >= prefix
    if upper is not None:
        condition = sa.and_(condition, column < upper)
    return condition


def reward_matches(model: Any, term: str) -> sa.ColumnElement[bool] | None:
    """Redeemed rewards whose e-mail, name, surname, phone or code starts with ``term``.

    None for a blank term (no condition). A term of phone characters with at least one digit is
    also compared, digits only, with the phone key.
    """
    text = fold(term)
    if not text:
        return None
    conditions = [
        starts_with(model.search_email, text),
        starts_with(model.search_name, text),
        starts_with(model.search_surname, text),
    ]
    code = code_key(term)
    if code:
        conditions.append(starts_with(model.search_code, code))
    number = digits(term)
    if number and PHONE_TERM.fullmatch(term.strip()):
        conditions.append(starts_with(model.search_phone, number))
    return sa.or_(*conditions)
