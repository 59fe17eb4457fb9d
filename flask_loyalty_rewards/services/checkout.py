"""Coupon codes at the host's checkout: find the customer's redeemed reward by the code typed.

Customers copy codes by hand, so the lookup ignores case, spaces and dashes and reads O as 0 and
I or L as 1 (:func:`~flask_loyalty_rewards.models.keys.normalize_code`). Only the customer's
own rewards are searched: a code somebody else redeemed is "not found", never "already used",
so the checkout does not tell strangers which codes exist. Whether the reward may be used is
decided by :func:`~flask_loyalty_rewards.services.redemption.mark_used`, in one place.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import clock
from ..errors import InvalidInput, NotFound
from ..i18n import gettext
from ..models import CouponStatus
from ..models.keys import normalize_code
from ..models.mixins import RedeemedRewardMixin
from . import redemption
from .arguments import text_argument
from .codes import MAX_CODE_LENGTH
from .context import Context


def find_coupon(ctx: Context, customer: Any, code: str) -> RedeemedRewardMixin:
    """The customer's redeemed reward carrying ``code``; raises NotFound if there is none.

    A shared code may sit on several of the customer's rewards: the one that can still be used
    and expires first wins, else the newest, so the refusal the customer sees is about the
    reward they most likely meant.

    Raises: InvalidInput, NotFound (no reward of the customer has the code).
    """
    if not isinstance(code, str):
        raise InvalidInput(gettext("The coupon code must be text."))
    wanted = normalize_code(code)
    if not wanted:
        raise InvalidInput(gettext("Enter a coupon code."))
    if len(wanted) > MAX_CODE_LENGTH:
        raise NotFound(gettext("No reward of yours has this code."), code="coupon_not_found")
    now = clock.now()
    customer_id = ctx.customer_id(customer)
    model = ctx.models.RedeemedReward
    rows = ctx.session.execute(
        sa.select(model.id, model.coupon_code).where(
            model.customer_id == customer_id, model.coupon_code.is_not(None)
        )
    ).all()
    ids = [row.id for row in rows if normalize_code(row.coupon_code or "") == wanted]
    if not ids:
        raise NotFound(gettext("No reward of yours has this code."), code="coupon_not_found")
    matches = (
        ctx.session.execute(sa.select(model).where(model.id.in_(ids))).unique().scalars().all()
    )

    def usable(row: RedeemedRewardMixin) -> bool:
        return not row.used and row.status_at(now) is CouponStatus.ACTIVE

    candidates = [row for row in matches if usable(row)]
    if candidates:
        return min(candidates, key=lambda r: (r.active_to is None, r.active_to or now, r.id))
    return max(matches, key=lambda r: (r.redeemed_at, r.id))


def use_coupon(
    ctx: Context,
    customer: Any,
    code: str,
    *,
    order_reference: str | None = None,
    actor: str | None = None,
) -> RedeemedRewardMixin:
    """Mark the customer's reward with this code used in an order (one unit of work).

    Commits the host's pending changes with it, so an order saved in the same session is stored
    together with the coupon's use; a refusal leaves them pending for the host to roll back.

    Raises: InvalidInput, NotFound (no reward of the customer has the code),
    InvalidStatusChange.
    """
    order_reference = text_argument(order_reference, "order_reference")
    row = find_coupon(ctx, customer, code)
    return redemption.mark_used(ctx, row, actor=actor, order_reference=order_reference)
