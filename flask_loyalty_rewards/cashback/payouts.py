"""Cashback payouts: from the redemption to the money in the customer's wallet (the worker).

How money moves, and why it can neither get lost nor be paid twice:

1. Redeeming a cashback reward spends the points and creates its payout row in the *same*
   transaction, with a provider order id made once. The grid shows ``0: INIT: INIT``. An
   admin's retry of a failed payout is a new attempt with its own order id (the first one with
   ``-R2`` appended, then ``-R3``...), so a notice about an earlier attempt can never settle it.
2. Only after the commit is the provider called (right away, unless
   ``LOYALTY_CASHBACK_SEND_ON_REDEEM`` is off; ``flask loyalty cashback-sync`` does it then).
   A worker first *claims* the row with a conditional update (a lease, ``claim_token``), so two
   servers never work on one payout, and records ``sending`` before the request leaves.
3. The answer is written back only if the claim is still ours. An answer that never came
   (timeout, 5xx, garbage) leaves the payout *unknown*; whoever picks it up next asks the
   provider for the order's status before sending anything again, under the same order id.
4. Provider callbacks and the status poll converge on the same row; a final state (paid,
   failed, cancelled) is never overwritten by a late or repeated message, and a notice about
   an earlier attempt, or about another amount or currency, is refused.

Provider notifications are :mod:`.callbacks`, an admin's retry, settlement and cancellation
:mod:`.actions`; all of them change a payout through :func:`set_state`.

The grid's text (``RedeemedReward.cashback_status``) is always :func:`.models.status_text`:
``0: INIT: INIT``; ``1: <code>: <message>`` once paid; ``2: <failure code>: <failure message>``;
``3: <code>: <reason for pending>``. Rewards of other types keep ``None`` (a dash).

The amount: ``reward_value`` when the campaign sets it (a fixed amount), else
``cost_in_points * cashback_point_value`` rounded *down* to the cent (``ROUND_DOWN``), so the
shop never pays more than the points are worth. Currency: the campaign's, else
``LOYALTY_CASHBACK_CURRENCY``.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib
import logging
import re
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from .. import clock, rules
from ..errors import RewardUnavailable
from ..models import RewardType
from ..models.events import EventType
from ..models.mixins import RedeemedRewardMixin, RewardCampaignMixin
from ..services import events
from ..services.arguments import whole_argument
from ..services.context import Context
from ..services.transaction import unit_of_work
from .models import OPEN_STATES, STATUS_INIT, CashbackPayoutMixin, PayoutState, status_text
from .providers import (
    Outcome,
    PayoutDestination,
    ProviderResult,
    ProviderUnavailable,
    TransferRequest,
)
from .registry import configured_provider, provider_named

log = logging.getLogger(__name__)

#: The payout state each provider answer leads to.
STATE_OF = {
    Outcome.SUCCESS: PayoutState.SUCCESS,
    Outcome.FAILURE: PayoutState.FAILURE,
    Outcome.PENDING: PayoutState.PENDING,
    Outcome.UNKNOWN: PayoutState.UNKNOWN,
    Outcome.NOT_FOUND: PayoutState.UNKNOWN,
}


#: What a cashback reward is inserted with: its payout is not sent yet.
INIT_TEXT = status_text(STATUS_INIT, "INIT", "INIT")


# -- at redeem time ------------------------------------------------------------------------------


def cashback_amount(campaign: RewardCampaignMixin) -> Decimal:
    """The money a cashback campaign pays (:func:`flask_loyalty_rewards.rules.cashback_amount`).

    Raises :class:`RewardUnavailable` (``cashback_not_configured``) when it cannot pay: no
    amount, none worth a cent, or more than :data:`~flask_loyalty_rewards.bounds.MAX_MONEY`.
    """
    refusal = rules.cashback_refusal(campaign)
    if refusal is not None:
        raise refusal
    amount = rules.cashback_amount(campaign)
    assert amount is not None
    return amount


def _destination_hook(config: Mapping[str, Any]) -> Any:
    hook = config.get("LOYALTY_CASHBACK_DESTINATION")
    if isinstance(hook, str):
        module_name, _, attr = hook.replace(":", ".").rpartition(".")
        hook = getattr(importlib.import_module(module_name), attr)
    return hook


def destination_for(ctx: Context, redeemed: RedeemedRewardMixin) -> PayoutDestination:
    """Where the customer wants the money, from ``LOYALTY_CASHBACK_DESTINATION``.

    The hook is called as ``hook(customer, redeemed_reward)`` and returns a
    :class:`PayoutDestination` (or None: nowhere known). Without a hook the phone number copied
    onto the redeemed reward is the wallet.
    """
    hook = _destination_hook(ctx.config)
    name = f"{redeemed.customer_first_name} {redeemed.customer_last_name}".strip() or None
    if hook is None:
        return PayoutDestination(phone=redeemed.customer_phone or None, name=name)
    found = hook(ctx.customer_object(redeemed.customer_id), redeemed)
    if found is None:
        return PayoutDestination()
    if not isinstance(found, PayoutDestination):
        raise TypeError("LOYALTY_CASHBACK_DESTINATION must return a PayoutDestination or None")
    return found


def new_order_id(redeemed_id: int) -> str:
    """Unique across databases too (tests, staging and production may share a PayTM account)."""
    return f"CB{redeemed_id}-{secrets.token_hex(6)}"


_ATTEMPT_SUFFIX = re.compile(r"-R([0-9]{1,9})\Z")


def attempt_of(order_id: str) -> tuple[str, int]:
    """The first attempt's order id and the attempt number: ``("CB7-ab12", 3)`` for
    ``CB7-ab12-R3``; an order id without the suffix is attempt 1."""
    match = _ATTEMPT_SUFFIX.search(order_id)
    if match is None:
        return order_id, 1
    return order_id[: match.start()], int(match.group(1))


def next_attempt_order_id(order_id: str) -> str:
    """The order id an admin's retry sends: ``CB7-ab12`` -> ``CB7-ab12-R2`` -> ``CB7-ab12-R3``."""
    first, attempt = attempt_of(order_id)
    return f"{first}-R{attempt + 1}"


