"""Redeeming rewards and the life of a redeemed reward afterwards.

Coupon status follows time: Inactive for ``days_inactive`` days after redemption, then Active for
``days_valid`` days (0: for ever), then Expired; a used coupon never expires; a cancelled one is
Canceled. What may happen when is decided by :mod:`flask_loyalty_rewards.rules`; the services
here raise the refusal a rule returns, and the admin offers an action when the rule returns None.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock, signals
from ..bounds import required_text
from ..cashback import payouts as cashback
from ..errors import (
    InvalidInput,
    InvalidStatusChange,
    LoyaltyError,
    NotEnoughPoints,
    RewardUnavailable,
)
from ..models import (
    CodeSource,
    CouponStatus,
    DeliveryStatus,
    EntryKind,
    HistoryEvent,
    LoyaltyModels,
    RewardType,
)
from ..models.mixins import RedeemedRewardMixin, RewardCampaignMixin
from ..profile import Address, CustomerProfile
from ..rules import (
    DELIVERY_TRANSITIONS,
    CustomerState,
    campaign_refusals,
    cancel_refusal,
    delivery_refusal,
    usage_refusal,
)
from . import campaigns, codes, events, ledger, redeem_pg, search
from .arguments import idempotency_key_argument, text_argument
from .context import Context
from .idempotency import Once, fingerprint, run_once, store_key
from .transaction import is_deadlock, unit_of_work

#: How many times a redemption runs when the database keeps picking it as a deadlock's victim.
DEADLOCK_ATTEMPTS = 3


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
) -> dict[int, Availability]:
    """Availability of many campaigns for one customer in a fixed number of queries.

    Campaigns given by id are loaded first (one query each).
    """
    now = now or clock.now()
    if isinstance(campaigns, str | bytes) or not isinstance(campaigns, Iterable):
        raise InvalidInput("campaigns must be a list of campaigns or campaign ids")
    campaigns = [ctx.campaign(c) for c in campaigns]
    customer_id = ctx.customer_id(customer)
    active = ledger.active_points(ctx, customer_id, now)
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
        values = _reward_values(
            campaign, customer_id, profile, now, campaign.cost_in_points, None, True
        )
        prospective = ctx.models.RedeemedReward(**values)
        refusal = cashback.payout_refusal(ctx, prospective, campaign)
        if refusal is not None:
            found[campaign.id] = refusal
    return found


def customer_redemptions(
    ctx: Context, customer_id: Any, campaign_ids: list[int], *, lock: bool = False
) -> dict[int, int]:
    """Redemptions holding a per-customer limit slot (not cancelled), per campaign."""
    rr = ctx.models.RedeemedReward.__table__
    stmt = (
        sa.select(rr.c.campaign_id, sa.func.count())
        .where(
            rr.c.customer_id == customer_id,
            rr.c.campaign_id.in_(campaign_ids),
            rr.c.canceled_at.is_(None),
        )
        .group_by(rr.c.campaign_id)
    )
    if lock:
        stmt = ctx.locked(stmt, aggregate=True)
    return {int(cid): int(n) for cid, n in ctx.session.execute(stmt).all()}


def add_history(
    ctx: Context,
    redeemed_id: int,
    event: HistoryEvent,
    now: dt.datetime,
    *,
    actor: str | None,
    from_value: Any = None,
    to_value: Any = None,
    note: str | None = None,
) -> None:
    table = ctx.models.RewardHistory.__table__

    def text(value: Any) -> str | None:
        return None if value is None else str(getattr(value, "value", value))

    ctx.session.execute(
        sa.insert(table).values(
            redeemed_reward_id=redeemed_id,
            event=event,
            from_value=text(from_value),
            to_value=text(to_value),
            actor=actor,
            note=note,
            created_at=now,
        )
    )


def redeem(
    ctx: Context,
    customer: Any,
    campaign: Any,
    *,
    idempotency_key: str | None = None,
    charge_points: bool = True,
    actor: str | None = None,
) -> RedeemedRewardMixin:
    """Spend the campaign's cost and issue the reward, all in one transaction.

    Admins redeeming on a customer's behalf (``actor`` set) may skip the visibility window and,
    with ``charge_points=False``, grant the reward for free (recorded with cost 0).
    """
    return redeem_once(
        ctx,
        customer,
        campaign,
        idempotency_key=idempotency_key,
        charge_points=charge_points,
        actor=actor,
    ).value


def redeem_once(
    ctx: Context,
    customer: Any,
    campaign: Any,
    *,
    idempotency_key: str | None = None,
    charge_points: bool = True,
    actor: str | None = None,
) -> Once[RedeemedRewardMixin]:
    """:func:`redeem`, also saying whether the answer replays an earlier request's reward."""
    now = clock.now()
    key = idempotency_key_argument(idempotency_key)
    actor = text_argument(actor, "actor")
    if not isinstance(charge_points, bool):
        raise InvalidInput("charge_points must be True or False")
    buyer, reward = ctx.customer_and_campaign(customer, campaign)
    customer_id = ctx.customer_id(buyer)
    profile = ctx.profile_of(buyer)
    # Only a keyed request is ever compared with another one.
    request = fingerprint(campaign=reward.id, charge=charge_points) if key is not None else ""

    def work() -> RedeemedRewardMixin:
        refusals = campaign_refusals(reward, CustomerState(), now, check_visibility=actor is None)
        if refusals:
            raise refusals[0]
        cost = reward.cost_in_points if charge_points else 0
        values = _reward_values(reward, customer_id, profile, now, cost, actor, charge_points)
        row: RedeemedRewardMixin | None = None
        gate_after: int | None = None
        if cost and _fits_one_statement(ctx, reward):
            row, gate_after = _redeem_in_one_statement(ctx, reward, values, key, request)
        if row is None:
            row = _redeem_step_by_step(ctx, reward, values, gate_after, key, request)
        codes.issue_to_host(ctx, row)
        if reward.reward_type is RewardType.CASHBACK:
            cashback.create_payout(ctx, row, reward, now)
        app = ctx.app
        ctx.after_commit.append(signals.later(signals.reward_redeemed, app, redeemed=row))
        return row

    def replay(existing: Any) -> RedeemedRewardMixin:
        return ctx.redeemed(existing.result_id, lock=False, current=True)

    attempt = 1
    while True:
        try:
            return run_once(ctx, customer_id, "redeem", key, request, work, replay)
        except sa.exc.DBAPIError as exc:
            # The database chose this redemption as a deadlock's victim and undid all of it;
            # when nothing of the host's was in the transaction, it can simply run again.
            if attempt == DEADLOCK_ATTEMPTS or not ctx.owns_transaction or not is_deadlock(exc):
                raise
            attempt += 1


