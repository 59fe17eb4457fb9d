"""What may happen to a redeemed reward: usage, gift delivery, cancellation.

Coupon status follows time (:meth:`RedeemedRewardMixin.status_at`). Used/unused may change only
while the coupon is Active, and a gift cannot be unmarked once it has Shipped. Only gifts whose
campaign tracks fulfilment (``fulfillment_tracking``) move past Ordered: Ordered -> Shipped ->
Delivered, or to Canceled from Ordered or Shipped, and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..cashback.models import CashbackPayoutMixin, PayoutState
from ..errors import InvalidStatusChange
from ..i18n import gettext
from ..models import CouponStatus, DeliveryStatus, RewardType
from ..models.mixins import RedeemedRewardMixin

#: Where a tracked gift's delivery may go from each status.
DELIVERY_TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.ORDERED: frozenset({DeliveryStatus.SHIPPED, DeliveryStatus.CANCELED}),
    DeliveryStatus.SHIPPED: frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.CANCELED}),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.CANCELED: frozenset(),
}
#: Payout states in which no money can be on its way any more (the payout is being given up).
_PAYOUT_CLOSED = frozenset({PayoutState.CANCELING, PayoutState.CANCELED})


def _refusal(
    message: str, reason: str, reward: RedeemedRewardMixin, status: CouponStatus, **details: Any
) -> InvalidStatusChange:
    return InvalidStatusChange(
        message,
        reason=reason,
        redeemed_reward_id=reward.id,
        coupon_status=status.value,
        **details,
    )


def usage_refusal(reward: RedeemedRewardMixin, now: dt.datetime) -> InvalidStatusChange | None:
    """Why the reward's used/unused cannot flip now (mark an unused one, unmark a used one)."""
    status = reward.status_at(now)
    if status is not CouponStatus.ACTIVE:
        label = status.label
        return _refusal(
            gettext("Only an Active coupon can be unmarked; this one is %(status)s.", status=label)
            if reward.used
            else gettext(
                "Only an Active coupon can be marked as used; this one is %(status)s.", status=label
            ),
            "coupon_not_active",
            reward,
            status,
        )
    if reward.used and reward.delivery_status not in (None, DeliveryStatus.ORDERED):
        assert reward.delivery_status is not None
        return _refusal(
            gettext(
                "The gift is already %(status)s; it cannot be unmarked.",
                status=reward.delivery_status.label,
            ),
            "delivery_in_progress",
            reward,
            status,
        )
    return None


def delivery_refusal(
    reward: RedeemedRewardMixin, new: DeliveryStatus, now: dt.datetime
) -> InvalidStatusChange | None:
    """Why the gift's delivery cannot go to ``new`` now (its current status: a no-op, allowed)."""
    status = reward.status_at(now)
    if reward.reward_type is not RewardType.GIFT:
        return _refusal(
            gettext("Only gifts have a delivery to track."), "not_a_gift", reward, status
        )
    if status is CouponStatus.CANCELED:
        return _refusal(gettext("This reward was cancelled."), "coupon_not_active", reward, status)
    old = reward.delivery_status
    if not reward.used or old is None:
        return _refusal(
            gettext("Mark the gift as used before tracking its delivery."),
            "not_used",
            reward,
            status,
        )
    if new is old:
        return None
    if not reward.campaign.fulfillment_tracking:
        return _refusal(
            gettext("This gift's campaign does not track delivery; it stays Ordered."),
            "delivery_not_tracked",
            reward,
            status,
        )
    if new not in DELIVERY_TRANSITIONS[old]:
        return _refusal(
            gettext(
                "A gift's delivery cannot go from %(old)s to %(new)s.", old=old.label, new=new.label
            ),
            "transition_not_allowed",
            reward,
            status,
        )
    return None


def delivery_choices(reward: RedeemedRewardMixin, now: dt.datetime) -> list[DeliveryStatus]:
    """The statuses the gift's delivery may move to now, in the enum's order (often none)."""
    return [
        s
        for s in DeliveryStatus
        if s is not reward.delivery_status and delivery_refusal(reward, s, now) is None
    ]


def cancel_refusal(
    reward: RedeemedRewardMixin, payout: CashbackPayoutMixin | None, now: dt.datetime
) -> InvalidStatusChange | None:
    """Why the redemption cannot be cancelled now; ``payout`` is a cashback reward's payout."""
    status = reward.status_at(now)
    if status is CouponStatus.CANCELED:
        return _refusal(
            gettext("This reward is already cancelled."), "already_canceled", reward, status
        )
    if payout is not None and payout.state not in _PAYOUT_CLOSED:
        return _refusal(
            gettext(
                "Cancel a cashback reward from its payout (Cashback payouts), so no money is sent."
            ),
            "cashback_payout_open",
            reward,
            status,
            payout_state=payout.state.value,
        )
    if status is CouponStatus.EXPIRED:
        return _refusal(
            gettext("An expired reward cannot be cancelled."), "coupon_expired", reward, status
        )
    if reward.used and reward.delivery_status is not DeliveryStatus.CANCELED:
        return _refusal(
            gettext("A used reward must be unmarked before it can be cancelled."),
            "used",
            reward,
            status,
        )
    return None