def _transfer(
    ctx: Context, redeemed: RedeemedRewardMixin, campaign: RewardCampaignMixin, amount: Decimal
) -> TransferRequest:
    currency = str(campaign.currency or ctx.config["LOYALTY_CASHBACK_CURRENCY"]).upper()
    return TransferRequest(
        order_id=new_order_id(redeemed.id),
        amount=amount,
        currency=currency,
        destination=destination_for(ctx, redeemed),
        redeemed_reward_id=redeemed.id,
    )


def payout_refusal(
    ctx: Context, redeemed: RedeemedRewardMixin, campaign: RewardCampaignMixin
) -> str | None:
    """Why the configured provider could never pay ``redeemed`` (None: it could, or no amount).

    ``redeemed`` may be a reward not yet inserted (what redeeming would create), so the rewards
    page asks the provider the same question the redemption will.
    """
    amount = rules.cashback_amount(campaign)
    if amount is None:
        return None  # the campaign rule reports it
    return configured_provider(ctx.config).refusal(_transfer(ctx, redeemed, campaign, amount))


def create_payout(
    ctx: Context,
    redeemed: RedeemedRewardMixin,
    campaign: RewardCampaignMixin,
    now: dt.datetime,
) -> CashbackPayoutMixin:
    """In the redeem transaction: the payout row (the reward was inserted with the INIT text);
    sending waits for commit."""
    provider = configured_provider(ctx.config)
    request = _transfer(ctx, redeemed, campaign, cashback_amount(campaign))
    refusal = provider.refusal(request)
    if refusal is not None:
        raise RewardUnavailable("cashback_unavailable", refusal)
    payout = ctx.models.CashbackPayout(
        customer_id=redeemed.customer_id,
        provider=provider.name,
        **_request_columns(request),
        **_status_columns(PayoutState.INIT, "INIT", "INIT"),
        attempts=0,
        next_check_at=now,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(payout)
    ctx.session.flush()
    send_after_commit(ctx, payout.id)
    return payout


def send_after_commit(ctx: Context, payout_id: int) -> None:
    """Send the payout once the unit of work commits (unless ``LOYALTY_CASHBACK_SEND_ON_REDEEM``
    is off: cashback-sync sends it then)."""
    if ctx.config.get("LOYALTY_CASHBACK_SEND_ON_REDEEM", True):
        # The committed unit of work's context, as a new call on the same session starts it.
        after = replace(ctx, after_commit=[], owns_transaction=False)
        ctx.after_commit.append(lambda: send_now(after, payout_id))


def send_now(ctx: Context, payout_id: int) -> None:
    """After a commit: try the provider at once; on any error cashback-sync finishes the job."""
    try:
        process(ctx, payout_id)
    except Exception:
        ctx.session.rollback()
        log.exception("cashback payout %s was not sent now; cashback-sync will send it", payout_id)


# -- workers -------------------------------------------------------------------------------------


class Action(enum.Enum):
    CREATE = "create"
    QUERY = "query"


@dataclass(frozen=True)
class Claim:
    payout_id: int
    redeemed_reward_id: int
    token: str
    action: Action
    state_before: PayoutState
    provider: str
    request: TransferRequest


@dataclass
class SyncReport:
    """What one ``cashback-sync`` run did: payouts looked at, and the state each ended in."""

    checked: int = 0
    states: Counter[str] = field(default_factory=Counter)


def config_seconds(ctx: Context, key: str) -> dt.timedelta:
    return dt.timedelta(seconds=float(ctx.config[key]))


def _claim(
    ctx: Context, now: dt.datetime, *, payout_id: int | None = None, limit: int = 1
) -> list[Claim]:
    """Take up to ``limit`` open payouts for this worker (row locks skip each other's rows).

    The lease (``LOYALTY_CASHBACK_CLAIM_SECONDS``) outlives a crashed worker, and the row is
    due again when it ends; ``sending`` tells the next worker to ask before sending.
    """
    model = ctx.models.CashbackPayout
    table = model.__table__
    free = sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until <= now)
    base = sa.select(model).where(free, table.c.state.in_(OPEN_STATES))
    if payout_id is not None:
        base = base.where(table.c.id == payout_id)
    else:
        base = base.where(table.c.next_check_at <= now).order_by(table.c.next_check_at, table.c.id)
    lease_until = now + config_seconds(ctx, "LOYALTY_CASHBACK_CLAIM_SECONDS")
    claims: list[Claim] = []
    with unit_of_work(ctx):
        # Rows closed on the way (cancelled redemptions) or taken by another worker no longer
        # match, so each round finds fresh ones; the bound only guards against surprises.
        for _ in range(limit + 10):
            stmt = ctx.locked(base.limit(limit - len(claims)), skip_locked=True)
            rows = ctx.session.execute(stmt.execution_options(populate_existing=True))
            found = rows.scalars().all()
            if not found:
                break
            claims.extend(_lease(ctx, found, now, lease_until, free))
            if len(claims) >= limit:
                break
    return claims


