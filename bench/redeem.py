"""Redemption throughput: our ``redeem()`` against two hand-written paths doing the same writes,
measured in the same run on PostgreSQL, at 1 and 8 concurrent clients (processes).

- **floor**: the fewest round trips that do the work. One statement over psycopg, a
  data-modifying ``WITH`` given only the customer's and the campaign's ids, with nothing read
  first: it reads the campaign's terms and the customer's e-mail itself, takes the gate on the
  account, locks the lots soonest-expiring first (``LIMIT cost``: every open lot holds at least a
  point), updates them and writes the reward with its snapshot, the ledger entry, the allocations,
  the history row and the limit slot when the campaign has a total limit. Every ratio is to it.
- **raw**: a plain transaction, statement by statement, as an application written without the
  extension would do it: it reads the customer and the campaign first, then the same writes.

The bench campaign has no total limit, so, as in ``redeem()``, its redemptions do not queue on
the campaign row. The reward row holds the same values on every path: the customer's e-mail, and
the active points left after the spend (the balance less pending and overdue points), which the
gate returns. Also the cost of a redemption for a customer with 10,000 open lots against one with
3 lots.

    .venv/bin/python bench/redeem.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                     [--seconds 4] [--customers 2000] [--repeat 3]

Each throughput figure is measured ``--repeat`` times, the paths taking turns, and the median
is printed with the spread, so a neighbour's load on a shared machine shows instead of skewing
one side. Beside it, the CPU one redemption costs the client processes and the server's
backends (found by ``application_name``; the server runs on this machine): a busy machine
distorts throughput far more than CPU per redemption. Each ``redeem()`` process redeems once
before the clock starts, so its first statements' compilation is not counted. It creates a
scratch database next to the one in --url and drops it afterwards. This is a benchmark that
prints figures, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_admin import Admin
from flask_sqlalchemy import SQLAlchemy

from flask_loyalty_rewards import CustomerProfile, LoyaltyRewards, RewardType, create_models
from flask_loyalty_rewards.services.codes import generate_code

db = SQLAlchemy()


class Customer(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "customer"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(255), nullable=False)


models = create_models(db, customer_model=Customer)
loyalty = LoyaltyRewards()


@loyalty.customer_profile
def profile(customer: Customer) -> CustomerProfile:
    return CustomerProfile(email=customer.email)


COST = 10
NOW = dt.datetime.now(dt.timezone.utc)


def make_app(
    url: str, *, with_admin: bool = False, name: str = "bench", pool_size: int = 2
) -> Flask:
    """The host app; ``name`` is its connections' ``application_name`` (a path's server CPU)."""
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_size": pool_size,
            "connect_args": {"application_name": name},
        },
    )
    db.init_app(app)
    admin = Admin(app, name="Bench") if with_admin else None
    loyalty.init_app(app, db=db, models=models, admin=admin)
    return app


def seed(url: str, customers: int) -> tuple[int, int, int]:
    """Customers with 3 lots each, one with 10,000 lots; returns (campaign, heavy, light)."""
    app = make_app(url)
    with app.app_context():
        db.create_all()
        engine = db.engine
        with engine.begin() as conn:
            conn.execute(
                sa.insert(Customer.__table__),
                [{"id": i, "email": f"c{i}@x"} for i in range(1, customers + 3)],
            )
            conn.execute(
                sa.insert(models.Account.__table__),
                [
                    {"customer_id": i, "balance": 3 * 100_000, "updated_at": NOW}
                    for i in range(1, customers + 2)
                ]
                + [{"customer_id": customers + 2, "balance": 10_000 * 1_000, "updated_at": NOW}],
            )
            lots, entries = [], []
            for cid in range(1, customers + 2):
                for n, days in enumerate((30, 60, None)):
                    expires = NOW + dt.timedelta(days=days) if days else None
                    lots.append(_lot(cid, 100_000, expires, n))
            heavy = customers + 2
            for n in range(10_000):
                lots.append(_lot(heavy, 1_000, NOW + dt.timedelta(days=30, minutes=n), n))
            conn.execute(sa.insert(models.PointsLot.__table__), lots)
            ids = conn.execute(
                sa.select(
                    models.PointsLot.id, models.PointsLot.customer_id, models.PointsLot.amount
                )
            ).all()
            entries = [
                {
                    "customer_id": cid,
                    "kind": "earn",
                    "delta": amount,
                    "created_at": NOW,
                    "lot_id": lid,
                }
                for lid, cid, amount in ids
            ]
            conn.execute(sa.insert(models.LedgerEntry.__table__), entries)
            campaign = conn.execute(
                sa.insert(models.RewardCampaign.__table__).values(
                    name="Bench coupon",
                    description="",
                    reward_type=RewardType.DISCOUNT_CODE,
                    cost_in_points=COST,
                    tax_value=0,
                    active=True,
                    days_inactive=0,
                    days_valid=30,
                    fulfillment_tracking=False,
                    code_source="generated",
                    redeemed_count=0,
                    created_at=NOW,
                    updated_at=NOW,
                )
            ).inserted_primary_key[0]
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()
    return int(campaign), customers + 2, customers + 1


def _lot(cid: int, amount: int, expires: dt.datetime | None, n: int) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "amount": amount,
        "remaining": amount,
        "earned_at": NOW - dt.timedelta(seconds=n),
        "expires_at": expires,
        "spend_order_at": expires or dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc),
    }


# -- the three paths ------------------------------------------------------------------------------


def ours(
    url: str, campaign: int, customers: list[int], seconds: float, start: Any, out: Any
) -> None:
    app = make_app(url, name=ours.__name__)
    rng = random.Random()
    with app.app_context():  # outside the clock: the process's first statements are compiled
        loyalty.redeem(rng.choice(customers), campaign)
        db.session.remove()
    start.wait()
    cpu, done, deadline = time.process_time(), 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        with app.app_context():
            loyalty.redeem(rng.choice(customers), campaign)
            db.session.remove()
        done += 1
    out.put((done, time.process_time() - cpu))
    start.wait()  # the server's CPU is read while the connections are open
    with app.app_context():
        db.engine.dispose()


RAW_SQL = {
    "customer": "SELECT id, email FROM customer WHERE id = %(c)s",
    "campaign": """
        SELECT name, cost_in_points, tax_value, days_valid, total_limit FROM loyalty_campaign
        WHERE id = %(campaign)s""",
    "gate": """
        UPDATE loyalty_account SET balance = balance - %(cost)s, updated_at = %(now)s
        WHERE customer_id = %(c)s AND balance >= %(cost)s
        RETURNING balance - (
            SELECT coalesce(sum(remaining), 0) FROM loyalty_points_lot
            WHERE customer_id = %(c)s AND remaining > 0
              AND (spend_order_at <= %(now)s OR available_from > %(now)s))""",
    "lots": """
        SELECT id, remaining FROM loyalty_points_lot
        WHERE customer_id = %(c)s AND remaining > 0 AND spend_order_at > %(now)s
          AND (available_from IS NULL OR available_from <= %(now)s)
        ORDER BY spend_order_at, earned_at, id LIMIT 16 FOR UPDATE""",
    "reward": """
        INSERT INTO loyalty_redeemed_reward (
            campaign_id, customer_id, coupon_code, unique_code, reward_name, reward_type,
            cost_in_points, tax_value, customer_email, customer_phone, customer_first_name,
            customer_last_name, address_line1, address_line2, address_postal_code, address_city,
            address_region, address_country, active_points_after, redeemed_at, charged,
            active_from, active_to, used, coupon_status, search_email, search_name,
            search_surname, search_phone, search_code)
        VALUES (%(campaign)s, %(c)s, %(code)s, %(code)s, 'Bench coupon', 'discount_code',
            %(cost)s, 0, %(email)s, '', '', '', '', '', '', '', '', '', %(after)s, %(now)s, true,
            %(now)s, %(to)s, false, 'active', %(search_email)s, '', '', '', %(code)s)
        RETURNING id""",
    "entry": """
        INSERT INTO loyalty_ledger_entry (
            customer_id, kind, delta, reason, reference, created_at, redeemed_reward_id)
        VALUES (%(c)s, 'spend', %(neg)s, 'Bench coupon', %(code)s, %(now)s, %(rid)s)
        RETURNING id""",
    "alloc": """
        INSERT INTO loyalty_allocation (entry_id, lot_id, points)
        VALUES (%(e)s, %(lot)s, %(p)s)""",
    "lot": "UPDATE loyalty_points_lot SET remaining = %(r)s WHERE id = %(lot)s",
    "history": """
        INSERT INTO loyalty_reward_history (redeemed_reward_id, event, to_value, created_at)
        VALUES (%(rid)s, 'redeemed', 'active', %(now)s)""",
    "event": """
        INSERT INTO loyalty_event (event_id, type, version, customer_id, occurred_at, payload)
        VALUES (%(eid)s, 'reward_redeemed', 1, %(c)s, %(now)s, %(payload)s)""",
    "slot": """
        UPDATE loyalty_campaign SET redeemed_count = redeemed_count + 1
        WHERE id = %(campaign)s AND redeemed_count < total_limit""",
}


def raw(
    url: str, campaign: int, customers: list[int], seconds: float, start: Any, out: Any
) -> None:
    """The same writes by hand, straight on psycopg: no ORM, no savepoint, no checks beyond SQL."""
    import psycopg

    u = sa.make_url(url)
    conn = psycopg.connect(
        host=u.host, port=u.port, user=u.username, dbname=u.database, application_name="raw"
    )
    rng = random.Random()
    start.wait()
    cpu, done, deadline = time.process_time(), 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        c = rng.choice(customers)
        now = dt.datetime.now(dt.timezone.utc)
        code = generate_code()
        with conn.transaction(), conn.cursor() as cur:
            _, email = cur.execute(RAW_SQL["customer"], {"c": c}).fetchone()
            *_, total_limit = cur.execute(RAW_SQL["campaign"], {"campaign": campaign}).fetchone()
            (after,) = cur.execute(RAW_SQL["gate"], {"cost": COST, "now": now, "c": c}).fetchone()
            lots = cur.execute(RAW_SQL["lots"], {"c": c, "now": now}).fetchall()
            draws, owed = [], COST
            for lot_id, remaining in lots:
                take = min(owed, remaining)
                draws.append((lot_id, take, remaining - take))
                owed -= take
                if not owed:
                    break
            rid = cur.execute(
                RAW_SQL["reward"],
                {
                    "campaign": campaign,
                    "c": c,
                    "code": code,
                    "cost": COST,
                    "email": email,
                    "search_email": email.casefold(),
                    "after": after,
                    "now": now,
                    "to": now + dt.timedelta(days=30),
                },
            ).fetchone()[0]
            eid = cur.execute(
                RAW_SQL["entry"], {"c": c, "neg": -COST, "code": code, "now": now, "rid": rid}
            ).fetchone()[0]
            cur.executemany(
                RAW_SQL["alloc"], [{"e": eid, "lot": lot, "p": p} for lot, p, _ in draws]
            )
            cur.executemany(RAW_SQL["lot"], [{"r": r, "lot": lot} for lot, _, r in draws])
            cur.execute(RAW_SQL["history"], {"rid": rid, "now": now})
            payload = json.dumps(
                {
                    "redeemed_reward_id": rid,
                    "campaign_id": campaign,
                    "reward_name": "Bench coupon",
                    "coupon_code": code,
                    "points_spent": COST,
                    "active_points_after": int(after),
                    "redeemed_at": now.isoformat(),
                }
            )
            cur.execute(
                RAW_SQL["event"],
                {"eid": str(uuid.uuid4()), "c": c, "now": now, "payload": payload},
            )
            if total_limit is not None:
                cur.execute(RAW_SQL["slot"], {"campaign": campaign})
        done += 1
    out.put((done, time.process_time() - cpu))
    start.wait()
    conn.close()


#: The floor: the whole redemption in one statement, given nothing but the two ids.
FLOOR_SQL = """
WITH terms AS (
    SELECT id, name, reward_type, cost_in_points, tax_value, days_inactive, days_valid,
           total_limit
    FROM loyalty_campaign WHERE id = %(campaign)s AND active
), gate AS (
    UPDATE loyalty_account SET balance = balance - terms.cost_in_points, updated_at = %(now)s
    FROM terms
    WHERE customer_id = %(c)s AND balance >= terms.cost_in_points
    RETURNING balance - (
        SELECT coalesce(sum(remaining), 0) FROM loyalty_points_lot
        WHERE customer_id = %(c)s AND remaining > 0
          AND (spend_order_at <= %(now)s OR available_from > %(now)s)) AS active_after
), first_lots AS (
    SELECT id, remaining, spend_order_at, earned_at FROM loyalty_points_lot
    WHERE customer_id = %(c)s AND remaining > 0 AND spend_order_at > %(now)s
      AND (available_from IS NULL OR available_from <= %(now)s)
      AND EXISTS (SELECT FROM gate)
    ORDER BY spend_order_at, earned_at, id
    LIMIT (SELECT cost_in_points FROM terms)
    FOR UPDATE
), ranked AS (
    SELECT id, remaining,
           sum(remaining) OVER (ORDER BY spend_order_at, earned_at, id) - remaining AS before
    FROM first_lots
), draws AS (
    SELECT ranked.id AS lot_id,
           least(ranked.remaining, terms.cost_in_points - ranked.before) AS points,
           ranked.remaining - least(ranked.remaining, terms.cost_in_points - ranked.before)
               AS remaining_after
    FROM ranked, terms WHERE ranked.before < terms.cost_in_points
), reward AS (
    INSERT INTO loyalty_redeemed_reward (
        campaign_id, customer_id, coupon_code, unique_code, reward_name, reward_type,
        cost_in_points, tax_value, customer_email, customer_phone, customer_first_name,
        customer_last_name, address_line1, address_line2, address_postal_code, address_city,
        address_region, address_country, active_points_after, redeemed_at, charged,
        active_from, active_to, used, coupon_status, search_email, search_name, search_surname,
        search_phone, search_code)
    SELECT terms.id, customer.id, %(code)s, %(code)s, terms.name, terms.reward_type,
           terms.cost_in_points, terms.tax_value, customer.email, '', '', '', '', '', '', '',
           '', '', gate.active_after, %(now)s, true,
           %(now)s + make_interval(days => terms.days_inactive),
           CASE WHEN terms.days_valid > 0 THEN %(now)s
               + make_interval(days => terms.days_inactive + terms.days_valid) END,
           false, CASE WHEN terms.days_inactive > 0 THEN 'inactive' ELSE 'active' END,
           lower(customer.email), '', '', '', %(code)s
    FROM terms, gate, customer
    WHERE customer.id = %(c)s
      AND (SELECT sum(points) FROM draws) = terms.cost_in_points
    RETURNING id, campaign_id, customer_id, cost_in_points, reward_name, coupon_code,
              redeemed_at, coupon_status, active_points_after
), spend AS (
    INSERT INTO loyalty_ledger_entry (
        customer_id, kind, delta, reason, reference, created_at, redeemed_reward_id)
    SELECT customer_id, 'spend', -cost_in_points, reward_name, coupon_code, redeemed_at, id
    FROM reward
    RETURNING id
), allocations AS (
    INSERT INTO loyalty_allocation (entry_id, lot_id, points)
    SELECT spend.id, draws.lot_id, draws.points FROM spend, draws
    RETURNING id
), spent_lots AS (
    UPDATE loyalty_points_lot SET remaining = draws.remaining_after
    FROM draws WHERE loyalty_points_lot.id = draws.lot_id AND EXISTS (SELECT FROM reward)
    RETURNING loyalty_points_lot.id
), redeemed_event AS (
    INSERT INTO loyalty_reward_history (redeemed_reward_id, event, to_value, created_at)
    SELECT id, 'redeemed', coupon_status, redeemed_at FROM reward
    RETURNING id
), slot AS (
    UPDATE loyalty_campaign SET redeemed_count = redeemed_count + 1
    FROM terms
    WHERE loyalty_campaign.id = terms.id AND terms.total_limit IS NOT NULL
      AND redeemed_count < terms.total_limit AND EXISTS (SELECT FROM reward)
    RETURNING loyalty_campaign.id
), outbox AS (
    INSERT INTO loyalty_event (event_id, type, version, customer_id, occurred_at, payload)
    SELECT gen_random_uuid()::text, 'reward_redeemed', 1, customer_id, redeemed_at,
           json_build_object(
               'redeemed_reward_id', id, 'campaign_id', campaign_id, 'reward_name', reward_name,
               'coupon_code', coupon_code, 'points_spent', cost_in_points,
               'active_points_after', active_points_after, 'redeemed_at', redeemed_at)::text
    FROM reward
    RETURNING id
)
SELECT (SELECT id FROM reward), (SELECT count(*) FROM allocations),
       (SELECT count(*) FROM spent_lots), (SELECT count(*) FROM redeemed_event),
       (SELECT count(*) FROM slot), (SELECT count(*) FROM outbox)
