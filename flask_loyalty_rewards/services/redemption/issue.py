"""Issuing a reward: the points spent, the reward row with its snapshot, in one transaction.

Step by step everywhere; on PostgreSQL the common redemption is one statement
(:mod:`.one_statement_pg`), and whatever that statement cannot decide alone falls back to the
step path here, which makes the same decisions and writes the same rows.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ... import clock, signals
from ...cashback import payouts as cashback
from ...errors import InvalidInput, RewardUnavailable
from ...models import CodeSource, CouponStatus, EntryKind, HistoryEvent, LoyaltyModels, RewardType
from ...models.events import EventType
from ...models.keys import code_key, search_keys
from ...models.mixins import RedeemedRewardMixin, RewardCampaignMixin, address_values
from ...profile import Address, CustomerProfile
from ...rules import CustomerState, campaign_refusals
from .. import campaigns, codes, dialect, events, ledger
from ..arguments import idempotency_key_argument, text_argument
from ..context import Context
from ..idempotency import Once, fingerprint, run_once, store_key, value_of
from ..transaction import retrying_deadlocks
from . import one_statement_pg
from .lifecycle import add_history


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


def redeem_once(
    ctx: Context,
    customer: Any,
    campaign: Any,
    *,
    idempotency_key: str | None = None,
    charge_points: bool = True,
    actor: str | None = None,
) -> Once[RedeemedRewardMixin]:
    """Spend the campaign's cost and issue the reward, all in one transaction.

    Admins redeeming on a customer's behalf (``actor`` set) may skip the visibility window and,
    with ``charge_points=False``, grant the reward for free (recorded with cost 0). The answer
    says whether it replays an earlier request's reward.
    """
    now = clock.now()
    key = idempotency_key_argument(idempotency_key)
    actor = text_argument(actor, "actor")
    if not isinstance(charge_points, bool):
        raise InvalidInput("charge_points must be True or False")
    autocommit = _autocommit(ctx)
    try:
        return _redeem_once(ctx, customer, campaign, now, key, actor, charge_points, autocommit)
    finally:
        if autocommit is not None:
            autocommit.end()


redeem = value_of(
    redeem_once,
    """Spend the customer's points on a reward; a retry under the same key replays.

    Raises: InvalidInput, NotFound (no such customer), NotEnoughPoints, RewardUnavailable
    (``reason`` says why), IdempotencyConflict.
    """,
)


def _autocommit(ctx: Context) -> one_statement_pg.Autocommit | None:
    """Autocommit from the first statement, when the redemption is the whole transaction."""
    if (
        not dialect.writes_with_statement_ctes(ctx.dialect)
        or not ctx.owns_transaction
        or ctx.session.in_transaction()
    ):
        return None
    return one_statement_pg.Autocommit.begin(ctx)


def _redeem_once(
    ctx: Context,
    customer: Any,
    campaign: Any,
    now: dt.datetime,
    key: str | None,
    actor: str | None,
    charge_points: bool,
    autocommit: one_statement_pg.Autocommit | None,
) -> Once[RedeemedRewardMixin]:
    buyer, reward = ctx.customer_and_campaign(customer, campaign)
    customer_id = ctx.customer_id(buyer)
    profile = ctx.profile_of(buyer)
    # Only a keyed request is ever compared with another one.
    request_fingerprint = (
        fingerprint(campaign=reward.id, charge=charge_points) if key is not None else ""
    )

    def work() -> RedeemedRewardMixin:
        refusals = campaign_refusals(reward, CustomerState(), now, check_visibility=actor is None)
        if refusals:
            raise refusals[0]
        cost = reward.cost_in_points if charge_points else 0
        values = reward_values(reward, customer_id, profile, now, cost, actor, charge_points)
        row: RedeemedRewardMixin | None = None
        one_statement = bool(cost) and _fits_one_statement(ctx, reward)
        if autocommit is not None and not (one_statement and _nothing_after(ctx, reward)):
            autocommit.end()
        if one_statement:
            row = _redeem_in_one_statement(ctx, reward, values, key, request_fingerprint)
        if autocommit is not None:
            autocommit.end()  # whatever follows is one transaction again
        if row is None:
            row = _redeem_step_by_step(ctx, reward, values, key, request_fingerprint)
        codes.issue_to_host(ctx, row)
        if reward.reward_type is RewardType.CASHBACK:
            cashback.create_payout(ctx, row, reward, now)
        app = ctx.app
        ctx.after_commit.append(signals.later(signals.reward_redeemed, app, redeemed=row))
        return row

    def replay(existing: Any) -> RedeemedRewardMixin:
        return ctx.redeemed(existing.result_id, lock=False, current=True)

    return retrying_deadlocks(
        ctx, lambda: run_once(ctx, customer_id, "redeem", key, request_fingerprint, work, replay)
    )


def _fits_one_statement(ctx: Context, campaign: RewardCampaignMixin) -> bool:
    """Whether :mod:`.one_statement_pg` can do the whole redemption (the common case, on
    PostgreSQL)."""
    return (
        dialect.writes_with_statement_ctes(ctx.dialect)
        and campaign.per_customer_limit is None
        and campaign.code_source is not CodeSource.POOL
    )


def _nothing_after(ctx: Context, campaign: RewardCampaignMixin) -> bool:
    """Whether a reward of the campaign is done once its statement has run: no host callback to
    call, no payout to create, no limit slot that may still be missing (all three can refuse,
    which must undo the redemption)."""
    return (
        (ctx.coupon_issuer is None or campaign.code_source is CodeSource.NONE)
        and campaign.reward_type is not RewardType.CASHBACK
        and campaign.total_limit is None
    )


def _redeem_in_one_statement(
    ctx: Context,
    campaign: RewardCampaignMixin,
    values: dict[str, Any],
    key: str | None,
    request_fingerprint: str,
) -> RedeemedRewardMixin | None:
    """The reward; None when the statement's gate refused (it wrote nothing): the step path
    then decides afresh."""
    values.update(_code_values(codes.pick_code(ctx, campaign, values["redeemed_at"])))
    outcome = one_statement_pg.redeem(
        ctx,
        values,
        limited=campaign.total_limit is not None,
        key=None if key is None else ("redeem", key, request_fingerprint),
        event=events.redeemed_template(values) if events.enabled(ctx) else None,
    )
    if outcome.reward_id is None:
        return None
    if not outcome.slot_taken:
        # Sold out, or a limit set since the statement began: a new statement sees which.
        _take_limit_slot(ctx, campaign)
    elif campaign.total_limit is not None:
        ctx.session.expire(campaign, ["redeemed_count"])  # the statement counted the slot
    assert outcome.active_after is not None
    return _attach(ctx, campaign, values, outcome.reward_id, outcome.active_after)


def reward_values(
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
        **search_keys(
            email=profile.email,
            first_name=profile.first_name,
            last_name=profile.last_name,
            phone=profile.phone,
        ),
        **address_values(address),
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
        "search_code": code_key(picked.code),
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
    key: str | None,
    request_fingerprint: str,
) -> RedeemedRewardMixin:
    """Every redemption one statement at a time."""
    customer_id, now, actor = values["customer_id"], values["redeemed_at"], values["redeemed_by"]
    cost = values["cost_in_points"]
    if not cost:
        # A free grant takes no points but still queues on the customer's account, so limits
        # are counted one redemption at a time.
        ledger.lock_account(ctx, customer_id, now)
        active_after = ledger.active_points(ctx, customer_id, now)
    else:
        active_after = ledger.spend_gate(ctx, customer_id, cost, now)
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
        EventType.REWARD_REDEEMED,
        customer_id,
        now,
        events.redeemed_data(values, row.id, active_after),
    )
    if key is not None:
        store_key(ctx, customer_id, "redeem", key, request_fingerprint, result_id=row.id)
    if not slot_first:
        _take_limit_slot(ctx, campaign)
    return row


def _take_limit_slot(ctx: Context, campaign: RewardCampaignMixin) -> None:
    """Count the redemption on a campaign with a total limit, which the count enforces."""
    if not campaigns.count_slot(ctx, campaign.id, 1, limited=campaign.total_limit is not None):
        raise RewardUnavailable("sold_out")
    ctx.session.expire(campaign, ["redeemed_count"])


def _slot_first(ctx: Context, campaign: RewardCampaignMixin) -> bool:
    """Whether the step path counts on a limited campaign before it inserts the reward
    (:func:`.dialect.counts_slot_first`)."""
    return campaign.total_limit is not None and dialect.counts_slot_first(ctx.dialect)
