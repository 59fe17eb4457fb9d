"""Redeeming rewards and the life of a redeemed reward afterwards.

- :mod:`.issue`: a redemption, step by step or (PostgreSQL) in :mod:`.one_statement_pg`;
- :mod:`.lifecycle`: a redeemed reward marked used, delivered, cancelled;
- :mod:`.availability`: whether a customer can redeem a campaign now, for the pages.
"""

from __future__ import annotations

from ...errors import NotEnoughPoints
from ...rules import DELIVERY_TRANSITIONS
from .availability import Availability, availabilities, points_needed, visible_filter
from .issue import redeem, redeem_once
from .lifecycle import (
    add_history,
    cancel_redemption,
    mark_used,
    set_delivery_status,
    unmark_used,
)

__all__ = [
    "DELIVERY_TRANSITIONS",
    "Availability",
    "NotEnoughPoints",
    "add_history",
    "availabilities",
    "cancel_redemption",
    "mark_used",
    "points_needed",
    "redeem",
    "redeem_once",
    "set_delivery_status",
    "unmark_used",
    "visible_filter",
]
