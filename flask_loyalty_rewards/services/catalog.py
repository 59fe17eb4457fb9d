"""Read-only queries the client cockpit and the JSON API show a customer.

Every query here is scoped to one customer (or to what every customer may see), so an adapter
cannot show one customer's rewards to another by forgetting a filter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from .. import clock
from ..errors import NotFound
from ..models.mixins import (
    PointsLotMixin,
    RedeemedRewardMixin,
    RewardCampaignMixin,
    has_points_left,
)
from .arguments import integer_id, whole_argument
from .context import Context
from .redemption import visible_filter

T = TypeVar("T")

#: The largest page a listing serves, whatever the caller asks for.
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing in a stable order, with what pagination controls need."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_arguments(page: Any, per_page: Any) -> tuple[int, int]:
    return whole_argument(page, "page"), whole_argument(per_page, "per_page", maximum=MAX_PER_PAGE)


def visible_campaigns(ctx: Context, now: dt.datetime | None = None) -> list[RewardCampaignMixin]:
    """Every campaign shown to customers now, cheapest first, in one query."""
    model = ctx.models.RewardCampaign
    stmt = (
        sa.select(model)
        .where(visible_filter(model, now or clock.now()))
        .order_by(model.cost_in_points, model.name, model.id)
    )
    return list(ctx.session.execute(stmt).scalars())


def visible_campaign(
    ctx: Context, campaign_id: Any, now: dt.datetime | None = None
) -> RewardCampaignMixin:
    """One campaign customers may see now; a hidden or unknown one is "not found"."""
    cid = integer_id(campaign_id, "campaign")
    model = ctx.models.RewardCampaign
    found = ctx.session.execute(
        sa.select(model).where(model.id == cid, visible_filter(model, now or clock.now()))
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("no such reward", campaign_id=cid)
    return found


def redeemed_rewards(
    ctx: Context, customer: Any, *, page: Any = 1, per_page: Any = 20
) -> Page[RedeemedRewardMixin]:
    """A customer's own redeemed rewards, newest first (ties by id, so pages never overlap)."""
    page, per_page = page_arguments(page, per_page)
    customer_id = ctx.customer_id(customer)
    model = ctx.models.RedeemedReward
    mine = model.customer_id == customer_id
    total = ctx.session.execute(
        sa.select(sa.func.count()).select_from(model).where(mine)
    ).scalar_one()
    rows = (
        ctx.session.execute(
            sa.select(model)
            .where(mine)
            .order_by(model.redeemed_at.desc(), model.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        .unique()
        .scalars()
        .all()
    )
    return Page(items=list(rows), page=page, per_page=per_page, total=int(total))


def redeemed_reward(ctx: Context, customer: Any, redeemed_id: Any) -> RedeemedRewardMixin:
    """One of the customer's own redeemed rewards; someone else's is "not found", not forbidden."""
    rid = integer_id(redeemed_id, "redeemed reward")
    customer_id = ctx.customer_id(customer)
    model = ctx.models.RedeemedReward
    found = (
        ctx.session.execute(
            sa.select(model).where(model.id == rid, model.customer_id == customer_id)
        )
        .unique()
        .scalar_one_or_none()
    )
    if found is None:
        raise NotFound("no such redeemed reward", redeemed_reward_id=rid)
    return found


def open_lots(ctx: Context, customer: Any, now: dt.datetime | None = None) -> list[PointsLotMixin]:
    """The customer's lots that still hold points (spendable or pending), in spending order."""
    now = now or clock.now()
    customer_id = ctx.customer_id(customer)
    lot = ctx.models.PointsLot
    stmt = (
        sa.select(lot)
        .where(
            lot.customer_id == customer_id,
            has_points_left(lot.remaining),
            lot.spend_order_at > now,
            lot.revoked_at.is_(None),
        )
        .order_by(lot.spend_order_at, lot.earned_at, lot.id)
    )
    return list(ctx.session.execute(stmt).scalars())