def _fits_one_statement(ctx: Context, campaign: RewardCampaignMixin) -> bool:
    """Whether :mod:`.redeem_pg` can do the whole redemption (the common case, on PostgreSQL)."""
    return (
        ctx.dialect == "postgresql"
        and campaign.per_customer_limit is None
        and campaign.code_source is not CodeSource.POOL
    )


def _redeem_in_one_statement(
    ctx: Context,
    campaign: RewardCampaignMixin,
    values: dict[str, Any],
    key: str | None,
    request: str,
) -> tuple[RedeemedRewardMixin | None, int | None]:
    """The reward, or None and what the gate left (None: not passed) for the step path."""
    values.update(_code_values(codes.pick_code(ctx, campaign, values["redeemed_at"])))
    outcome = redeem_pg.redeem(
        ctx,
        values,
        key=None if key is None else ("redeem", key, request),
        event=events.redeemed_template(values) if events.enabled(ctx) else None,
    )
    if outcome.reward_id is None:
        return None, outcome.active_after
    if not outcome.slot_taken:
        # Sold out, or a limit set since the statement began: a new statement sees which.
        _take_limit_slot(ctx, campaign)
    assert outcome.active_after is not None
    ctx.session.expire(campaign, ["redeemed_count"])
    row = _attach(ctx, campaign, values, outcome.reward_id, outcome.active_after)
    return row, outcome.active_after


