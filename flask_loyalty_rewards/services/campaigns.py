"""Reward campaign management: the rules a campaign's settings must keep, and (de)activation.

The admin's form shows :func:`campaign_problems` next to the fields; :func:`check_campaign` is
the same check, run before every flush that inserts or changes a campaign
(:func:`guard_campaigns`), so plain ORM code cannot store a campaign the form would refuse.
"""

from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from .. import clock
from ..bounds import (
    MAX_COUNT,
    MAX_DAYS,
    MAX_MONEY,
    MAX_POINT_VALUE,
    MAX_POINTS,
    MONEY_PLACES,
    POINT_VALUE_PLACES,
    amount_problem,
    points_worth,
    whole_problem,
)
from ..errors import InvalidInput
from ..i18n import gettext
from ..models import CampaignEvent, CodeSource, RewardType, audit
from ..models.mixins import RewardCampaignMixin
from .arguments import integer_id
from .context import Context
from .transaction import unit_of_work


def take_slot(campaign: sa.Table, campaign_id: Any) -> sa.Update:
    """The conditional write that counts a redemption on a campaign with a total limit.

    It matches no row when the campaign has no limit: those redemptions leave the campaign row
    alone, so they never queue on it (see :func:`count_slot`).
    """
    return (
        sa.update(campaign)
        .where(
            campaign.c.id == campaign_id,
            campaign.c.total_limit.is_not(None),
            campaign.c.redeemed_count < campaign.c.total_limit,
        )
        .values(redeemed_count=campaign.c.redeemed_count + sa.literal_column("1"))
    )


def limit_now(campaign: sa.Table, campaign_id: Any) -> sa.Select[Any]:
    """The campaign's total limit as last committed, share-locked until our commit.

    The lock is PostgreSQL's weakest (``FOR KEY SHARE``, the one a foreign key takes anyway), so
    redemptions never wait for each other on it; only a change of the limit waits, and makes
    them wait (:func:`~flask_loyalty_rewards.models.count_slots_when_limited`).
    """
    return (
        sa.select(campaign.c.total_limit)
        .where(campaign.c.id == campaign_id)
        .with_for_update(read=True, key_share=True)
    )


def count_slot(ctx: Context, campaign_id: Any, delta: int, *, limited: bool) -> bool:
    """Take (``delta`` 1) or give back (-1) a slot of the campaign's total limit.

    False when no slot is left. A campaign without a limit counts nothing (its redemptions are
    counted from the rewards themselves), and its row is only share-locked. ``limited`` says
    whether the campaign had a limit when it was read, the likely answer, so it is tried first;
    the locked read then sees the limit as last committed, and a limit set since then is
    counted after all.
    """
    table = ctx.models.RewardCampaign.__table__
    if delta > 0:
        write: sa.Update = take_slot(table, campaign_id)
    else:
        write = (
            sa.update(table)
            .where(table.c.id == campaign_id, table.c.total_limit.is_not(None))
            .values(redeemed_count=table.c.redeemed_count - sa.literal_column("1"))
        )
    if limited and ctx.write(write):
        return True
    if ctx.session.execute(limit_now(table, campaign_id)).scalar_one() is None:
        return True
    return bool(ctx.write(write))


def campaign_problems(values: dict[str, Any]) -> dict[str, str]:
    """Field name -> what is wrong with it, for a campaign's settings (empty when all is well)."""
    problems: dict[str, str] = {}
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        problems["name"] = gettext("Give the reward a name.")
    elif len(name) > 200:
        problems["name"] = gettext("The name may have at most 200 characters.")
    if not isinstance(values.get("reward_type"), RewardType):
        problems["reward_type"] = gettext("Choose a reward type.")
    cost = values.get("cost_in_points")
    if not isinstance(cost, int) or isinstance(cost, bool) or cost <= 0:
        problems["cost_in_points"] = gettext("The cost in points must be a whole number above 0.")
    elif cost > MAX_POINTS:
        problems["cost_in_points"] = gettext(
            "The cost in points may be at most %(max)s.", max=MAX_POINTS
        )
    for field in ("tax_value", "reward_value"):
        money = values.get(field)
        if money is None:
            if field == "tax_value":
                problems[field] = gettext("Enter the tax value (0 if none).")
            continue
        if amount_problem(money, maximum=MAX_MONEY, places=MONEY_PLACES):
            problems[field] = gettext(
                "Enter an amount between 0 and %(max)s, with at most %(places)s decimals.",
                max=MAX_MONEY,
                places=MONEY_PLACES,
            )
    per_point = values.get("cashback_point_value")
    if per_point is not None:
        if amount_problem(per_point, maximum=MAX_POINT_VALUE, places=POINT_VALUE_PLACES):
            problems["cashback_point_value"] = gettext(
                "Enter an amount between 0 and %(max)s, with at most %(places)s decimals.",
                max=MAX_POINT_VALUE,
                places=POINT_VALUE_PLACES,
            )
        elif isinstance(cost, int) and points_worth(per_point, cost) is None:
            problems["cashback_point_value"] = gettext(
                "The cashback (cost in points times this) may be at most %(max)s.", max=MAX_MONEY
            )
    if (
        values.get("reward_type") is RewardType.CASHBACK
        and values.get("reward_value") is None
        and per_point is None
    ):
        problems["reward_value"] = gettext(
            "A cashback reward pays money: enter its reward value or a cashback per point."
        )
    currency = values.get("currency")
    if currency and (
        not isinstance(currency, str)
        or len(currency) != 3
        or not currency.isascii()
        or not currency.isalpha()
    ):
        problems["currency"] = gettext("Use a three-letter currency code such as EUR.")
    for field in ("total_limit", "per_customer_limit"):
        limit = values.get(field)
        if limit is not None and whole_problem(limit, minimum=1, maximum=MAX_COUNT):
            problems[field] = gettext(
                "Leave empty for no limit, or enter a whole number from 1 to %(max)s.",
                max=MAX_COUNT,
            )
    for field in ("days_inactive", "days_valid"):
        if whole_problem(values.get(field), minimum=0, maximum=MAX_DAYS):
            problems[field] = gettext("Enter a number of days between 0 and %(max)s.", max=MAX_DAYS)
    for start, end in (("active_from", "active_to"), ("visible_from", "visible_to")):
        first, last = values.get(start), values.get(end)
        if isinstance(first, dt.datetime) and isinstance(last, dt.datetime) and last <= first:
            problems[end] = gettext("The end must come after the start.")
    source = values.get("code_source")
    if not isinstance(source, CodeSource):
        problems["code_source"] = gettext("Choose where the coupon codes come from.")
    elif source is CodeSource.SHARED and not (values.get("shared_code") or "").strip():
        problems["shared_code"] = gettext("A campaign with one shared code needs that code.")
    elif source is not CodeSource.SHARED and (values.get("shared_code") or "").strip():
        problems["shared_code"] = gettext(
            "Only a campaign with one shared code takes a shared code."
        )
    if (values.get("shared_code") or "") and len(values["shared_code"]) > 64:
        problems["shared_code"] = gettext("The code may have at most 64 characters.")
    if values.get("fulfillment_tracking") and values.get("reward_type") is not RewardType.GIFT:
        problems["fulfillment_tracking"] = gettext("Only gifts have a delivery to track.")
    return problems