def _lease(
    ctx: Context,
    rows: Sequence[CashbackPayoutMixin],
    now: dt.datetime,
    lease_until: dt.datetime,
    free: sa.ColumnElement[bool],
) -> list[Claim]:
    """Lease each of the locked ``rows`` to this worker, unless another one leased it meanwhile
    (the update is conditional); a redemption cancelled before its payout was sent is closed."""
    table = ctx.models.CashbackPayout.__table__
    canceled = _canceled_redemptions(ctx, [r.redeemed_reward_id for r in rows])
    claims: list[Claim] = []
    for row in rows:
        if row.state in (PayoutState.INIT, PayoutState.RETRY) and (
            row.redeemed_reward_id in canceled
        ):
            _close_canceled(ctx, row.id, row.redeemed_reward_id, now)
            continue
        token = secrets.token_hex(16)
        values: dict[str, Any] = {
            "claim_token": token,
            "claimed_until": lease_until,
            "next_check_at": lease_until,  # due again if this worker dies
            "updated_at": now,
        }
        action = Action.QUERY
        if row.state in (PayoutState.INIT, PayoutState.RETRY):
            action = Action.CREATE
            values.update(
                state=PayoutState.SENDING, attempts=table.c.attempts + 1, last_attempt_at=now
            )
        done = _rowcount(
            ctx.session.execute(
                sa.update(table)
                .where(table.c.id == row.id, table.c.state == row.state, free)
                .values(**values)
            )
        )
        if done:
            claims.append(
                Claim(
                    payout_id=row.id,
                    redeemed_reward_id=row.redeemed_reward_id,
                    token=token,
                    action=action,
                    state_before=row.state,
                    provider=row.provider,
                    request=_request_of(row),
                )
            )
    return claims


