"""The life of a redeemed reward after its redemption: used, delivered, cancelled.

Coupon status follows time: Inactive for ``days_inactive`` days after redemption, then Active for
``days_valid`` days (0: for ever), then Expired; a used coupon never expires; a cancelled one is
Canceled. What may happen when is decided by :mod:`flask_loyalty_rewards.rules`; the services
here raise the refusal a rule returns, and the admin offers an action when the rule returns None.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from blinker import NamedSignal

from ... import clock, signals
from ...bounds import required_text
from ...cashback import payouts as cashback
from ...errors import InvalidInput, InvalidStatusChange
from ...i18n import gettext
from ...models import CouponStatus, DeliveryStatus, EntryKind, HistoryEvent
from ...models.events import EventType
from ...models.mixins import RedeemedRewardMixin
from ...rules import cancel_refusal, delivery_refusal, usage_refusal
from .. import campaigns, events, ledger
from ..arguments import text_argument
from ..context import Context
from ..transaction import unit_of_work


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


def _refuse(
    message: str, reason: str, redeemed: RedeemedRewardMixin, status: CouponStatus
) -> InvalidStatusChange:
    return InvalidStatusChange(
        message, reason=reason, redeemed_reward_id=redeemed.id, coupon_status=status.value
    )


@dataclass(frozen=True)
class _Change:
    """A change to a redeemed reward by ``actor`` at ``now``, and what it records besides."""

    ctx: Context
    row: RedeemedRewardMixin
    now: dt.datetime
    actor: str | None

    def history(
        self,
        event: HistoryEvent,
        *,
        from_value: Any = None,
        to_value: Any = None,
        note: str | None = None,
    ) -> None:
        """Its line in the reward's history."""
        add_history(
            self.ctx,
            self.row.id,
            event,
            self.now,
            actor=self.actor,
            from_value=from_value,
            to_value=to_value,
            note=note,
        )

    def sync_status(self) -> CouponStatus:
        """Bring the stored coupon status up to date with time, recording what changed."""
        row = self.row
        status = row.status_at(self.now)
        if status is not row.coupon_status:
            expired = status is CouponStatus.EXPIRED
            if status in (CouponStatus.EXPIRED, CouponStatus.ACTIVE):
                event = HistoryEvent.EXPIRED if expired else HistoryEvent.ACTIVATED
                self.history(event, from_value=row.coupon_status, to_value=status)
            row.coupon_status = status
        return status

    def announce(
        self,
        event_type: EventType,
        data: dict[str, Any],
        signal: NamedSignal,
        **signal_kw: Any,
    ) -> None:
        """Tell of it: its event now (in this transaction), its signal after commit."""
        ctx, row = self.ctx, self.row
        data = {**events.reward_data(row, actor=self.actor), **data}
        events.record(ctx, event_type, row.customer_id, self.now, data)
        ctx.after_commit.append(
            signals.later(signal, ctx.app, redeemed=row, actor=self.actor, **signal_kw)
        )


def mark_used(
    ctx: Context, redeemed: Any, *, actor: str | None = None, order_reference: str | None = None
) -> RedeemedRewardMixin:
    """Mark an active coupon used (optionally in an order).

    Raises: InvalidInput, NotFound (no such redeemed reward), InvalidStatusChange.
    """
    return _set_used(ctx, redeemed, True, actor, order_reference)


def unmark_used(ctx: Context, redeemed: Any, *, actor: str | None = None) -> RedeemedRewardMixin:
    """Undo :func:`mark_used` while the coupon is active.

    Raises: InvalidInput, NotFound (no such redeemed reward), InvalidStatusChange.
    """
    return _set_used(ctx, redeemed, False, actor, None)


def _set_used(
    ctx: Context, redeemed: Any, used: bool, actor: str | None, order_reference: str | None
) -> RedeemedRewardMixin:
    """Mark a reward used or not: refused alike both ways, when it is so already or when
    :func:`~flask_loyalty_rewards.rules.usage_refusal` says no."""
    now = clock.now()
    actor = text_argument(actor, "actor")
    order_reference = text_argument(order_reference, "order_reference")
    with unit_of_work(ctx):
        change = _Change(ctx, ctx.redeemed(redeemed), now, actor)
        row = change.row
        status = change.sync_status()
        if row.used and used:
            raise _refuse(
                gettext("This reward is already marked as used."), "already_used", row, status
            )
        if not row.used and not used:
            raise _refuse(gettext("This reward is not marked as used."), "not_used", row, status)
        refusal = usage_refusal(row, now)
        if refusal is not None:
            raise refusal
        row.used = used
        row.used_at = now if used else None
        row.used_order_reference = order_reference
        row.delivery_status = DeliveryStatus.ORDERED if used else None
        change.history(
            HistoryEvent.USED if used else HistoryEvent.UNUSED,
            from_value=None if used else DeliveryStatus.ORDERED,
            to_value=row.delivery_status,
            note=order_reference,
        )
        if used:
            event, signal = EventType.REWARD_USED, signals.reward_used
            data: dict[str, Any] = {"used_at": now, "order_reference": order_reference}
        else:
            event, signal = EventType.REWARD_UNUSED, signals.reward_unused
            data = {"coupon_status": change.sync_status()}
        change.announce(event, data, signal)
    return row


def set_delivery_status(
    ctx: Context, redeemed: Any, status: Any, *, actor: str | None = None
) -> RedeemedRewardMixin:
    """Move a used gift to the next delivery status.

    Raises: InvalidInput, NotFound (no such redeemed reward), InvalidStatusChange.
    """
    now = clock.now()
    actor = text_argument(actor, "actor")
    try:
        new = status if isinstance(status, DeliveryStatus) else DeliveryStatus(status)
    except ValueError as exc:
        raise InvalidInput(
            f"delivery status must be one of {', '.join(s.value for s in DeliveryStatus)}"
        ) from exc
    with unit_of_work(ctx):
        change = _Change(ctx, ctx.redeemed(redeemed), now, actor)
        row = change.row
        change.sync_status()
        refusal = delivery_refusal(row, new, now)
        if refusal is not None:
            raise refusal
        old = row.delivery_status
        if new is old:
            return row
        row.delivery_status = new
        change.history(HistoryEvent.DELIVERY_STATUS, from_value=old, to_value=new)
        change.announce(
            EventType.DELIVERY_STATUS_CHANGED,
            {"from_status": old, "to_status": new},
            signals.delivery_status_changed,
            old=old,
            new=new,
        )
    return row


def cancel_redemption(
    ctx: Context, redeemed: Any, *, reason: str, actor: str | None = None
) -> RedeemedRewardMixin:
    """Undo a redemption: points back to their lots, the limit slot freed, the code not reused.

    Raises: InvalidInput, NotFound (no such redeemed reward), InvalidStatusChange.
    """
    now = clock.now()
    actor = text_argument(actor, "actor")
    reason = required_text(reason, "reason", 2000)
    with unit_of_work(ctx):
        change = _Change(ctx, ctx.redeemed(redeemed), now, actor)
        row = change.row
        status = change.sync_status()
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
        change.history(
            HistoryEvent.CANCELED, from_value=status, to_value=CouponStatus.CANCELED, note=reason
        )
        change.announce(
            EventType.REDEMPTION_CANCELLED,
            {"points_returned": returned, "reason": reason},
            signals.redemption_cancelled,
            reason=reason,
        )
    return row
