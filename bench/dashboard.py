"""Server time of the programme dashboard on a million ledger entries.

Usage::

    python bench/dashboard.py postgresql+psycopg://postgres@127.0.0.1:5432/bench_dashboard
    python bench/dashboard.py sqlite:////tmp/bench_dashboard.db

Fills (once; later runs with the same URL and --entries reuse it) two years of ledger entries
for 10,000 customers, their open lots (expiring over the next two years) and 300,000 redeemed
rewards of 20 campaigns, then requests the dashboard by day (30 days), week (12 weeks) and
month (12 months) through Flask's test client, printing the median and best server time and
the median time spent in the database driver. The rollups are brought up to date first (the
one-off time is printed; the bulk load is committed, so nothing needs to settle), as they are
in a shop whose dashboard is looked at or whose ``flask loyalty dashboard-rollup`` runs; the
entries since the mark are read live. This is a script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from admin_grid import RR, Customer, SQLTimer, create_app, db, models, rows

from flask_loyalty_rewards.extension import get_state
from flask_loyalty_rewards.services import dashboard

CUSTOMERS = 10_000
CAMPAIGNS = 20
REWARDS = 300_000
NOW = dt.datetime.now(dt.timezone.utc)
KINDS = ["earn"] * 10 + ["spend"] * 7 + ["expire"] * 2 + ["refund", "revoke", "adjust"]


def entries(count: int) -> Any:
    rng = random.Random(11)
    span = 2 * 365 * 86400
    for n in range(count):
        kind = rng.choice(KINDS)
        points = rng.randrange(10, 500)
        positive = kind in ("earn", "refund") or (kind == "adjust" and rng.random() < 0.5)
        yield {
            "customer_id": n % CUSTOMERS + 1,
            "kind": kind,
            "delta": points if positive else -points,
            "created_at": NOW - dt.timedelta(seconds=span * (count - n) / count),
        }


def lots(count: int) -> Any:
    rng = random.Random(13)
    for n in range(count):
        amount = rng.randrange(10, 500)
        expires = NOW + dt.timedelta(days=rng.randrange(1, 730))
        yield {
            "customer_id": n % CUSTOMERS + 1,
            "amount": amount,
            "remaining": rng.randrange(0, amount + 1),
            "earned_at": NOW - dt.timedelta(days=rng.randrange(1, 365)),
            "expires_at": expires,
            "spend_order_at": expires,
        }


def rewards(count: int) -> Any:
    span = 2 * 365 * 86400
    for n, row in enumerate(rows(count)):
        moment = NOW - dt.timedelta(seconds=span * (count - n) / count)
        row.update(
            campaign_id=n % CAMPAIGNS + 1,
            customer_id=n % CUSTOMERS + 1,
            redeemed_at=moment,
            active_from=moment,
            used_at=moment if row["used"] else None,
        )
        yield row


def load(engine: sa.Engine, table: sa.Table, source: Any) -> None:
    """COPY on PostgreSQL, executemany in batches elsewhere."""
    first = next(source)
    columns = list(first)
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                copy.write_row([first[c] for c in columns])
                for row in source:
                    copy.write_row([row[c] for c in columns])
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        batch = [first]
        for row in source:
            batch.append(row)
            if len(batch) == 20_000:
                conn.execute(sa.insert(table), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(table), batch)


def fill(app: Any, count: int) -> None:
    with app.app_context():
        engine = db.engine
        entry = models.LedgerEntry.__table__
        if sa.inspect(engine).has_table(entry.name):
            with engine.connect() as conn:
                present = conn.execute(sa.select(sa.func.count()).select_from(entry)).scalar()
            if present == count:
                print(f"reusing {count} ledger entries already in the database")
                db.create_all()  # tables added since the fill
                return
        print(f"filling {count} ledger entries ...", flush=True)
        started = time.perf_counter()
        db.drop_all()
        db.create_all()
        with engine.begin() as conn:
            conn.execute(
                sa.insert(Customer.__table__),
                [{"id": i, "email": f"c{i}@example.com"} for i in range(1, CUSTOMERS + 1)],
            )
            conn.execute(
                sa.insert(models.RewardCampaign.__table__),
                [
                    {
                        "id": i,
                        "name": f"Campaign {i}",
                        "description": "",
                        "reward_type": "gift" if i % 2 else "discount_code",
                        "cost_in_points": 100,
                        "tax_value": Decimal("0"),
                        "active": True,
                        "days_inactive": 0,
                        "days_valid": 0,
                        "fulfillment_tracking": False,
                        "code_source": "generated",
                        "redeemed_count": 0,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in range(1, CAMPAIGNS + 1)
                ],
            )
            conn.execute(
                sa.insert(models.Account.__table__),
                [
                    {"customer_id": i, "balance": 1000 + i, "updated_at": NOW}
                    for i in range(1, CUSTOMERS + 1)
                ],
            )
        load(engine, models.PointsLot.__table__, lots(count // 5))
        load(engine, RR.__table__, rewards(REWARDS))
        load(engine, entry, entries(count))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(
                "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
            )
        print(f"filled in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="SQLAlchemy database URL (the database is overwritten)")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    app = create_app(args.url)
    fill(app, args.entries)
    client = app.test_client()
    with app.app_context():
        sql = SQLTimer(db.engine)
    with app.app_context():
        started = time.perf_counter()
        ctx = get_state().context(app)
        dashboard.catch_up(ctx, settle=dt.timedelta(0))
        print(f"rollups brought up to date in {(time.perf_counter() - started) * 1000:.0f} ms")
    dialect = sa.make_url(args.url).get_backend_name()
    print(f"\n{dialect}, {args.entries:,} ledger entries, {REWARDS:,} redeemed rewards")
    print(f"{'dashboard':<16}{'server ms (median / best)':>28}{'SQL ms':>10}")
    for period in ("day", "week", "month"):
        url = f"/admin/loyalty/dashboard/?period={period}"
        assert client.get(url).status_code == 200
        times, sql_times = [], []
        for _ in range(args.repeat):
            sql.total = 0.0
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
            sql_times.append(sql.total * 1000)
        figures = f"{statistics.median(times):.1f} / {min(times):.1f}"
        print(f"by {period:<13}{figures:>28}{statistics.median(sql_times):>10.1f}", flush=True)


if __name__ == "__main__":
    main()
