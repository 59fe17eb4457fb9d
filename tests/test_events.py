"""The outbox: each change writes its event in its own transaction, and only then."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import CodeSource, CouponStatus, DeliveryStatus, RewardType
from flask_loyalty_rewards.cashback import actions
from flask_loyalty_rewards.models.events import EventType
from flask_loyalty_rewards.services import events
from tests.host import db, loyalty, models
from tests.support.cashback import cashback_campaign, cashback_customer, payout_of
from tests.support.sql import InjectedFault, statements


def written() -> list[dict[str, Any]]:
    """Every event's body, in the order written, checked against its row."""
    rows = db.session.execute(sa.select(models.Event).order_by(models.Event.id)).scalars().all()
    bodies = []
    for row in rows:
        body = json.loads(row.payload)
        assert (body["id"], body["type"], body["version"]) == (row.event_id, row.type, row.version)
        assert body["customer_id"] == (None if row.customer_id is None else str(row.customer_id))
        schema, _ = events.SCHEMAS[EventType(row.type)]
        assert schema().validate(body["data"]) == {}, body
        bodies.append(body)
    return bodies


def types() -> list[str]:
    return [body["type"] for body in written()]


@pytest.fixture
def rich(make_customer: Any) -> Any:
    customer = make_customer()
    loyalty.earn_points(customer, 1_000)
    db.session.execute(sa.delete(models.Event))
    db.session.commit()
    return customer


def test_earning_writes_points_earned_with_the_lot(frozen_clock: Any, make_customer: Any) -> None:
    customer = make_customer()
    expires = frozen_clock() + dt.timedelta(days=30)
    lot = loyalty.earn_points(customer, 120, expires_at=expires, reference="order-7")
    (event,) = written()
    assert event["type"] == "points_earned"
    assert event["customer_id"] == str(customer.id)
    assert uuid.UUID(event["id"])
    assert event["data"]["lot_id"] == lot.id
    assert event["data"]["points"] == 120
    assert event["data"]["reference"] == "order-7"
    assert dt.datetime.fromisoformat(event["data"]["expires_at"]) == expires


def test_a_replayed_earning_writes_no_second_event(make_customer: Any) -> None:
    customer = make_customer()
    loyalty.earn_points(customer, 5, idempotency_key="order-1")
    loyalty.earn_points(customer, 5, idempotency_key="order-1")
    assert types() == ["points_earned"]


def test_adjustments_write_points_adjusted_signed(rich: Any) -> None:
    loyalty.adjust_points(rich, 30, reason="goodwill", actor="ann")
    loyalty.adjust_points(rich, -20, reason="typo", actor="ann")
    assert [(e["type"], e["data"]["points"]) for e in written()] == [
        ("points_adjusted", 30),
        ("points_adjusted", -20),
    ]


def test_revoking_writes_points_revoked_with_what_was_left(
    make_customer: Any, make_campaign: Any
) -> None:
    customer = make_customer()
    loyalty.earn_points(customer, 100, idempotency_key="order-9")
    loyalty.redeem(customer, make_campaign(cost_in_points=40))
    loyalty.revoke_points(customer, "order-9", reason="refund")
    event = written()[-1]
    assert event["type"] == "points_revoked"
    assert (event["data"]["points"], event["data"]["already_spent"]) == (60, 40)


def test_expiry_writes_points_expired_per_customer_with_its_lots(
    frozen_clock: Any, make_customer: Any
) -> None:
    customer = make_customer()
    soon = frozen_clock() + dt.timedelta(days=1)
    first = loyalty.earn_points(customer, 10, expires_at=soon)
    second = loyalty.earn_points(customer, 15, expires_at=soon)
    frozen_clock.advance(days=2)
    loyalty.run_expiry()
    event = written()[-1]
    assert event["type"] == "points_expired"
    assert event["data"]["points"] == 25
    assert {lot["lot_id"] for lot in event["data"]["lots"]} == {first.id, second.id}


@pytest.mark.parametrize(
    "fields",
    [{}, {"code_source": CodeSource.POOL, "per_customer_limit": 3}],
    ids=["one statement on postgresql", "step by step"],
)
def test_a_redemption_writes_one_reward_redeemed_with_the_new_reward(
    frozen_clock: Any, rich: Any, make_campaign: Any, fields: dict[str, Any]
) -> None:
    campaign = make_campaign(cost_in_points=300, **fields)
    if campaign.code_source is CodeSource.POOL:
        loyalty.add_pool_codes(campaign, "POOL-1")
    reward = loyalty.redeem(rich, campaign)
    (event,) = written()
    assert event["type"] == "reward_redeemed"
    data = event["data"]
    assert data["redeemed_reward_id"] == reward.id
    assert data["active_points_after"] == 700
    assert data["points_spent"] == 300
    assert data["coupon_code"] == reward.coupon_code
    assert dt.datetime.fromisoformat(event["timestamp"]) == frozen_clock()


