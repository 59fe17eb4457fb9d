"""Cashback payouts: what the payout adds to a redemption, and what cashback-sync adds to the
provider's round trip, each against a baseline measured in the same run.

* redeem: N cashback redemptions (payout row written, sending left to sync) against N
  redemptions of a discount-code campaign of the same cost (no payout).
* sync: N due payouts sent by ``cashback-sync`` (claim, signed HTTP to a fake PayTM on
  127.0.0.1, record the answer, update the grid text) against N bare signed transfer calls to
  the same fake (no database).

    .venv/bin/python bench/cashback_sync.py [--url sqlite:////tmp/bench_cashback.db] [-n 300]

The database (SQLite by default) is emptied first. This script prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_loyalty_rewards import CodeSource, RewardType, clock, get_state
from flask_loyalty_rewards.cashback import payouts
from flask_loyalty_rewards.cashback.paytm import PaytmProvider
from flask_loyalty_rewards.cashback.providers import PayoutDestination, TransferRequest
from tests import host
from tests.support.paytm import FakePaytm, paytm_config, start, stop


def campaign(**fields: object) -> int:
    now = clock.now()
    row = host.models.RewardCampaign(
        name="bench",
        description="",
        cost_in_points=10,
        code_source=CodeSource.NONE,
        currency="INR",
        created_at=now,
        updated_at=now,
        **fields,
    )
    host.db.session.add(row)
    host.db.session.commit()
    return int(row.id)


def timed_redeems(n: int, campaign_id: int, tag: str) -> float:
    customers = []
    for i in range(n):
        customer = host.Customer(email=f"{tag}{i}@example.com", phone="+91 98765 43210")
        host.db.session.add(customer)
        customers.append(customer)
    host.db.session.commit()
    for customer in customers:
        host.loyalty.earn_points(customer, 10)
    started = time.perf_counter()
    for customer in customers:
        host.loyalty.redeem(customer, campaign_id)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=f"sqlite:///{tempfile.mkdtemp()}/bench_cashback.db")
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    fake = FakePaytm()
    server, thread = start(fake)
    try:
        app = host.create_app(args.url, **paytm_config(fake.url, LOYALTY_PAYTM_TIMEOUT=5))
        app.config.update(LOYALTY_CASHBACK_PROVIDER="paytm", LOYALTY_CASHBACK_SEND_ON_REDEEM=False)
        with app.app_context():
            host.db.drop_all()
            host.db.create_all()
            plain = timed_redeems(args.n, campaign(reward_type=RewardType.DISCOUNT_CODE), "plain")
            paid = timed_redeems(
                args.n,
                campaign(reward_type=RewardType.CASHBACK, reward_value=Decimal("5")),
                "cash",
            )
            provider = PaytmProvider(app.config)
            destination = PayoutDestination(phone="9876543210")
            started = time.perf_counter()
            for i in range(args.n):
                provider.create_transfer(
                    TransferRequest(f"BASE-{i}", Decimal("5"), "INR", destination, i)
                )
            bare = time.perf_counter() - started
            ctx = get_state().context(app)
            started = time.perf_counter()
            report = payouts.sync(ctx, limit=args.n)
            synced = time.perf_counter() - started
            host.db.drop_all()
        assert report.checked == args.n and report.states["success"] == args.n, report
        n = args.n
        print(f"backend {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, {n} each")
        print(
            f"redeem: discount code {plain / n * 1000:.2f} ms, cashback {paid / n * 1000:.2f} ms"
            f" per redemption; ratio {paid / plain:.2f}"
        )
        print(
            f"payout: bare signed PayTM call {bare / n * 1000:.2f} ms, cashback-sync "
            f"{synced / n * 1000:.2f} ms per payout; ratio {synced / bare:.2f}"
        )
    finally:
        stop(server, thread)


if __name__ == "__main__":
    main()