"""


def floor(
    url: str, campaign: int, customers: list[int], seconds: float, start: Any, out: Any
) -> None:
    """One statement, one round trip, autocommitted: the least any implementation can send."""
    import psycopg

    u = sa.make_url(url)
    conn = psycopg.connect(
        host=u.host,
        port=u.port,
        user=u.username,
        dbname=u.database,
        autocommit=True,
        application_name="floor",
    )
    rng = random.Random()
    start.wait()
    cpu, done, deadline = time.process_time(), 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        params = {
            "c": rng.choice(customers),
            "campaign": campaign,
            "now": dt.datetime.now(dt.timezone.utc),
            "code": generate_code(),
        }
        with conn.cursor() as cur:
            reward_id = cur.execute(FLOOR_SQL, params).fetchone()[0]
        assert reward_id is not None, "the floor statement redeemed nothing"
        done += 1
    out.put((done, time.process_time() - cpu))
    start.wait()
    conn.close()


@dataclass(frozen=True)
class Run:
    """One path's run: redemptions per second, and the CPU each one cost the client processes
    and the server's backends (what a busy, shared machine does not distort as much)."""

    per_second: float
    client_ms: float
    server_ms: float


def throughput(
    target: Any, url: str, campaign: int, customers: list[int], clients: int, seconds: float
) -> float:
    return measured(target, url, campaign, customers, clients, seconds).per_second


