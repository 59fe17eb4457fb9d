"""Cashback rows: a customer with points and a PayTM-style campaign, and reading a payout back.

These run inside an app context (the ``ctx`` fixture, or ``with app.app_context()``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests import host
from tests.support.factories import CASHBACK_INR, add_campaign, add_customer


def cashback_customer(points: int = 1000, phone: str = "+91 98765 43210") -> Any:
    """A customer with a PayTM wallet phone and ``points`` to spend."""
    customer = add_customer(phone=phone, first_name="Asha", last_name="Rao")
    if points:
        host.loyalty.earn_points(customer, points)
    return customer


def cashback_campaign(**fields: Any) -> Any:
    """A cashback campaign (``CASHBACK_INR`` with ``fields`` on top)."""
    return add_campaign(**(CASHBACK_INR | fields))


def payout_of(redeemed_id: int) -> Any:
    """The payout of a redeemed cashback, read afresh from the database."""
    model = host.models.CashbackPayout
    return host.db.session.execute(
        sa.select(model)
        .where(model.redeemed_reward_id == redeemed_id)
        .execution_options(populate_existing=True)
    ).scalar_one()


def status_of(redeemed_id: int) -> str | None:
    """The cashback status text of a redeemed reward, as the database holds it."""
    rr = host.models.RedeemedReward
    return host.db.session.execute(
        sa.select(rr.cashback_status).where(rr.id == redeemed_id)
    ).scalar_one()