def _reward_values(
    campaign: RewardCampaignMixin,
    customer_id: Any,
    profile: CustomerProfile,
    now: dt.datetime,
    cost: int,
    actor: str | None,
    charged: bool,
) -> dict[str, Any]:
    """The redeemed reward's columns as of now, but for its code and the points left after."""
    address = profile.address or Address()
    active_from = now + dt.timedelta(days=campaign.days_inactive)
    valid = dt.timedelta(days=campaign.days_valid)
    active_to = active_from + valid if campaign.days_valid else None
    return {
        "campaign_id": campaign.id,
        "customer_id": customer_id,
        "reward_name": campaign.name,
        "reward_type": campaign.reward_type,
        "cost_in_points": cost,
        "tax_value": campaign.tax_value,
        "reward_value": campaign.reward_value,
        "customer_email": profile.email,
        "customer_phone": profile.phone,
        "customer_first_name": profile.first_name,
        "customer_last_name": profile.last_name,
        **search.search_keys(
            email=profile.email,
            first_name=profile.first_name,
            last_name=profile.last_name,
            phone=profile.phone,
        ),
        "address_line1": address.line1,
        "address_line2": address.line2,
        "address_postal_code": address.postal_code,
        "address_city": address.city,
        "address_region": address.region,
        "address_country": address.country,
        "redeemed_at": now,
        "redeemed_by": actor,
        "charged": charged,
        "active_from": active_from,
        "active_to": active_to,
        "used": False,
        "coupon_status": CouponStatus.INACTIVE if active_from > now else CouponStatus.ACTIVE,
        "cashback_status": (
            cashback.INIT_TEXT if campaign.reward_type is RewardType.CASHBACK else None
        ),
    }


def _code_values(picked: codes.PickedCode) -> dict[str, Any]:
    return {
        "coupon_code": picked.code,
        "unique_code": picked.code if picked.unique else None,
        "search_code": search.code_key(picked.code),
    }


def _attach(
    ctx: Context,
    campaign: RewardCampaignMixin,
    values: dict[str, Any],
    reward_id: int,
    active_after: int,
) -> RedeemedRewardMixin:
    """The ORM row for a reward the statement inserted, in the session by its key.

    Its columns are filled in after the commit (:func:`_loaded_after_commit`): until then the
    statement's locks (the account's, a limited campaign's row) are held, so nothing that can
    wait runs before the commit. A read before it (the cashback payout's) loads the row.
    """
    row = ctx.models.RedeemedReward(id=reward_id)
    make_transient_to_detached(row)
    ctx.session.add(row)
    _loaded_after_commit(ctx, row, campaign, {**values, "active_points_after": active_after})
    return row


def _loaded_after_commit(
    ctx: Context, row: RedeemedRewardMixin, campaign: RewardCampaignMixin, inserted: dict[str, Any]
) -> None:
    """Give ``row`` what it was inserted with once the transaction has committed.

    The commit expires every instance, so without this the caller's first look at the reward
    (its code, its status, for the page or the API) would cost another query. Nothing in the
    redemption changes the row after its insert; the columns not given were inserted NULL.
    """
    columns = {**dict.fromkeys(_inserted_null(ctx.models)), **inserted, "id": row.id}

    def fill() -> None:
        for name, value in columns.items():
            set_committed_value(row, name, value)
        set_committed_value(row, "campaign", campaign)

    ctx.after_commit.insert(0, fill)  # before the signals, whose receivers read the row


@functools.cache
def _inserted_null(models: LoyaltyModels) -> tuple[str, ...]:
    """The reward columns without a default: NULL in a new row unless the insert gives them."""
    table = models.RedeemedReward.__table__
    return tuple(c.key for c in table.c if c.default is None and c.server_default is None)


def _redeem_step_by_step(
    ctx: Context,
    campaign: RewardCampaignMixin,
    values: dict[str, Any],
    gate_after: int | None,
    key: str | None,
    request: str,
) -> RedeemedRewardMixin:
    """Every redemption one statement at a time; ``gate_after`` when the gate is passed already."""
    customer_id, now, actor = values["customer_id"], values["redeemed_at"], values["redeemed_by"]
    cost = values["cost_in_points"]
    if not cost:
        # A free grant takes no points but still queues on the customer's account, so limits
        # are counted one redemption at a time.
        ledger.lock_account(ctx, customer_id, now)
        active_after = ledger.active_points(ctx, customer_id, now)
    elif gate_after is None:
        active_after = ledger.spend_gate(ctx, customer_id, cost, now)
    else:
        active_after = ledger.checked_after_gate(cost, gate_after)
    if campaign.per_customer_limit is not None:
        taken = customer_redemptions(ctx, customer_id, [campaign.id], lock=True)
        if taken.get(campaign.id, 0) >= campaign.per_customer_limit:
            raise RewardUnavailable("customer_limit")
    draws = ledger.draw_fifo(ctx, customer_id, cost, now) if cost else []
    slot_first = _slot_first(ctx, campaign)
    if slot_first:
        _take_limit_slot(ctx, campaign)
    picked = codes.pick_code(ctx, campaign, now)
    values.update(_code_values(picked))
    row = ctx.models.RedeemedReward(**values, active_points_after=active_after)
    ctx.session.add(row)
    ctx.session.flush()
    _loaded_after_commit(ctx, row, campaign, {**values, "active_points_after": active_after})
    if cost:
        ledger.add_entry(
            ctx,
            customer_id,
            EntryKind.SPEND,
            -cost,
            now,
            reason=campaign.name,
            reference=picked.code,
            actor=actor,
            redeemed_reward_id=row.id,
            draws=draws,
        )
    codes.hand_out(ctx, picked, row.id, now)
    add_history(ctx, row.id, HistoryEvent.REDEEMED, now, actor=actor, to_value=row.coupon_status)
    events.record(
        ctx,
        events.EventType.REWARD_REDEEMED,
        customer_id,
        now,
        events.redeemed_data(values, row.id, active_after),
    )
    if key is not None:
        store_key(ctx, customer_id, "redeem", key, request, result_id=row.id)
    if not slot_first:
        _take_limit_slot(ctx, campaign)
    return row