def check_campaign(campaign: RewardCampaignMixin) -> None:
    """Raise :class:`InvalidInput` listing every problem of a campaign's settings."""
    values = {c.key: getattr(campaign, c.key) for c in campaign.__table__.c}
    problems = campaign_problems(values)
    if problems:
        raise InvalidInput("; ".join(f"{k}: {v}" for k, v in problems.items()), **problems)


def fill_defaults(campaign: RewardCampaignMixin) -> None:
    """Give a new campaign the column defaults it left unset, so the rules see real values."""
    for column in campaign.__table__.c:
        default = column.default
        if (
            default is not None
            and getattr(default, "is_scalar", False)
            and getattr(campaign, column.key) is None
        ):
            setattr(campaign, column.key, default.arg)  # type: ignore[attr-defined]


def guard_campaigns(session: Session, model: type[RewardCampaignMixin]) -> None:
    """Check every campaign a flush would insert or change, whoever wrote it (a flush hook).

    Registered on the host's session by ``init_app``: plain ORM code, the admin form and our
    services all pass through it, so an invalid campaign raises :class:`InvalidInput` before
    any of it reaches the database, and the session keeps it pending to be fixed or rolled back.
    A change also moves ``updated_at`` to now (unless the change sets it itself).
    """
    for campaign in session.new:
        if isinstance(campaign, model):
            fill_defaults(campaign)
            check_campaign(campaign)
    for campaign in session.dirty:
        if isinstance(campaign, model) and session.is_modified(campaign):
            check_campaign(campaign)
            if not sa.inspect(campaign).attrs.updated_at.history.added:
                campaign.updated_at = clock.now()


def watch_session(session: Any, model: type[RewardCampaignMixin]) -> None:
    """Run :func:`guard_campaigns` before each flush of ``session`` (once per model)."""
    key = (id(model), "loyalty_campaign_guard")
    registered: set[Any] = _watched.setdefault(session, set())
    if key in registered:
        return
    registered.add(key)

    def before_flush(target: Session, flush_context: Any, instances: Any) -> None:
        guard_campaigns(target, model)

    event.listen(session, "before_flush", before_flush)


_watched: weakref.WeakKeyDictionary[Any, set[Any]] = weakref.WeakKeyDictionary()


def set_active(
    ctx: Context, campaign_ids: list[Any], active: bool, *, actor: str | None = None
) -> int:
    """Activate or deactivate campaigns; returns how many changed. Redeemed rewards stay valid.

    Each change is recorded in the campaign's audit trail.
    """
    ids = [integer_id(i, "campaign") for i in campaign_ids]
    table = ctx.models.RewardCampaign.__table__
    now = clock.now()
    with unit_of_work(ctx):
        # Locked first, so the trail names exactly the campaigns this call changed.
        changing = list(
            ctx.session.execute(
                ctx.locked(
                    sa.select(table.c.id).where(table.c.id.in_(ids), table.c.active.is_not(active))
                )
            ).scalars()
        )
        if changing:
            ctx.session.execute(
                sa.update(table)
                .where(table.c.id.in_(changing))
                .values(active=active, updated_at=now)
            )
        event = CampaignEvent.ACTIVATED if active else CampaignEvent.DEACTIVATED
        audit.record(
            ctx.session,
            ctx.models.CampaignAudit.__table__,
            [
                audit.entry(
                    cid, event, actor=actor, field="active", old=not active, new=active, now=now
                )
                for cid in changing
            ],
        )
    return len(changing)