def measured(
    target: Any, url: str, campaign: int, customers: list[int], clients: int, seconds: float
) -> Run:
    """Run ``target`` in ``clients`` processes for ``seconds``; each connects with
    ``application_name`` = the path's name, by which its backends' CPU is found."""
    ctx = mp.get_context("fork")
    start, out = ctx.Barrier(clients + 1), ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(url, campaign, customers, seconds, start, out))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    start.wait()
    server_before = backends_cpu(url, target.__name__)
    results = [out.get(timeout=seconds + 60) for _ in procs]
    server = backends_cpu(url, target.__name__) - server_before
    start.wait()
    for p in procs:
        p.join()
    done = sum(n for n, _ in results)
    client = sum(cpu for _, cpu in results)
    return Run(done / seconds, client / done * 1000, server / done * 1000)


def backends_cpu(url: str, name: str) -> float:
    """CPU seconds the server's backends named ``name`` have used (the server runs here)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": name},
        ).scalars()
        ticks = 0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    engine.dispose()
    return ticks / os.sysconf("SC_CLK_TCK")


def spread(values: list[float]) -> str:
    """The median, then the lowest and highest value."""
    digits = 2 if max(values) < 10 else 0
    median, low, high = statistics.median(values), min(values), max(values)
    return f"{median:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def latency(url: str, campaign: int, customer: int, n: int) -> float:
    app = make_app(url)
    times = []
    with app.app_context():
        for _ in range(n):
            t = time.perf_counter()
            loyalty.redeem(customer, campaign)
            times.append(time.perf_counter() - t)
            db.session.remove()
        db.engine.dispose()
    return statistics.median(times[5:]) * 1000


def ledger_problems(url: str) -> list[str]:
    """What ``flask loyalty verify`` finds after all three paths wrote: each must keep the books."""
    app = make_app(url)
    with app.app_context():
        problems = [str(p) for p in loyalty.verify()]
        db.engine.dispose()
    return problems


def arguments(*, seconds: float) -> argparse.ArgumentParser:
    """The options every PostgreSQL bench takes; a bench adds its own."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seconds", type=float, default=seconds)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    return parser


