"""Points for the host's orders, by the configured earning rules.

:func:`earn_for_order` books an order once per order id; :func:`reverse_order` takes its points
back when the order is cancelled or refunded, in part or in full. The rules (``LOYALTY_POINTS_*``)
are read by :class:`EarningRules`, checked once by ``init_app``.

Partial refunds are proportional and cumulative: after refunds of ``r`` out of an order of
``a``, the customer keeps ``points x (a - r) / a`` points (rounded as earning rounds), whatever
the number of refunds, so repeated refunds never take back more than the order earned. Only
points still left in the order's lot are taken: points already spent or expired stay spent or
expired (the result reports them), and the balance never goes negative. If a redemption paid
with them is cancelled later, the next reversal takes the returned points; once the whole order
is refunded its lot is closed, and points returned to it later leave again at once.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from .. import clock
from ..bounds import required_text
from ..errors import IdempotencyConflict, InvalidInput
from ..models.mixins import OrderPointsMixin
from . import ledger
from .arguments import amount_argument, order_id_argument, text_argument
from .context import Context
from .transaction import unit_of_work

#: The largest order amount accepted; far above any real order.
EXPIRY_ROUNDING = ("exact", "end_of_day", "end_of_month")
_ROUNDING_MODES = {
    getattr(decimal, name)
    for name in dir(decimal)
    if name.startswith("ROUND_") and isinstance(getattr(decimal, name), str)
}


@dataclass(frozen=True)
class EarningRules:
    """What an order earns and for how long (the ``LOYALTY_POINTS_*`` settings)."""

    points_per_unit: Decimal
    rounding: str
    valid_days: int | None
    expire_at: str
    pending_days: int
    timezone: ZoneInfo

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EarningRules:
        """Read and check the settings; a wrong one raises ``ValueError`` naming it."""
        per_unit = config["LOYALTY_POINTS_PER_UNIT"]
        if isinstance(per_unit, (int, str)) and not isinstance(per_unit, bool):
            per_unit = Decimal(per_unit)
        if not isinstance(per_unit, Decimal) or not per_unit.is_finite() or per_unit < 0:
            raise ValueError("LOYALTY_POINTS_PER_UNIT must be a Decimal of 0 or more")
        rounding = config["LOYALTY_POINTS_ROUNDING"]
        if rounding not in _ROUNDING_MODES:
            raise ValueError("LOYALTY_POINTS_ROUNDING must be a decimal rounding mode (ROUND_DOWN)")
        valid_days = config["LOYALTY_POINTS_VALID_DAYS"]
        if valid_days is not None and (
            isinstance(valid_days, bool) or not isinstance(valid_days, int) or valid_days < 1
        ):
            raise ValueError("LOYALTY_POINTS_VALID_DAYS must be None or a whole number above 0")
        expire_at = config["LOYALTY_POINTS_EXPIRE_AT"]
        if expire_at not in EXPIRY_ROUNDING:
            raise ValueError(f"LOYALTY_POINTS_EXPIRE_AT must be one of {EXPIRY_ROUNDING}")
        pending = config["LOYALTY_POINTS_PENDING_DAYS"]
        if isinstance(pending, bool) or not isinstance(pending, int) or pending < 0:
            raise ValueError("LOYALTY_POINTS_PENDING_DAYS must be a whole number of 0 or more")
        try:
            zone = ZoneInfo(config["LOYALTY_TIMEZONE"])
        except (ZoneInfoNotFoundError, TypeError, ValueError) as exc:
            raise ValueError("LOYALTY_TIMEZONE must be an IANA time zone name") from exc
        return cls(per_unit, rounding, valid_days, expire_at, pending, zone)

    def points_for(self, amount: Decimal) -> int:
        """Whole points for an amount: ``amount x points_per_unit``, rounded by the rule."""
        return int((amount * self.points_per_unit).to_integral_value(rounding=self.rounding))

    def kept_points(self, points: int, amount: Decimal, refunded: Decimal) -> int:
        """The points an order keeps after ``refunded`` of its ``amount`` went back."""
        if amount <= 0 or refunded >= amount:
            return 0
        share = Decimal(points) * (amount - refunded) / amount
        return min(points, int(share.to_integral_value(rounding=self.rounding)))

    def expires_at(self, ordered_at: dt.datetime) -> dt.datetime | None:
        """When an order's points expire: ``valid_days`` later, moved to the end of the day or
        month in :attr:`timezone` (the first instant of the next one: usable all that day)."""
        if self.valid_days is None:
            return None
        moment = ordered_at + dt.timedelta(days=self.valid_days)
        if self.expire_at == "exact":
            return moment
        local = moment.astimezone(self.timezone).date()
        if self.expire_at == "end_of_day":
            boundary = local + dt.timedelta(days=1)
        else:
            boundary = (local.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        start = dt.datetime.combine(boundary, dt.time(0), tzinfo=self.timezone)
        return start.astimezone(dt.timezone.utc)

    def available_from(self, ordered_at: dt.datetime) -> dt.datetime | None:
        """The end of the pending period (the return window); None when there is none."""
        return ordered_at + dt.timedelta(days=self.pending_days) if self.pending_days else None


def _order_row(ctx: Context, customer_id: Any, order_id: str, *, lock: bool) -> Any:
    model = ctx.models.OrderPoints
    stmt = (
        sa.select(model)
        .where(model.customer_id == customer_id, model.order_id == order_id)
        .execution_options(populate_existing=True)
    )
    return ctx.session.execute(ctx.locked(stmt) if lock else stmt).scalar_one_or_none()


def earn_for_order(
    ctx: Context,
    customer: Any,
    order_id: str | int,
    amount: Decimal | int,
    *,
    at: dt.datetime | None = None,
    actor: str | None = None,
) -> OrderPointsMixin:
    """Book an order's points by the earning rules, once per customer and order id.

    ``at`` is when the order was placed (default now): validity and the pending period count
    from it. Booking the same order again returns the first booking and earns nothing; with a
    different amount it raises :class:`~flask_loyalty_rewards.IdempotencyConflict`. An order
    too small to earn a point is recorded with 0 points.

    Raises: InvalidInput (a bad argument, an ``at`` in the future or one so old that its points
    would already have expired), NotFound (no such customer), IdempotencyConflict (the order id
    was booked with another amount).
    """
    now = clock.now()
    order = order_id_argument(order_id)
    value = amount_argument(amount)
    ordered_at = now if at is None else clock.ensure_aware(at, "at")
    if ordered_at > now:
        raise InvalidInput("at must not be in the future")
    actor = text_argument(actor, "actor")
    rules = EarningRules.from_config(ctx.config)
    points = rules.points_for(value)
    expires_at, available_from = rules.expires_at(ordered_at), rules.available_from(ordered_at)
    if points:
        ledger.check_lot_dates(now, expires_at, available_from)
    customer_id = ctx.customer_id(customer)

    def same_order(row: Any) -> OrderPointsMixin:
        if Decimal(row.amount) != value:
            raise IdempotencyConflict(
                f"order {order} was already booked with amount {row.amount}", order_id=order
            )
        return row  # type: ignore[no-any-return]

    existing = _order_row(ctx, customer_id, order, lock=False)
    if existing is not None:
        return same_order(existing)
    try:
        with unit_of_work(ctx):
            ledger.lock_account(ctx, customer_id, now)
            existing = _order_row(ctx, customer_id, order, lock=True)
            if existing is not None:  # booked while we waited for the lock
                return same_order(existing)
            lot = None
            if points:
                lot = ledger.add_lot(
                    ctx,
                    customer_id,
                    points,
                    now,
                    expires_at=expires_at,
                    available_from=available_from,
                    reason=f"order {order}",
                    reference=order,
                    actor=actor,
                )
            row = ctx.models.OrderPoints(
                customer_id=customer_id,
                order_id=order,
                amount=value,
                points=points,
                lot_id=lot.id if lot is not None else None,
                ordered_at=ordered_at,
                created_at=now,
                updated_at=now,
            )
            ctx.session.add(row)
        return row
    except sa.exc.IntegrityError:
        # Booked by a transaction that did not hold the account lock first (a host's own).
        existing = _order_row(ctx, customer_id, order, lock=True)
        if existing is None:
            raise
        return same_order(existing)


NOTHING_REVERSED = ledger.RevokeResult(revoked=0, already_spent=0, already_expired=0)


def reverse_order(
    ctx: Context,
    customer: Any,
    order_id: str | int,
    *,
    reason: str,
    amount: Decimal | int | None = None,
    actor: str | None = None,
) -> ledger.RevokeResult:
    """Take back an order's points: all of them, or for a refund of ``amount``, its share.

    Returns what was taken now and how many of the order's points were already spent or
    expired. An order that earned nothing (never booked, or 0 points) is a no-op returning
    zeros, without a write. Refunds add up (each call is a further refund, capped at the
    order's amount); reversing a fully refunded order again changes nothing.

    Raises: InvalidInput, NotFound (no such customer).
    """
    now = clock.now()
    order = order_id_argument(order_id)
    reason = required_text(reason, "reason")
    refund = None if amount is None else amount_argument(amount)
    if refund is not None and refund == 0:
        raise InvalidInput("amount must be greater than zero")
    actor = text_argument(actor, "actor")
    rules = EarningRules.from_config(ctx.config)
    customer_id = ctx.customer_id(customer)
    found = _order_row(ctx, customer_id, order, lock=False)
    if found is None or found.lot_id is None:
        return NOTHING_REVERSED
    with unit_of_work(ctx):
        ledger.lock_account(ctx, customer_id, now)
        row = _order_row(ctx, customer_id, order, lock=True)
        total = Decimal(row.amount)
        refunded = total if refund is None else min(total, Decimal(row.refunded_amount) + refund)
        owed = row.points - rules.kept_points(row.points, total, refunded) - row.reversed_points
        lot = ledger.locked_lot(ctx, row.lot_id)
        taken = max(0, min(owed, lot.remaining))
        if taken:
            ledger.revoke_from_lot(ctx, customer_id, lot, taken, now, reason=reason, actor=actor)
            row.reversed_points += taken
        if refunded == total and lot.revoked_at is None:
            lot.revoked_at = now
        if taken or refunded != row.refunded_amount:
            row.refunded_amount = refunded
            row.updated_at = now
        result = ledger.revocation(ctx, lot.id, taken)
        if taken:
            ledger.record_revocation(ctx, customer_id, lot, result, now, reason=reason, actor=actor)
    return result
