"""Provider notifications: verified, recorded once, never settling what they are not about.

A notification and the worker's status poll (:mod:`.payouts`) converge on the same row; a final
state (paid, failed, cancelled) is never overwritten by a late or repeated message, and a notice
about an earlier attempt, or about another amount or currency, is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal

import sqlalchemy as sa

from .. import clock
from ..errors import LoyaltyError, NotFound
from ..services.context import Context
from ..services.transaction import unit_of_work
from .models import CashbackPayoutMixin, PayoutState
from .payouts import STATE_OF, attempt_of, config_seconds, set_state
from .providers import InvalidCallback, Outcome, ProviderResult, ProviderUnavailable
from .registry import provider_named

log = logging.getLogger(__name__)


class InvalidCallbackError(LoyaltyError):
    """A provider notification that failed its signature or content check."""

    code = "invalid_callback"
    http_status = 400


class CallbackConflict(LoyaltyError):
    """A genuine notification that does not fit the payout: about an earlier attempt
    (``stale_attempt``) or about another amount or currency (``callback_mismatch``)."""

    code = "callback_conflict"
    http_status = 409


def handle_callback(
    ctx: Context, provider_name: str, body: bytes, headers: Mapping[str, str]
) -> CashbackPayoutMixin:
    """Verify a provider's notification and record what it says (repeats change nothing).

    Raises :class:`InvalidCallbackError` (bad signature or content), :class:`NotFound` (no such
    order, or a provider without notifications) and :class:`CallbackConflict` (a notice about
    an earlier attempt, or about another amount or currency).
    """
    try:
        provider = provider_named(ctx.config, provider_name)
        result = provider.verify_callback(body, headers)
    except ProviderUnavailable as exc:
        raise NotFound("no payout provider takes notifications here") from exc
    except InvalidCallback as exc:
        raise InvalidCallbackError(str(exc)) from exc
    now = clock.now()
    model = ctx.models.CashbackPayout
    with unit_of_work(ctx):
        payout = ctx.session.execute(
            ctx.locked(
                sa.select(model)
                .where(model.order_id == result.order_id, model.provider == provider.name)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        if payout is None:
            _refuse_earlier_attempt(ctx, provider.name, result)
            raise NotFound("no such payout", order_id=result.order_id)
        _check_notice_matches(payout, result)
        state = STATE_OF[result.outcome]
        if state is PayoutState.UNKNOWN or not _may_become(payout, state):
            return payout  # a final state stands; a late or repeated notice changes nothing
        if result.reference:
            payout.provider_reference = result.reference[:64]
        poll = config_seconds(ctx, "LOYALTY_CASHBACK_POLL_SECONDS")
        set_state(
            ctx,
            payout.id,
            payout.redeemed_reward_id,
            state,
            result.code,
            result.message,
            now,
            next_check_at=None if state.is_final else now + poll,
        )
    ctx.session.refresh(payout)
    return payout


def _refuse_earlier_attempt(ctx: Context, provider: str, result: ProviderResult) -> None:
    """A notice about an attempt an admin's retry replaced: it must not settle the new one."""
    first, attempt = attempt_of(str(result.order_id))
    model = ctx.models.CashbackPayout
    stmt = sa.select(model).where(
        model.provider == provider,
        sa.or_(model.order_id == first, model.order_id.startswith(f"{first}-R", autoescape=True)),
    )
    for payout in ctx.session.scalars(stmt):
        current_first, current = attempt_of(payout.order_id)
        if current_first == first and current > attempt:
            if result.outcome is Outcome.SUCCESS:
                log.error(
                    "%s reports the earlier attempt %s of payout %s paid: check before paying %s",
                    provider,
                    result.order_id,
                    payout.id,
                    payout.order_id,
                )
            raise CallbackConflict(
                "This notice is about an earlier attempt of the payout; it changes nothing.",
                code="stale_attempt",
                order_id=result.order_id,
                current_order_id=payout.order_id,
            )


def _check_notice_matches(payout: CashbackPayoutMixin, result: ProviderResult) -> None:
    """A notice about another amount or currency than the payout's is not about this payout."""
    amount_differs = result.amount is not None and result.amount != Decimal(payout.amount)
    currency_differs = result.currency is not None and result.currency != payout.currency
    if amount_differs or currency_differs:
        log.error(
            "%s notice for %s states %s %s, the payout is %s %s",
            payout.provider,
            payout.order_id,
            result.amount,
            result.currency,
            payout.amount,
            payout.currency,
        )
        raise CallbackConflict(
            "This notice states another amount or currency than the payout's.",
            code="callback_mismatch",
            order_id=payout.order_id,
            amount=str(result.amount) if result.amount is not None else None,
            currency=result.currency,
        )


def _may_become(payout: CashbackPayoutMixin, state: PayoutState) -> bool:
    """Final states stand, except that money which did arrive is recorded as paid."""
    if not payout.state.is_final:
        return True
    if state is PayoutState.SUCCESS and payout.state is PayoutState.FAILURE:
        return True
    if state is PayoutState.SUCCESS and payout.state is not PayoutState.SUCCESS:
        log.error(
            "payout %s is %s but %s reports it paid: the customer has the money and the points",
            payout.order_id,
            payout.state.value,
            payout.provider,
        )
    return False
