"""On SQLite, BEGIN IMMEDIATE is ours alone: a host's reading request and a redemption never
wait for each other (with the "all" mode the reader would hold the write lock)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from flask_loyalty_rewards import RewardType
from tests import host
from tests.host import db, loyalty, models

WAIT = 5.0


def test_a_request_reading_and_a_redemption_do_not_wait_for_each_other(tmp_path: Path) -> None:
    app = host.create_app(
        f"sqlite:///{tmp_path / 'scope.sqlite'}",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 2}},  # a wait would fail fast
    )
    with app.app_context():
        db.create_all()
        customer = host.Customer(email="reader@example.com")
        campaign = models.RewardCampaign(
            name="Ten off", reward_type=RewardType.DISCOUNT_CODE, cost_in_points=10
        )
        db.session.add_all([customer, campaign])
        db.session.commit()
        customer_id, campaign_id = customer.id, campaign.id
        loyalty.earn_points(customer_id, 10)
        db.session.remove()

    has_read, redeemer_inside, reader_done = threading.Event(), threading.Event(), threading.Event()
    timings: dict[str, float] = {}
    errors: list[str] = []

    def reading_request() -> None:
        with app.app_context():
            try:
                db.session.execute(sa.select(host.Customer)).all()  # the request's transaction
                has_read.set()
                assert redeemer_inside.wait(WAIT)
                started = time.monotonic()
                db.session.execute(sa.select(models.RedeemedReward)).all()
                timings["read during the redemption"] = time.monotonic() - started
                reader_done.set()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(f"reader: {exc!r}")
            finally:
                db.session.remove()

    @loyalty.coupon_issuer
    def hold_the_write_transaction(redeemed: Any) -> None:
        redeemer_inside.set()
        assert reader_done.wait(WAIT)

    def redeeming_request() -> None:
        with app.app_context():
            try:
                assert has_read.wait(WAIT)
                started = time.monotonic()
                loyalty.redeem(customer_id, campaign_id)
                timings["redemption"] = time.monotonic() - started
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(f"redeemer: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=reading_request), threading.Thread(target=redeeming_request)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(3 * WAIT)
    finally:
        loyalty.hooks.coupon_issuer = None
        with app.app_context():
            db.engine.dispose()
    assert errors == []
    assert timings["read during the redemption"] < 1.0
    assert timings["redemption"] < 1.5
