"""Whether a customer may redeem a campaign now: every blocker, in the order they are reported."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ..bounds import MAX_MONEY, points_worth
from ..errors import LoyaltyError, NotEnoughPoints, RewardUnavailable
from ..i18n import gettext
from ..models import CodeSource, RewardType
from ..models.mixins import RewardCampaignMixin

CENT = Decimal("0.01")

#: Reasons that mean "customers may not see this campaign": adapters answer 404 for them, the
#: same as for a campaign that does not exist, so hidden campaigns cannot be enumerated.
HIDDEN_REASONS = frozenset({"inactive", "not_visible"})


@dataclass(frozen=True)
class CustomerState:
    """What the rules know about the customer (and the campaign's pool) beside the campaign row.

    ``None`` means "not read": the service leaves these to its atomic writes (the spend gate,
    the locked per-customer count, the pool's conditional claim), which refuse with the same
    errors; the pages and the API read them first, so they can show every blocker.
    """

    #: Points the customer can spend now.
    active_points: int | None = None
    #: The customer's redemptions of this campaign that hold a per-customer limit slot.
    redemptions: int | None = None
    #: Whether the campaign's code pool has a code left (only read for pool campaigns).
    codes_left: bool | None = None
    #: Why the configured payout provider could never pay this customer (cashback only).
    payout_refusal: str | None = None


def hidden_from_customers(campaign: RewardCampaignMixin, now: dt.datetime) -> bool:
    """Whether customers may not see the campaign now (inactive, or outside its visibility)."""
    return not campaign.active or not _inside(campaign.visible_from, campaign.visible_to, now)


def _inside(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> bool:
    return (start is None or now >= start) and (end is None or now < end)


def cashback_refusal(campaign: RewardCampaignMixin) -> RewardUnavailable | None:
    """Why a cashback campaign cannot pay (``cashback_not_configured``); None when it can."""
    found = _cashback_amount(campaign)
    return found if isinstance(found, RewardUnavailable) else None


def cashback_amount(campaign: RewardCampaignMixin) -> Decimal | None:
    """The money a cashback campaign pays, or None when it cannot (:func:`cashback_refusal`).

    ``reward_value`` when set (a fixed amount, rounded half-even to the cent), else
    ``cost_in_points * cashback_point_value`` rounded *down* to the cent, so the shop never pays
    more than the points are worth; never more than
    :data:`~flask_loyalty_rewards.bounds.MAX_MONEY` (settings written past the campaign check).
    """
    found = _cashback_amount(campaign)
    return found if isinstance(found, Decimal) else None


def _cashback_amount(campaign: RewardCampaignMixin) -> Decimal | RewardUnavailable:
    amount: Decimal | None
    if campaign.reward_value is not None:
        value = Decimal(campaign.reward_value)
        amount = value.quantize(CENT) if value.is_finite() and value <= MAX_MONEY else None
    elif campaign.cashback_point_value is not None:
        amount = points_worth(campaign.cashback_point_value, campaign.cost_in_points)
    else:
        return _not_configured(gettext("This cashback reward has no amount configured."))
    if amount is None:
        return _not_configured(gettext("This cashback reward's amount is out of range."))
    if amount <= 0:
        return _not_configured(gettext("This cashback reward is worth nothing."))
    return amount


def _not_configured(message: str) -> RewardUnavailable:
    return RewardUnavailable("cashback_not_configured", message)


def campaign_refusals(
    campaign: RewardCampaignMixin,
    customer_state: CustomerState,
    now: dt.datetime,
    *,
    check_visibility: bool = True,
) -> list[LoyaltyError]:
    """Every reason the customer cannot redeem the campaign now; empty if they can.

    The first is what :func:`~flask_loyalty_rewards.services.redemption.redeem` raises.
    ``check_visibility=False`` for an admin redeeming on a customer's behalf.
    """
    reasons: list[str] = []
    if not campaign.active:
        reasons.append("inactive")
    if check_visibility and not _inside(campaign.visible_from, campaign.visible_to, now):
        reasons.append("not_visible")
    if campaign.active_from is not None and now < campaign.active_from:
        reasons.append("not_started")
    if campaign.active_to is not None and now >= campaign.active_to:
        reasons.append("ended")
    if campaign.total_limit is not None and campaign.redeemed_count >= campaign.total_limit:
        reasons.append("sold_out")
    limit = campaign.per_customer_limit
    taken = customer_state.redemptions
    if limit is not None and taken is not None and taken >= limit:
        reasons.append("customer_limit")
    if campaign.code_source is CodeSource.POOL and customer_state.codes_left is False:
        reasons.append("no_codes_left")
    refusals: list[LoyaltyError] = [RewardUnavailable(reason) for reason in reasons]
    if campaign.reward_type is RewardType.CASHBACK:
        refusal = cashback_refusal(campaign)
        if refusal is not None:
            refusals.append(refusal)
        if customer_state.payout_refusal is not None:
            refusals.append(
                RewardUnavailable("cashback_unavailable", customer_state.payout_refusal)
            )
    active = customer_state.active_points
    if active is not None and campaign.cost_in_points > active:
        refusals.append(
            NotEnoughPoints(
                campaign.cost_in_points - active, cost=campaign.cost_in_points, active_points=active
            )
        )
    return refusals
