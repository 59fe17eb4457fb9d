"""Coupon codes at the host's checkout: ``loyalty.find_coupon`` and ``loyalty.use_coupon``."""

from __future__ import annotations

from typing import Any

import pytest

from flask_loyalty_rewards import (
    CodeSource,
    CouponStatus,
    DeliveryStatus,
    InvalidInput,
    InvalidStatusChange,
    NotFound,
)
from tests.host import db, loyalty


@pytest.fixture
def rich(make_customer: Any, frozen_clock: Any) -> Any:
    customer = make_customer()
    loyalty.earn_points(customer, 1_000)
    return customer


def test_code_is_found_in_any_case_without_dashes(rich: Any, make_campaign: Any) -> None:
    reward = loyalty.redeem(rich, make_campaign())
    typed = reward.coupon_code.replace("-", "").lower()
    assert loyalty.find_coupon(rich, f"  {typed} ").id == reward.id


def test_code_typed_with_o_for_zero_is_found(rich: Any, make_campaign: Any) -> None:
    campaign = make_campaign(code_source=CodeSource.SHARED, shared_code="SPRING-2026")
    reward = loyalty.redeem(rich, campaign)
    assert loyalty.find_coupon(rich, "spring 2O26").id == reward.id


def test_code_of_another_customer_is_not_found(
    rich: Any, make_customer: Any, make_campaign: Any
) -> None:
    reward = loyalty.redeem(rich, make_campaign())
    with pytest.raises(NotFound) as refused:
        loyalty.use_coupon(make_customer(), reward.coupon_code)
    assert refused.value.code == "coupon_not_found"


def test_unknown_code_is_not_found(rich: Any) -> None:
    with pytest.raises(NotFound) as refused:
        loyalty.find_coupon(rich, "NOPE-NOPE")
    assert refused.value.code == "coupon_not_found"


@pytest.mark.parametrize("code", ["", "  - ", None, 42])
def test_blank_or_non_text_code_is_invalid_input(rich: Any, code: Any) -> None:
    with pytest.raises(InvalidInput):
        loyalty.find_coupon(rich, code)


def test_use_coupon_marks_the_reward_used_with_the_order(rich: Any, make_campaign: Any) -> None:
    reward = loyalty.redeem(rich, make_campaign())
    used = loyalty.use_coupon(rich, reward.coupon_code.lower(), order_reference="ORDER-17")
    assert used.id == reward.id
    assert used.used is True
    assert used.used_order_reference == "ORDER-17"
    assert used.delivery_status is DeliveryStatus.ORDERED


def test_a_code_cannot_be_used_twice(rich: Any, make_campaign: Any) -> None:
    reward = loyalty.redeem(rich, make_campaign())
    loyalty.use_coupon(rich, reward.coupon_code, order_reference="ORDER-1")
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.use_coupon(rich, reward.coupon_code, order_reference="ORDER-2")
    assert refused.value.reason == "already_used"


def test_a_coupon_not_active_yet_is_refused(rich: Any, make_campaign: Any) -> None:
    reward = loyalty.redeem(rich, make_campaign(days_inactive=3))
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.use_coupon(rich, reward.coupon_code)
    assert refused.value.reason == "coupon_not_active"
    assert refused.value.details["coupon_status"] == CouponStatus.INACTIVE.value


def test_an_expired_coupon_is_refused(rich: Any, make_campaign: Any, frozen_clock: Any) -> None:
    reward = loyalty.redeem(rich, make_campaign(days_valid=2))
    frozen_clock.advance(days=3)
    with pytest.raises(InvalidStatusChange) as refused:
        loyalty.use_coupon(rich, reward.coupon_code)
    assert refused.value.details["coupon_status"] == CouponStatus.EXPIRED.value


def test_shared_code_uses_the_unused_reward_that_expires_first(
    rich: Any, make_campaign: Any, frozen_clock: Any
) -> None:
    shared = dict(code_source=CodeSource.SHARED, shared_code="WELCOME")
    long_lived = loyalty.redeem(rich, make_campaign(days_valid=30, **shared))
    short_lived = loyalty.redeem(rich, make_campaign(name="Short", days_valid=5, **shared))
    first = loyalty.use_coupon(rich, "welcome")
    second = loyalty.use_coupon(rich, "welcome")
    assert (first.id, second.id) == (short_lived.id, long_lived.id)


def test_use_coupon_commits_the_hosts_pending_order_with_it(rich: Any, make_campaign: Any) -> None:
    reward = loyalty.redeem(rich, make_campaign())
    rich.phone = "+48 111 222 333"  # the host's pending change, e.g. its new order row
    loyalty.use_coupon(rich, reward.coupon_code)
    db.session.rollback()
    assert db.session.get(type(rich), rich.id).phone == "+48 111 222 333"


def test_refused_coupon_leaves_the_hosts_pending_changes_to_roll_back(rich: Any) -> None:
    rich.phone = "+48 999 999 999"
    with pytest.raises(NotFound):
        loyalty.use_coupon(rich, "UNKNOWN")
    assert rich.phone == "+48 999 999 999"
    db.session.rollback()
    assert db.session.get(type(rich), rich.id).phone != "+48 999 999 999"
