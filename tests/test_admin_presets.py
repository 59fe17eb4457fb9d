"""Saved filters of the Redeemed rewards grid: the built-in three and the host's own."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import CouponStatus, DeliveryStatus, RewardType
from flask_loyalty_rewards.admin import GridPreset
from flask_loyalty_rewards.admin.presets import builtin_presets
from flask_loyalty_rewards.cashback import PayoutState
from tests import host
from tests.support.admin import GRID, grid
from tests.support.clients import log_in
from tests.support.factories import Rows


def shown(client, preset, **args):
    body = client.get(GRID, query_string={"preset": preset, **args}).get_data(as_text=True)
    return sorted(row["Customer e-mail"] for row in grid(body)[1])


def reward(admin_data, email, **campaign):
    customer = admin_data.customer(email=email)
    return admin_data.redeemed(customer, admin_data.campaign(**campaign))


def test_gifts_awaiting_shipment_are_used_gifts_still_ordered(admin_client, admin_data):
    gift = {"reward_type": RewardType.GIFT, "fulfillment_tracking": True}
    admin_data.redeemed(
        admin_data.customer(email="ordered@x.test"), admin_data.campaign(**gift), used=True
    )
    shipped = admin_data.redeemed(
        admin_data.customer(email="shipped@x.test"), admin_data.campaign(**gift), used=True
    )
    reward(admin_data, "unused@x.test", **gift)
    admin_data.redeemed(admin_data.customer(email="code@x.test"), admin_data.campaign(), used=True)
    admin_data.run(lambda s, m: host.loyalty.set_delivery_status(shipped, DeliveryStatus.SHIPPED))

    assert shown(admin_client, "gifts-awaiting-shipment") == ["ordered@x.test"]


def test_expiring_in_7_days_are_active_unused_coupons_ending_within_a_week(
    admin_client, admin_data, frozen_clock
):
    reward(admin_data, "in5days@x.test", days_valid=5)
    reward(admin_data, "in30days@x.test", days_valid=30)
    reward(admin_data, "never@x.test")
    reward(admin_data, "notyet@x.test", days_inactive=2, days_valid=10)
    used = reward(admin_data, "used@x.test", days_valid=5)
    admin_data.run(lambda s, m: host.loyalty.mark_used(used))

    assert shown(admin_client, "expiring-in-7-days") == ["in5days@x.test"]
    frozen_clock.advance(days=6)  # the 5-day coupon has expired; the other ends on day 12
    assert shown(admin_client, "expiring-in-7-days") == ["notyet@x.test"]


def test_cashback_payouts_failing_lists_rewards_whose_payout_failed(admin_client, admin_data):
    cashback = {"reward_type": RewardType.CASHBACK}
    failed = reward(admin_data, "failed@x.test", **cashback)
    reward(admin_data, "waiting@x.test", **cashback)

    def fail(session, models):
        payout = models.CashbackPayout
        session.execute(
            sa.update(payout)
            .where(payout.redeemed_reward_id == failed)
            .values(state=PayoutState.FAILURE)
        )
        session.commit()

    admin_data.run(fail)
    assert shown(admin_client, "cashback-failing") == ["failed@x.test"]


def test_a_preset_combines_with_search_and_is_kept_by_the_grids_links(admin_client, admin_data):
    reward(admin_data, "ann@x.test", days_valid=5)
    reward(admin_data, "bob@x.test", days_valid=5)

    assert shown(admin_client, "expiring-in-7-days", search="bob") == ["bob@x.test"]
    body = admin_client.get(GRID, query_string={"preset": "expiring-in-7-days"}).get_data(
        as_text=True
    )
    assert 'aria-current="true">Active and unused, expiring in 7 days</a>' in body
    sort_links = [
        link for link in body.split('href="') if link.startswith("/admin/loyalty/redeemed/?sort=")
    ]
    assert sort_links and all("preset=expiring-in-7-days" in link for link in sort_links)


def test_an_unknown_preset_shows_every_reward(admin_client, admin_data):
    reward(admin_data, "ann@x.test")
    assert shown(admin_client, "no-such-preset") == ["ann@x.test"]


@pytest.fixture
def host_presets_app(variant):
    """A second app of the test host, on the same database, with presets of its own."""
    big = GridPreset("Big spenders", lambda rr, now: rr.cost_in_points >= 500)
    return variant(LOYALTY_ADMIN_PRESETS={"big": big, "cashback-failing": None})


def test_the_host_adds_a_preset_and_hides_a_built_in_one(host_presets_app):
    data = Rows(host_presets_app)
    reward(data, "big@x.test", cost_in_points=600)
    reward(data, "small@x.test")
    client = log_in(host_presets_app.test_client(), data.admin())

    assert shown(client, "big") == ["big@x.test"]
    body = client.get(GRID).get_data(as_text=True)
    assert 'data-loyalty-preset="big"' in body
    assert 'data-loyalty-preset="cashback-failing"' not in body


@pytest.mark.parametrize(
    "presets, message",
    [
        ({"Not A Key": ("x", lambda rr, now: True)}, "must be lower-case"),
        ({"odd": "not a preset"}, "a GridPreset"),
        ({"odd": ("label", "not callable")}, "where must be callable"),
    ],
)
def test_a_bad_preset_is_refused_when_the_app_starts(database_url, presets, message):
    with pytest.raises(ValueError, match=message):
        host.create_app(database_url, LOYALTY_ADMIN_PRESETS=presets)


def test_active_at_and_expiring_between_in_sql_agree_with_status_at(admin_data, frozen_clock):
    ids = [
        reward(admin_data, "a@x.test", days_valid=5),
        reward(admin_data, "b@x.test", days_inactive=2, days_valid=10),
        reward(admin_data, "c@x.test"),
        reward(admin_data, "d@x.test", days_valid=1),
        reward(admin_data, "e@x.test", days_valid=1),
    ]
    admin_data.run(lambda s, m: host.loyalty.mark_used(ids[3]))
    admin_data.run(lambda s, m: host.loyalty.cancel_redemption(ids[4], reason="test"))
    start = frozen_clock()

    def compare(session, models):
        rr = models.RedeemedReward
        rows = session.query(rr).all()
        for days in (0, 1, 3, 6, 40):
            moment = start + dt.timedelta(days=days)
            in_sql = set(session.scalars(sa.select(rr.id).where(rr.active_at(moment))))
            in_python = {r.id for r in rows if r.status_at(moment) is CouponStatus.ACTIVE}
            assert in_sql == in_python, days
            week = moment + dt.timedelta(days=7)
            expiring = set(
                session.scalars(sa.select(rr.id).where(rr.expiring_between(moment, week)))
            )
            assert expiring == {
                r.id
                for r in rows
                if r.id in in_python and not r.used and r.active_to and r.active_to <= week
            }, days

    admin_data.run(compare)


def test_gifts_awaiting_shipment_are_counted_from_an_index_alone(ctx, backend):
    if backend == "postgresql":
        pytest.skip("PostgreSQL's choice follows its statistics: bench/admin_grid.py shows it")
    rr = host.models.RedeemedReward
    preset = builtin_presets(host.models)["gifts-awaiting-shipment"]
    counted = sa.select(rr.id).where(preset.where(rr, dt.datetime.now(dt.timezone.utc)))
    sql = str(counted.limit(10_001).compile(host.db.engine, compile_kwargs={"literal_binds": True}))
    with host.db.engine.connect() as conn:
        if backend == "sqlite":
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "COVERING INDEX ix_loyalty_rr_type" in plan
        else:
            plan = str(conn.exec_driver_sql(f"EXPLAIN {sql}").mappings().all())
            assert "ix_loyalty_rr_type" in plan and "Using index" in plan
