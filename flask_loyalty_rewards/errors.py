"""Refusals with stable codes.

Every refusal a service can give is a :class:`LoyaltyError` subclass with a ``code`` that the JSON
API and the pages show; the code never changes, the human message may. Messages for people are
translated where the refusal is made, into the request's locale (:mod:`.i18n`).
"""

from __future__ import annotations

from typing import Any

from .i18n import N_, gettext, ngettext


class LoyaltyError(Exception):
    """Base class of every refusal; ``code`` is stable, ``message`` is for people."""

    code: str = "loyalty_error"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


class NotInitialized(LoyaltyError, RuntimeError):
    """The extension was used on an app that never called ``init_app``."""

    code = "not_initialized"
    http_status = 500


class InvalidInput(LoyaltyError, ValueError):
    """An argument has the wrong type or an impossible value."""

    code = "invalid_input"
    http_status = 422


class NotEnoughPoints(LoyaltyError):
    """Too few active points: for a reward (the spec's tooltip text), or for an admin's
    deduction (``message`` says the balance is too small for it)."""

    code = "not_enough_points"
    http_status = 409

    def __init__(
        self, points_needed: int, *, cost: int, active_points: int, message: str | None = None
    ) -> None:
        super().__init__(
            message
            # The spec's words, the same for every number in English; plural forms elsewhere.
            or ngettext(
                "You must have %(num)s more points to get reward",
                "You must have %(num)s more points to get reward",
                points_needed,
            ),
            points_needed=points_needed,
            cost=cost,
            active_points=active_points,
        )
        self.points_needed = points_needed


class RewardUnavailable(LoyaltyError):
    """The reward cannot be had now; ``reason`` says why (see :data:`UNAVAILABLE_REASONS`)."""

    code = "reward_unavailable"
    http_status = 409

    def __init__(self, reason: str, message: str | None = None, **details: Any) -> None:
        super().__init__(
            message or gettext(UNAVAILABLE_REASONS.get(reason, reason)),
            reason=reason,
            **details,
        )
        self.reason = reason


#: Reason codes of :class:`RewardUnavailable` and the words shown to customers.
UNAVAILABLE_REASONS: dict[str, str] = {
    "not_found": N_("This reward does not exist."),
    "inactive": N_("This reward is not available."),
    "not_started": N_("This reward cannot be redeemed yet."),
    "ended": N_("This reward can no longer be redeemed."),
    "not_visible": N_("This reward is not available."),
    "sold_out": N_("This reward is sold out."),
    "customer_limit": N_("You have reached the limit for this reward."),
    "no_codes_left": N_("There are no codes left for this reward."),
}


class InvalidStatusChange(LoyaltyError):
    code = "invalid_status_change"
    http_status = 409

    def __init__(self, message: str, *, reason: str, **details: Any) -> None:
        super().__init__(message, reason=reason, **details)
        self.reason = reason


class IdempotencyConflict(LoyaltyError):
    """The idempotency key was already used for a different request."""

    code = "idempotency_conflict"
    http_status = 409


class NotFound(LoyaltyError, LookupError):
    code = "not_found"
    http_status = 404
