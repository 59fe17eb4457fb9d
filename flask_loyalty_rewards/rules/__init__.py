"""Every rule that decides whether something may happen, as pure functions (no session).

A service raises the refusal a rule returns; an adapter (an admin button, the rewards page, the
JSON API) offers an action exactly when the same rule returns None. So a button cannot show for
what the service refuses, nor hide what it accepts.

Each function takes the rows and what the caller read about them, and returns a
:class:`~flask_loyalty_rewards.errors.LoyaltyError` ready to raise (or a list of them), never
raises itself.
"""

from .campaigns import (
    HIDDEN_REASONS,
    CustomerState,
    campaign_refusals,
    cashback_amount,
    cashback_refusal,
    hidden_from_customers,
)
from .payouts import payout_cancel_refusal, retry_refusal, settle_refusal
from .rewards import (
    DELIVERY_TRANSITIONS,
    cancel_refusal,
    delivery_choices,
    delivery_refusal,
    usage_refusal,
)

__all__ = [
    "DELIVERY_TRANSITIONS",
    "HIDDEN_REASONS",
    "CustomerState",
    "campaign_refusals",
    "cancel_refusal",
    "cashback_amount",
    "cashback_refusal",
    "delivery_choices",
    "delivery_refusal",
    "hidden_from_customers",
    "payout_cancel_refusal",
    "retry_refusal",
    "settle_refusal",
    "usage_refusal",
]
