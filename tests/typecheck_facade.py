"""Host calls through the extension object, for mypy (``[tool.mypy] files``), never run.

The facade's methods are bound from the services (``extension._service``); this checks that
mypy still sees each one's arguments and return type. A wrong call carries a ``type: ignore``
that ``warn_unused_ignores`` turns into an error should mypy stop refusing it.
"""

from __future__ import annotations

from typing import Any, assert_type

from flask_loyalty_rewards import LoyaltyRewards
from flask_loyalty_rewards.models.mixins import PointsLotMixin, RedeemedRewardMixin
from flask_loyalty_rewards.services.ledger import RevokeResult


def host_calls(loyalty: LoyaltyRewards, customer: Any, campaign: Any) -> None:
    assert_type(loyalty.redeem(customer, campaign, idempotency_key="order-1"), RedeemedRewardMixin)
    assert_type(loyalty.earn_points(customer, 10, reason="welcome"), PointsLotMixin)
    assert_type(loyalty.revoke_points(customer, "order-1", reason="refund"), RevokeResult)
    assert_type(loyalty.adjust_points(customer, -5, reason="typo"), int)
    loyalty.redeem(customer, campaign, idempotency_key=1)  # type: ignore[arg-type]
    loyalty.redeem(customer)  # type: ignore[call-arg]
    loyalty.earn_points(customer, "10")  # type: ignore[arg-type]
    loyalty.redeem(customer, campaign, key="order-1")  # type: ignore[call-arg]