def _canceled_redemptions(ctx: Context, redeemed_ids: list[int]) -> set[int]:
    if not redeemed_ids:
        return set()
    rr = ctx.models.RedeemedReward.__table__
    stmt = sa.select(rr.c.id).where(rr.c.id.in_(redeemed_ids), rr.c.canceled_at.is_not(None))
    return set(ctx.session.scalars(stmt))


def _rowcount(result: Any) -> int:
    """Rows an UPDATE matched (a CursorResult's, which the ORM session's typing hides)."""
    return int(result.rowcount)


#: The payout's columns that keep its destination, by :class:`PayoutDestination` field.
_DESTINATION_COLUMNS = {
    "phone": "destination_phone",
    "account_number": "destination_account",
    "ifsc": "destination_ifsc",
    "name": "destination_name",
}


def _request_columns(request: TransferRequest) -> dict[str, Any]:
    """The payout row's copy of the transfer request (:func:`_request_of` reads it back)."""
    columns: dict[str, Any] = {
        "redeemed_reward_id": request.redeemed_reward_id,
        "order_id": request.order_id,
        "amount": request.amount,
        "currency": request.currency,
    }
    for field_name, column in _DESTINATION_COLUMNS.items():
        columns[column] = getattr(request.destination, field_name)
    return columns


def _request_of(row: CashbackPayoutMixin) -> TransferRequest:
    """The transfer request a payout row keeps, to send again or to ask about."""
    destination = {name: getattr(row, column) for name, column in _DESTINATION_COLUMNS.items()}
    return TransferRequest(
        order_id=row.order_id,
        amount=Decimal(row.amount),
        currency=row.currency,
        destination=PayoutDestination(**destination),
        redeemed_reward_id=row.redeemed_reward_id,
    )


def _status_columns(state: PayoutState, code: str, message: str) -> dict[str, Any]:
    """A payout's state, the grid's number for it and the provider's words (cut to fit)."""
    return {
        "state": state,
        "status_code": state.status_code,
        "provider_code": code[:64],
        "provider_message": message[:255],
    }


def _close_canceled(ctx: Context, payout_id: int, redeemed_id: int, now: dt.datetime) -> None:
    """A redemption cancelled before its payout was sent: nothing may be sent any more."""
    set_state(
        ctx,
        payout_id,
        redeemed_id,
        PayoutState.CANCELED,
        "CANCELED",
        "The redemption was cancelled before the payout was sent",
        now,
    )


def _ask_provider(ctx: Context, claim: Claim) -> tuple[ProviderResult, bool]:
    """Talk to the provider, outside any transaction: its answer, and whether we sent."""
    try:
        provider = provider_named(ctx.config, claim.provider)
        if claim.action is Action.CREATE:
            return provider.create_transfer(claim.request), True
        result = provider.query_status(claim.request)
        if result.outcome is Outcome.NOT_FOUND:
            # The provider never got the order: send it now, under the same order id.
            return provider.create_transfer(claim.request), True
        return result, False
    except Exception as exc:  # a host provider's bug must not lose the payout
        log.exception("payout provider %s failed on %s", claim.provider, claim.request.order_id)
        message = f"{type(exc).__name__}: {exc}"
        # Whatever happened, the next worker asks for the status before sending again.
        sent = claim.action is Action.CREATE
        return ProviderResult(Outcome.UNKNOWN, "PROVIDER_ERROR", message), sent


def _is_automatic(ctx: Context, name: str) -> bool:
    """Whether workers poll this provider's payouts (a person settles the others)."""
    try:
        return bool(provider_named(ctx.config, name).automatic)
    except ProviderUnavailable:
        return True  # keep checking: it may be configured again