def _take_limit_slot(ctx: Context, campaign: RewardCampaignMixin) -> None:
    """Count the redemption on a campaign with a total limit, which the count enforces."""
    if not campaigns.count_slot(ctx, campaign.id, 1, limited=campaign.total_limit is not None):
        raise RewardUnavailable("sold_out")
    ctx.session.expire(campaign, ["redeemed_count"])


def _slot_first(ctx: Context, campaign: RewardCampaignMixin) -> bool:
    """Whether the step path counts on a limited campaign before it inserts the reward.

    On PostgreSQL it counts last, so the campaign row, shared by every customer, stays locked
    for the shortest time. Elsewhere the reward's foreign key share-locks that row, and a count
    after it would upgrade the lock, which deadlocks two redemptions that both hold it.
    """
    return campaign.total_limit is not None and ctx.dialect != "postgresql"


def _refuse(
    message: str, reason: str, redeemed: RedeemedRewardMixin, status: CouponStatus
) -> InvalidStatusChange:
    return InvalidStatusChange(
        message, reason=reason, redeemed_reward_id=redeemed.id, coupon_status=status.value
    )


def _sync_status(
    ctx: Context, redeemed: RedeemedRewardMixin, now: dt.datetime, actor: str | None
) -> CouponStatus:
    """Bring the stored coupon status up to date with time, recording what changed."""
    status = redeemed.status_at(now)
    if status is not redeemed.coupon_status:
        event = HistoryEvent.EXPIRED if status is CouponStatus.EXPIRED else HistoryEvent.ACTIVATED
        if status in (CouponStatus.EXPIRED, CouponStatus.ACTIVE):
            add_history(
                ctx,
                redeemed.id,
                event,
                now,
                actor=actor,
                from_value=redeemed.coupon_status,
                to_value=status,
            )
        redeemed.coupon_status = status
    return status


def mark_used(
    ctx: Context, redeemed: Any, *, actor: str | None = None, order_reference: str | None = None
) -> RedeemedRewardMixin:
    now = clock.now()
    actor = text_argument(actor, "actor")
    order_reference = text_argument(order_reference, "order_reference")
    with unit_of_work(ctx):
        row = ctx.redeemed(redeemed)
        status = _sync_status(ctx, row, now, actor)
        if row.used:
            raise _refuse("This reward is already marked as used.", "already_used", row, status)
        refusal = usage_refusal(row, now)
        if refusal is not None:
            raise refusal
        row.used = True
        row.used_at = now
        row.used_order_reference = order_reference
        row.delivery_status = DeliveryStatus.ORDERED
        add_history(
            ctx,
            row.id,
            HistoryEvent.USED,
            now,
            actor=actor,
            to_value=DeliveryStatus.ORDERED,
            note=order_reference,
        )
        events.record(
            ctx,
            events.EventType.REWARD_USED,
            row.customer_id,
            now,
            {
                **events.reward_data(row, actor=actor),
                "used_at": now,
                "order_reference": order_reference,
            },
        )
        app = ctx.app
        ctx.after_commit.append(signals.later(signals.reward_used, app, redeemed=row, actor=actor))
    return row