@pytest.mark.parametrize(
    "differences",
    [
        {},
        {
            "reward_type": RewardType.CASHBACK,
            "coupon_code": None,
            "redeemed_by": "ann \u00e9\u4e2d",
            "coupon_status": CouponStatus.INACTIVE,
            "active_from": dt.datetime(2026, 1, 3, 4, 5, 6, 789, tzinfo=dt.timezone.utc),
            "active_to": dt.datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=dt.timezone.utc),
            "redeemed_at": dt.datetime(2026, 1, 1, 4, 5, 6, 789, tzinfo=dt.timezone.utc),
            "customer_id": "c-\u00e9",
        },
    ],
    ids=["plain", "every-optional-value"],
)
def test_the_one_statement_body_reads_exactly_as_the_step_by_step_one(
    differences: dict[str, Any],
) -> None:
    """PostgreSQL's statement joins the body around two numbers it alone knows; the body is
    written out by hand there, and must read exactly as the schemas dump it."""
    values = {
        "campaign_id": 3,
        "customer_id": 5,
        "reward_name": 'Quote " and "redeemed_reward_id":0 \u00e9\n',
        "reward_type": RewardType.GIFT,
        "coupon_code": "C-1",
        "redeemed_by": None,
        "cost_in_points": 10,
        "coupon_status": CouponStatus.ACTIVE,
        "active_from": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        "active_to": None,
        "redeemed_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        **differences,
    }
    template = events.redeemed_template(values)
    joined = template["payload_0"] + "7" + template["payload_1"] + "990" + template["payload_2"]
    data = events.redeemed_data(values, 7, 990)
    customer_id, now = values["customer_id"], values["redeemed_at"]
    step_by_step = events.row_values(EventType.REWARD_REDEEMED, customer_id, now, data)
    dumped = events.body(EventType.REWARD_REDEEMED, template["event_id"], customer_id, now, data)
    assert joined == events.encode(dumped)
    assert (template["type"], template["version"]) == (
        step_by_step["type"],
        step_by_step["version"],
    )


def test_the_life_of_a_gift_writes_an_event_per_change(rich: Any, make_campaign: Any) -> None:
    reward = loyalty.redeem(rich, make_campaign(reward_type=RewardType.GIFT))
    loyalty.mark_used(reward, actor="ann", order_reference="order-3")
    loyalty.unmark_used(reward, actor="ann")
    loyalty.mark_used(reward, actor="ann")
    loyalty.set_delivery_status(reward, DeliveryStatus.SHIPPED, actor="ann")
    loyalty.set_delivery_status(reward, DeliveryStatus.CANCELED, actor="ann")
    loyalty.cancel_redemption(reward, reason="lost in the post", actor="ann")
    bodies = written()
    assert [b["type"] for b in bodies] == [
        "reward_redeemed",
        "reward_used",
        "reward_unused",
        "reward_used",
        "delivery_status_changed",
        "delivery_status_changed",
        "redemption_cancelled",
    ]
    assert bodies[1]["data"]["order_reference"] == "order-3"
    assert (bodies[5]["data"]["from_status"], bodies[5]["data"]["to_status"]) == (
        "shipped",
        "canceled",
    )
    assert bodies[-1]["data"]["points_returned"] == reward.cost_in_points
    assert {b["data"]["redeemed_reward_id"] for b in bodies} == {reward.id}


def test_a_refused_change_writes_no_event(rich: Any, make_campaign: Any) -> None:
    reward = loyalty.redeem(rich, make_campaign())
    with pytest.raises(Exception, match="not marked as used"):
        loyalty.unmark_used(reward)
    assert types() == ["reward_redeemed"]


def test_a_coupon_running_out_writes_reward_expired(
    frozen_clock: Any, rich: Any, make_campaign: Any
) -> None:
    loyalty.redeem(rich, make_campaign(days_valid=3))
    frozen_clock.advance(days=4)
    loyalty.run_expiry()
    assert types() == ["reward_redeemed", "reward_expired"]


def test_a_cashback_status_change_writes_cashback_status_changed(ctx: Any) -> None:
    reward = loyalty.redeem(cashback_customer(), cashback_campaign())
    state = loyalty._ctx()
    actions.settle_manually(state, payout_of(reward.id), paid=True, actor="ann")
    bodies = [b for b in written() if b["type"] == "cashback_status_changed"]
    assert [b["data"]["cashback_status"] for b in bodies] == [
        "3: MANUAL: Waiting for an admin to pay it out",
        "1: MANUAL: Paid by ann",
    ]


def test_with_events_off_nothing_is_written(app: Any, rich: Any, make_campaign: Any) -> None:
    app.config["LOYALTY_EVENTS"] = False
    loyalty.redeem(rich, make_campaign())
    loyalty.earn_points(rich, 5)
    assert written() == []


@pytest.mark.parametrize(
    "fields",
    [{"total_limit": 100}, {"code_source": CodeSource.POOL, "per_customer_limit": 5}],
    ids=["one statement on postgresql", "step by step"],
)
def test_a_redemption_failing_at_any_statement_leaves_no_event_and_one_when_it_commits(
    rich: Any, make_campaign: Any, fields: dict[str, Any]
) -> None:
    campaign = make_campaign(cost_in_points=150, **fields)
    if campaign.code_source is CodeSource.POOL:
        loyalty.add_pool_codes(campaign, "\n".join(f"CODE-{i}" for i in range(3)))
    customer_id, campaign_id = rich.id, campaign.id
    fail_at = 0
    while True:
        fail_at += 1
        db.session.remove()
        with statements(db.engine, fail_at=fail_at) as run:
            try:
                loyalty.redeem(customer_id, campaign_id)
            except (InjectedFault, sa.exc.StatementError):
                failed = True
            else:
                failed = False
        if not failed:
            assert len(run) < fail_at
            break
        db.session.rollback()
        assert written() == [], f"a fault at statement {fail_at} left an event"
    assert fail_at > 2, "faults at the load and at the redemption itself, at least"
    assert types() == ["reward_redeemed"]