def _finish(
    ctx: Context, claim: Claim, result: ProviderResult, sent: bool, now: dt.datetime
) -> PayoutState | None:
    """Record the answer if the claim is still ours (a callback or another worker may have won)."""
    table = ctx.models.CashbackPayout.__table__
    automatic = _is_automatic(ctx, claim.provider)
    state = STATE_OF[result.outcome]
    values: dict[str, Any] = {"claim_token": None, "claimed_until": None, "updated_at": now}
    if sent and claim.action is Action.QUERY:
        values.update(attempts=table.c.attempts + 1, last_attempt_at=now)
    keep_last_answer = (
        state is PayoutState.UNKNOWN and not sent and (claim.state_before is PayoutState.PENDING)
    )
    if keep_last_answer:  # a failed status check says nothing new about a pending payout
        state = PayoutState.PENDING
    else:
        values.update(_status_columns(state, result.code, result.message))
        if result.reference:
            values["provider_reference"] = result.reference[:64]
    if state.is_final:
        values.update(next_check_at=None, completed_at=now)
    else:
        poll = config_seconds(ctx, "LOYALTY_CASHBACK_POLL_SECONDS")
        values["next_check_at"] = now + poll if automatic else None
    with unit_of_work(ctx):
        done = _rowcount(
            ctx.session.execute(
                sa.update(table)
                .where(table.c.id == claim.payout_id, table.c.claim_token == claim.token)
                .values(**values)
            )
        )
        if not done:
            return None
        if not keep_last_answer:
            _set_text(
                ctx,
                claim.redeemed_reward_id,
                status_text(state.status_code, result.code, result.message),
                now,
            )
    return state


def _set_text(ctx: Context, redeemed_id: int, text: str, now: dt.datetime) -> None:
    """Show the payout's status on the reward, announcing it when it changed."""
    rr = ctx.models.RedeemedReward.__table__
    reward = ctx.session.execute(sa.select(rr).where(rr.c.id == redeemed_id)).one()
    if reward.cashback_status == text:
        return
    ctx.session.execute(sa.update(rr).where(rr.c.id == redeemed_id).values(cashback_status=text))
    events.record(
        ctx,
        EventType.CASHBACK_STATUS_CHANGED,
        reward.customer_id,
        now,
        {**events.reward_data(reward, actor=None), "cashback_status": text},
    )


def set_state(
    ctx: Context,
    payout_id: int,
    redeemed_id: int,
    state: PayoutState,
    code: str,
    message: str,
    now: dt.datetime,
    *,
    next_check_at: dt.datetime | None = None,
    order_id: str | None = None,
) -> None:
    """Set a payout's state and text directly (inside a unit of work, the row locked or claimed);
    ``order_id`` starts a new attempt."""
    table = ctx.models.CashbackPayout.__table__
    values: dict[str, Any] = {
        **_status_columns(state, code, message),
        "claim_token": None,
        "claimed_until": None,
        "updated_at": now,
        "next_check_at": next_check_at,
        "completed_at": now if state.is_final else None,
    }
    if order_id is not None:
        values["order_id"] = order_id
    ctx.session.execute(sa.update(table).where(table.c.id == payout_id).values(**values))
    _set_text(ctx, redeemed_id, status_text(state.status_code, code, message), now)


def _work_on(ctx: Context, claim: Claim) -> PayoutState | None:
    result, sent = _ask_provider(ctx, claim)
    return _finish(ctx, claim, result, sent, clock.now())


def process(ctx: Context, payout_id: int) -> PayoutState | None:
    """Move one payout on if it is open and free; returns its new state (None: not ours now)."""
    claims = _claim(ctx, clock.now(), payout_id=payout_id)
    return _work_on(ctx, claims[0]) if claims else None


def sync(ctx: Context, limit: int = 100) -> SyncReport:
    """Send or check every payout that is due (``flask loyalty cashback-sync``).

    Safe on many servers at once: each row is claimed by one worker (``SKIP LOCKED`` where the
    database has it, and a conditional update everywhere).
    """
    limit = whole_argument(limit, "limit")
    report = SyncReport()
    while report.checked < limit:
        # One at a time: a lease then covers one provider conversation, however slow.
        claims = _claim(ctx, clock.now())
        if not claims:
            break
        state = _work_on(ctx, claims[0])
        report.checked += 1
        report.states[state.value if state is not None else "taken_over"] += 1
    return report


def payout_of(ctx: Context, redeemed: RedeemedRewardMixin) -> CashbackPayoutMixin | None:
    """A cashback reward's payout (None for other rewards, and before the payout exists)."""
    if redeemed.reward_type is not RewardType.CASHBACK:
        return None
    model = ctx.models.CashbackPayout
    stmt = sa.select(model).where(model.redeemed_reward_id == redeemed.id)
    found: CashbackPayoutMixin | None = ctx.session.execute(stmt).scalar_one_or_none()
    return found