def scratch_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the server for one run, and the call that drops it."""
    server = sa.make_url(server_url)
    name = f"flr_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = arguments(seconds=4.0)
    args = parser.parse_args()
    url, drop = scratch_database(args.url)
    try:
        campaign, heavy, light = seed(url, args.customers)
        customers = list(range(1, args.customers + 1))
        print(
            f"PostgreSQL, {args.customers} customers, {args.seconds:.0f} s a run, cost {COST}, "
            f"median of {args.repeat} runs (lowest-highest)"
        )
        columns = ("redeem() /s", "raw SQL /s", "floor /s", "redeem()/floor", "raw/floor")
        cpu_columns = ("redeem()", "raw SQL", "floor")
        cpu_rows = []
        print(f"{'clients':>8}" + "".join(f"{c:>18}" for c in columns))
        for clients in (1, 8):
            rounds, cpu = [], []
            for _ in range(args.repeat):
                f = measured(floor, url, campaign, customers, clients, args.seconds)
                r = measured(raw, url, campaign, customers, clients, args.seconds)
                o = measured(ours, url, campaign, customers, clients, args.seconds)
                rounds.append(
                    [x.per_second for x in (o, r, f)]
                    + [o.per_second / f.per_second, r.per_second / f.per_second]
                )
                cpu.append([(x.client_ms, x.server_ms) for x in (o, r, f)])
            figures = [spread([p[i] for p in rounds]) for i in range(len(columns))]
            print(f"{clients:>8}" + "".join(f"{x:>18}" for x in figures))
            cpu_rows.append((clients, cpu))
        print("CPU per redemption, ms: client processes + server backends, median of the runs")
        print(f"{'clients':>8}" + "".join(f"{c:>18}" for c in cpu_columns))
        for clients, cpu in cpu_rows:
            medians = [
                [statistics.median(run[i][side] for run in cpu) for side in (0, 1)]
                for i in range(len(cpu_columns))
            ]
            cells = [f"{client:.2f} + {server:.2f}" for client, server in medians]
            print(f"{clients:>8}" + "".join(f"{x:>18}" for x in cells))
        light_ms = latency(url, campaign, light, 105)
        heavy_ms = latency(url, campaign, heavy, 105)
        print(
            f"one redemption, median of 100: 3 lots {light_ms:.2f} ms, "
            f"10,000 lots {heavy_ms:.2f} ms, ratio {heavy_ms / light_ms:.2f}"
        )
        problems = ledger_problems(url)
        print("verify after every path:", problems or "clean")
    finally:
        drop()


if __name__ == "__main__":
    main()
