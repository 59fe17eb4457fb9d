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

from ..models.keys import code_key, digits, fold

#: Largest code point; a prefix ending in it has no next string of the same length.
MAX_CHAR = 0x10FFFF
SURROGATES = range(0xD800, 0xE000)
#: A term of only these characters (and some digits) is also looked up as a phone number.
PHONE_TERM = re.compile(r"[\d\s+().\-/]+")


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
