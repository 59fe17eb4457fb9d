"""Whether a customer can redeem a campaign now, asked by the pages before they offer it.

The answers come from the same rules :func:`.issue.redeem` raises
(:func:`~flask_loyalty_rewards.rules.campaign_refusals`), fed with what many campaigns need in
a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ... import clock
from ...cashback import payouts as cashback
from ...errors import InvalidInput, LoyaltyError, RewardUnavailable
from ...models import CodeSource, RewardType
from ...models.mixins import RewardCampaignMixin
from ...rules import CustomerState, campaign_refusals
from .. import codes, ledger
from ..context import Context
from .issue import customer_redemptions, reward_values


@dataclass(frozen=True)
class Availability:
    """Whether a customer can redeem a campaign now, and if not, every reason why.

    ``reasons`` are the stable codes, ``messages`` the words for people, in the same order;
    ``reason`` and ``message`` are the first of them (what ``redeem`` would raise), and
    ``message`` joins them all when there are several.
    """

    can_redeem: bool
    reasons: tuple[str, ...]
    messages: tuple[str, ...]
    points_needed: int

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None

    @property
    def message(self) -> str | None:
        return " ".join(self.messages) if self.messages else None

    @classmethod
    def of(cls, refusals: list[LoyaltyError], points_needed: int) -> Availability:
        return cls(
            not refusals,
            tuple(refusal_reason(r) for r in refusals),
            tuple(r.message for r in refusals),
            points_needed,
        )


def refusal_reason(refusal: LoyaltyError) -> str:
    """The reason code of a campaign refusal: ``not_enough_points`` or the unavailable reason."""
    return refusal.reason if isinstance(refusal, RewardUnavailable) else refusal.code


def visible_filter(model: type[RewardCampaignMixin], now: dt.datetime) -> sa.ColumnElement[bool]:
    """SQL for "shown to customers now": active and inside the visibility window."""
    return sa.and_(
        model.active.is_(True),
        sa.or_(model.visible_from.is_(None), model.visible_from <= now),
        sa.or_(model.visible_to.is_(None), model.visible_to > now),
    )


def availabilities(
    ctx: Context,
    customer: Any,
    campaigns: Iterable[RewardCampaignMixin],
    now: dt.datetime | None = None,
    *,
    active_points: int | None = None,
) -> dict[int, Availability]:
    """Availability of many campaigns for one customer in a fixed number of queries.

    Campaigns given by id are loaded first (one query each). ``active_points``: the customer's,
    when the caller has read them already (a page that shows them too), to save the query.
    """
    now = now or clock.now()
    if isinstance(campaigns, str | bytes) or not isinstance(campaigns, Iterable):
        raise InvalidInput("campaigns must be a list of campaigns or campaign ids")
    campaigns = [ctx.campaign(c) for c in campaigns]
    customer_id = ctx.customer_id(customer)
    active = ledger.active_points(ctx, customer_id, now) if active_points is None else active_points
    limited = [c.id for c in campaigns if c.per_customer_limit is not None]
    taken = customer_redemptions(ctx, customer_id, limited) if limited else {}
    pools = codes.codes_left(ctx, [c.id for c in campaigns if c.code_source is CodeSource.POOL])
    payouts = _payout_refusals(ctx, customer, campaigns, now)
    result: dict[int, Availability] = {}
    for campaign in campaigns:
        state = CustomerState(
            active_points=active,
            redemptions=taken.get(campaign.id, 0),
            codes_left=bool(pools.get(campaign.id)),
            payout_refusal=payouts.get(campaign.id),
        )
        needed = max(0, campaign.cost_in_points - active)
        result[campaign.id] = Availability.of(campaign_refusals(campaign, state, now), needed)
    return result


def _payout_refusals(
    ctx: Context, customer: Any, campaigns: list[RewardCampaignMixin], now: dt.datetime
) -> dict[int, str]:
    """The payout provider's refusal of each cashback campaign, asked about the reward that
    redeeming it now would create (the same question the redemption asks)."""
    cashbacks = [c for c in campaigns if c.reward_type is RewardType.CASHBACK]
    if not cashbacks:
        return {}
    buyer = ctx.customer_object(customer)
    customer_id, profile = ctx.customer_id(buyer), ctx.profile_of(buyer)
    found: dict[int, str] = {}
    for campaign in cashbacks:
        values = reward_values(
            campaign, customer_id, profile, now, campaign.cost_in_points, None, True
        )
        prospective = ctx.models.RedeemedReward(**values)
        refusal = cashback.payout_refusal(ctx, prospective, campaign)
        if refusal is not None:
            found[campaign.id] = refusal
    return found


def points_needed(ctx: Context, customer: Any, campaign: Any) -> int:
    """How many more points the customer needs for the campaign (0 when enough).

    Raises: InvalidInput, NotFound (no such customer), RewardUnavailable (``not_found``: no such
    campaign).
    """
    reward = ctx.campaign(campaign)
    return max(0, reward.cost_in_points - ledger.active_points(ctx, ctx.customer_id(customer)))
