"""What the pages and the JSON API share: the current customer and the services' context."""

from __future__ import annotations

from flask import current_app

from ..errors import NotFound
from ..extension import LoyaltyState
from ..services.context import Context


def services_context(state: LoyaltyState) -> Context:
    return state.context(current_app._get_current_object())  # type: ignore[attr-defined]


def path_id(value: int, what: str) -> int:
    """An id taken from the URL; one no row can have is simply "not found"."""
    if not 0 < value < 2**31:
        raise NotFound(f"no such {what}")
    return value
