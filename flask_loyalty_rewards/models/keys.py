"""The keys rows are found by: coupon codes as customers type them, and the search keys.

A redeemed reward's ``search_*`` columns are kept from its own columns by a mapper listener
(:func:`fill_keys`, wired by :func:`~flask_loyalty_rewards.create_models`), so plain ORM code
keeps them right too; :mod:`flask_loyalty_rewards.services.search` searches them.
"""

from __future__ import annotations

import re
from typing import Any

_LOOK_ALIKES = str.maketrans("OIL", "011")


def normalize_code(code: str) -> str:
    """How a customer may type a code: any case, spaces or dashes, O for 0, I or L for 1."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t")
    return cleaned.translate(_LOOK_ALIKES)


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
