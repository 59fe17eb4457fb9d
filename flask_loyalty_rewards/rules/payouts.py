"""What an admin may do with a cashback payout: retry, settle by hand, cancel."""

from __future__ import annotations

import datetime as dt

from ..cashback.models import MANUAL_PROVIDER, CashbackPayoutMixin, PayoutState
from ..errors import InvalidStatusChange
from ..i18n import gettext
from ..models.mixins import RedeemedRewardMixin
from .rewards import cancel_refusal

#: States in which no money can be on its way: failed, or being given up.
_GIVEN_UP = frozenset({PayoutState.FAILURE, PayoutState.CANCELING})
#: A manual payout nobody has paid yet.
_UNPAID_MANUAL = frozenset({PayoutState.INIT, PayoutState.RETRY, PayoutState.PENDING})


def _refusal(message: str, reason: str, payout: CashbackPayoutMixin) -> InvalidStatusChange:
    return InvalidStatusChange(
        message, reason=reason, payout_id=payout.id, payout_state=payout.state.value
    )


def retry_refusal(
    payout: CashbackPayoutMixin, reward: RedeemedRewardMixin
) -> InvalidStatusChange | None:
    """Why the payout cannot be sent again (under its order id); ``reward`` is its redemption."""
    if payout.state is not PayoutState.FAILURE:
        return _refusal(
            gettext("Only a failed payout can be retried."), "payout_not_failed", payout
        )
    if reward.canceled_at is not None:
        return _refusal(gettext("The redemption was cancelled."), "redemption_canceled", payout)
    return None


def settle_refusal(payout: CashbackPayoutMixin) -> InvalidStatusChange | None:
    """Why an admin cannot record the payout as paid or failed by hand."""
    if payout.provider != MANUAL_PROVIDER:
        return _refusal(
            gettext(
                "Only manual payouts are settled by hand; %(provider)s reports its own status.",
                provider=payout.provider,
            ),
            "not_manual",
            payout,
        )
    if payout.state.is_final:
        return _refusal(gettext("This payout is already settled."), "payout_settled", payout)
    return None


def payout_cancel_refusal(
    payout: CashbackPayoutMixin, reward: RedeemedRewardMixin, now: dt.datetime
) -> InvalidStatusChange | None:
    """Why the payout cannot be given up, its points going back with its redemption.

    Only when no money can be on its way: a failed payout (or one whose cancellation was
    interrupted), or a manual one nobody has paid yet; and only when the redemption itself may
    be cancelled (:func:`~.rewards.cancel_refusal`, a used one is unmarked first). A redemption
    already cancelled is no obstacle: an interrupted cancellation simply finishes.
    """
    if payout.state not in _GIVEN_UP and not (
        payout.provider == MANUAL_PROVIDER and payout.state in _UNPAID_MANUAL
    ):
        return _refusal(
            gettext("Only a failed payout (or an unpaid manual one) can be cancelled."),
            "payout_not_cancelable",
            payout,
        )
    refusal = cancel_refusal(reward, None, now)
    if refusal is not None and refusal.reason != "already_canceled":
        return refusal
    return None