def unmark_used(ctx: Context, redeemed: Any, *, actor: str | None = None) -> RedeemedRewardMixin:
    now = clock.now()
    actor = text_argument(actor, "actor")
    with unit_of_work(ctx):
        row = ctx.redeemed(redeemed)
        status = _sync_status(ctx, row, now, actor)
        if not row.used:
            raise _refuse("This reward is not marked as used.", "not_used", row, status)
        refusal = usage_refusal(row, now)
        if refusal is not None:
            raise refusal
        row.used = False
        row.used_at = None
        row.used_order_reference = None
        row.delivery_status = None
        add_history(
            ctx, row.id, HistoryEvent.UNUSED, now, actor=actor, from_value=DeliveryStatus.ORDERED
        )
        status = _sync_status(ctx, row, now, actor)
        events.record(
            ctx,
            events.EventType.REWARD_UNUSED,
            row.customer_id,
            now,
            {**events.reward_data(row, actor=actor), "coupon_status": status},
        )
        app = ctx.app
        ctx.after_commit.append(
            signals.later(signals.reward_unused, app, redeemed=row, actor=actor)
        )
    return row


def set_delivery_status(
    ctx: Context, redeemed: Any, status: Any, *, actor: str | None = None
) -> RedeemedRewardMixin:
    now = clock.now()
    actor = text_argument(actor, "actor")
    try:
        new = status if isinstance(status, DeliveryStatus) else DeliveryStatus(status)
    except ValueError as exc:
        raise InvalidInput(
            f"delivery status must be one of {', '.join(s.value for s in DeliveryStatus)}"
        ) from exc
    with unit_of_work(ctx):
        row = ctx.redeemed(redeemed)
        _sync_status(ctx, row, now, actor)
        refusal = delivery_refusal(row, new, now)
        if refusal is not None:
            raise refusal
        old = row.delivery_status
        if new is old:
            return row
        row.delivery_status = new
        add_history(
            ctx,
            row.id,
            HistoryEvent.DELIVERY_STATUS,
            now,
            actor=actor,
            from_value=old,
            to_value=new,
        )
        events.record(
            ctx,
            events.EventType.DELIVERY_STATUS_CHANGED,
            row.customer_id,
            now,
            {**events.reward_data(row, actor=actor), "from_status": old, "to_status": new},
        )
        app = ctx.app
        ctx.after_commit.append(
            signals.later(
                signals.delivery_status_changed, app, redeemed=row, old=old, new=new, actor=actor
            )
        )
    return row


def cancel_redemption(
    ctx: Context, redeemed: Any, *, reason: str, actor: str | None = None
) -> RedeemedRewardMixin:
    """Undo a redemption: points back to their lots, the limit slot freed, the code not reused."""
    now = clock.now()
    actor = text_argument(actor, "actor")
    reason = required_text(reason, "reason", 2000)
    with unit_of_work(ctx):
        row = ctx.redeemed(redeemed)
        status = _sync_status(ctx, row, now, actor)
        refusal = cancel_refusal(row, cashback.payout_of(ctx, row), now)
        if refusal is not None:
            raise refusal
        entry = ctx.models.LedgerEntry
        spend_entry = ctx.session.execute(
            sa.select(entry).where(
                entry.redeemed_reward_id == row.id, entry.kind == EntryKind.SPEND
            )
        ).scalar_one_or_none()
        returned = 0
        if spend_entry is not None:
            ledger.lock_account(ctx, row.customer_id, now)
            returned = ledger.give_back(ctx, spend_entry, now, actor=actor, reason=reason)
        campaigns.count_slot(ctx, row.campaign_id, -1, limited=True)
        row.coupon_status = CouponStatus.CANCELED
        row.canceled_at = now
        row.cancel_reason = reason
        add_history(
            ctx,
            row.id,
            HistoryEvent.CANCELED,
            now,
            actor=actor,
            from_value=status,
            to_value=CouponStatus.CANCELED,
            note=reason,
        )
        events.record(
            ctx,
            events.EventType.REDEMPTION_CANCELLED,
            row.customer_id,
            now,
            {**events.reward_data(row, actor=actor), "points_returned": returned, "reason": reason},
        )
        app = ctx.app
        ctx.after_commit.append(
            signals.later(
                signals.redemption_cancelled, app, redeemed=row, actor=actor, reason=reason
            )
        )
    return row


def points_needed(ctx: Context, customer: Any, campaign: Any) -> int:
    reward = ctx.campaign(campaign)
    return max(0, reward.cost_in_points - ledger.active_points(ctx, ctx.customer_id(customer)))


__all__ = [
    "DELIVERY_TRANSITIONS",
    "Availability",
    "NotEnoughPoints",
    "availabilities",
    "cancel_redemption",
    "mark_used",
    "points_needed",
    "redeem",
    "set_delivery_status",
    "unmark_used",
    "visible_filter",
]
