"""flask-loyalty-rewards: reward redemption for Flask shops."""

from __future__ import annotations

from .errors import (
    IdempotencyConflict,
    InvalidInput,
    InvalidStatusChange,
    LoyaltyError,
    NotEnoughPoints,
    NotFound,
    NotInitialized,
    RewardUnavailable,
)
from .extension import LoyaltyRewards
from .models import (
    CodeSource,
    CouponStatus,
    DeliveryStatus,
    EntryKind,
    HistoryEvent,
    LoyaltyModels,
    RewardType,
    create_models,
)
from .profile import Address, CustomerProfile
from .state import LoyaltyState, get_state

__all__ = [
    "Address",
    "CodeSource",
    "CouponStatus",
    "CustomerProfile",
    "DeliveryStatus",
    "EntryKind",
    "HistoryEvent",
    "IdempotencyConflict",
    "InvalidInput",
    "InvalidStatusChange",
    "LoyaltyError",
    "LoyaltyModels",
    "LoyaltyRewards",
    "LoyaltyState",
    "NotEnoughPoints",
    "NotFound",
    "NotInitialized",
    "RewardType",
    "RewardUnavailable",
    "create_models",
    "get_state",
]
