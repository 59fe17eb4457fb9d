"""What an admin does to a cashback payout: send it again, settle it by hand, give it up.

Each refuses what :mod:`flask_loyalty_rewards.rules` refuses, the rules the admin's buttons
are drawn from.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import clock, rules
from ..errors import InvalidInput, InvalidStatusChange, NotFound
from ..i18n import gettext
from ..services.arguments import integer_id, text_argument
from ..services.context import Context
from ..services.redemption import cancel_redemption
from ..services.transaction import unit_of_work
from .models import CashbackPayoutMixin, PayoutState
from .payouts import next_attempt_order_id, send_after_commit, set_state
from .providers import ManualProvider


def _locked_payout(ctx: Context, payout: Any) -> CashbackPayoutMixin:
    model = ctx.models.CashbackPayout
    pid = payout.id if isinstance(payout, model) else integer_id(payout, "payout")
    stmt = sa.select(model).where(model.id == pid).execution_options(populate_existing=True)
    found = ctx.session.execute(ctx.locked(stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound("no such cashback payout", payout_id=pid)
    return found


def retry(ctx: Context, payout: Any, *, actor: str | None = None) -> CashbackPayoutMixin:
    """Send a failed payout again, as a new attempt with its own order id (``...-R2``).

    The provider never mixes the attempts up, and a notice about the failed attempt, posted
    again later, is refused instead of failing this one.
    """
    actor = text_argument(actor, "actor")
    now = clock.now()
    with unit_of_work(ctx):
        row = _locked_payout(ctx, payout)
        refusal = rules.retry_refusal(row, ctx.redeemed(row.redeemed_reward_id))
        if refusal is not None:
            raise refusal
        set_state(
            ctx,
            row.id,
            row.redeemed_reward_id,
            PayoutState.RETRY,
            "RETRY",
            f"Sent again at the request of {actor or 'an admin'}",
            now,
            next_check_at=now,
            order_id=next_attempt_order_id(row.order_id),
        )
        send_after_commit(ctx, row.id)
    ctx.session.refresh(row)
    return row


def settle_manually(
    ctx: Context, payout: Any, *, paid: bool, note: str | None = None, actor: str | None = None
) -> CashbackPayoutMixin:
    """For the manual provider: an admin paid the money (or could not) outside the shop."""
    actor = text_argument(actor, "actor")
    note = text_argument(note, "note", 200)
    if not paid and not (note and note.strip()):
        raise InvalidInput(gettext("Say why the payout failed."))
    now = clock.now()
    with unit_of_work(ctx):
        row = _locked_payout(ctx, payout)
        refusal = rules.settle_refusal(row)
        if refusal is not None:
            raise refusal
        who = actor or "an admin"
        message = (note or f"Paid by {who}") if paid else f"{note} ({who})"
        state = PayoutState.SUCCESS if paid else PayoutState.FAILURE
        set_state(ctx, row.id, row.redeemed_reward_id, state, ManualProvider.CODE, message, now)
    ctx.session.refresh(row)
    return row


def cancel(
    ctx: Context, payout: Any, *, reason: str, actor: str | None = None
) -> CashbackPayoutMixin:
    """Give up on a payout: the points go back to their lots (core cancellation), with why.

    Three short steps, each committed: mark the payout ``canceling`` (so no worker or retry
    sends it meanwhile), cancel the redemption, mark the payout ``canceled``. Interrupted, it is
    simply run again.
    """
    actor = text_argument(actor, "actor")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(gettext("A cancellation needs a reason."))
    reason = str(text_argument(reason.strip(), "reason", 200))
    now = clock.now()
    with unit_of_work(ctx):
        row = _locked_payout(ctx, payout)
        refusal = rules.payout_cancel_refusal(row, ctx.redeemed(row.redeemed_reward_id), now)
        if refusal is not None:
            raise refusal
        before = row.state
        if before is not PayoutState.CANCELING:
            row.state = PayoutState.CANCELING
            row.updated_at = now
        payout_id, redeemed_id = row.id, row.redeemed_reward_id
    try:
        cancel_redemption(ctx, redeemed_id, reason=reason, actor=actor)
    except InvalidStatusChange as exc:
        if exc.reason != "already_canceled":
            with unit_of_work(ctx):
                back = _locked_payout(ctx, payout_id)
                back.state = PayoutState.FAILURE if before is PayoutState.CANCELING else before
            raise
    with unit_of_work(ctx):
        set_state(ctx, payout_id, redeemed_id, PayoutState.CANCELED, "CANCELED", reason, now)
    return _locked_payout(ctx, payout_id)
