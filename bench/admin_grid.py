"""Server time of the Redeemed rewards grid on a million rows, against stock Flask-Admin views.

Usage::

    python bench/admin_grid.py sqlite:////tmp/bench_admin.db
    python bench/admin_grid.py postgresql+psycopg://postgres@127.0.0.1:5432/bench_admin

The database is filled once (COPY on PostgreSQL, executemany elsewhere) and reused by later runs
with the same URL and --rows. Each page is requested through Flask's test client: the figure is
the whole server time (queries and rendering), the median of --repeat runs after one warm-up.
The searches (e-mail, surname, phone, coupon code) are compared with stock Flask-Admin's search
over the same columns (``ILIKE '%term%'``, a full scan). Stock views are plain
``flask_admin.contrib.sqla.ModelView``s on the same table, once as shipped (no sort) and once
sorted like ours (redeem date, newest first), all at the same page size.
The deep page is measured twice for our view: reached through the pager's link on the page
before it (a keyset cursor, as an admin clicking "next" gets it) and typed as ?page=N in the URL
(no cursor: the deferred-join OFFSET path). Stock views have one path only.
This is a script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import random
import re
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_loyalty_rewards import LoyaltyRewards, create_models
from flask_loyalty_rewards.models import CouponStatus, DeliveryStatus, RewardType
from flask_loyalty_rewards.models.keys import code_key, search_keys

db = SQLAlchemy()


class Customer(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "customer"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(255), nullable=False)


models = create_models(db, customer_model=Customer)
RR = models.RedeemedReward
CUSTOMERS = 1000
PAGE_SIZE = 50
FIRST_NAMES = ["Ann", "Bob", "Carla", "Dawid", "Ewa", "Farid", "Grace", "Henryk", "Iga", "Jan"]


class StockView(ModelView):  # type: ignore[misc]
    """Flask-Admin as shipped, apart from the page size and the delivery status filter."""

    page_size = PAGE_SIZE
    column_filters = ["delivery_status"]
    column_searchable_list = [
        "customer_email",
        "customer_last_name",
        "customer_phone",
        "coupon_code",
    ]


class StockSortedView(StockView):
    column_default_sort = ("redeemed_at", True)


def create_app(url: str) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="bench",
        SQLALCHEMY_DATABASE_URI=url,
        LOYALTY_ADMIN_ACCESS=lambda: True,
        LOYALTY_ADMIN_PAGE_SIZE=PAGE_SIZE,
        LOYALTY_CLIENT_ENABLED=False,
    )
    db.init_app(app)
    admin = Admin(app, name="bench")
    LoyaltyRewards().init_app(app, db=db, models=models, admin=admin)
    admin.add_view(StockView(RR, db, name="stock", endpoint="stock", url="stock"))
    admin.add_view(
        StockSortedView(RR, db, name="stock sorted", endpoint="stock_sorted", url="stock_sorted")
    )
    return app


def rows(count: int) -> Any:
    """Redeemed rewards over two years: half used, gifts moving through delivery."""
    rng = random.Random(7)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    types = list(RewardType)
    deliveries = [DeliveryStatus.ORDERED, DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED]
    for n in range(1, count + 1):
        redeemed_at = start + dt.timedelta(seconds=n * 60 + rng.randrange(60))
        kind = types[n % len(types)]
        used = rng.random() < 0.5
        delivery = None
        if used:
            delivery = rng.choice(deliveries) if kind is RewardType.GIFT else DeliveryStatus.ORDERED
        customer = n % CUSTOMERS + 1
        code = f"CODE-{n:08d}"
        person = {
            "email": f"customer{customer}@example.com",
            "phone": f"+48 600 {customer:06d}",
            "first_name": FIRST_NAMES[customer % len(FIRST_NAMES)],
            "last_name": f"Surname{customer}",
        }
        yield {
            "campaign_id": 1,
            "customer_id": customer,
            "coupon_code": code,
            "unique_code": code,
            "reward_name": f"Reward {n % 40}",
            "reward_type": kind.value,
            "cost_in_points": 100 + n % 900,
            "tax_value": Decimal("1.23"),
            "customer_email": person["email"],
            "customer_phone": person["phone"],
            "customer_first_name": person["first_name"],
            "customer_last_name": person["last_name"],
            **search_keys(**person),
            "search_code": code_key(code),
            "address_line1": "1 Main Street",
            "address_line2": "",
            "address_postal_code": "00-950",
            "address_city": "Warsaw",
            "address_region": "",
            "address_country": "Poland",
            "active_points_after": n % 5000,
            "redeemed_at": redeemed_at,
            "charged": True,
            "active_from": redeemed_at,
            "used": used,
            "used_at": redeemed_at + dt.timedelta(hours=5) if used else None,
            "coupon_status": CouponStatus.ACTIVE.value,
            "delivery_status": delivery.value if delivery else None,
        }


def fill(app: Flask, count: int) -> None:
    with app.app_context():
        table = RR.__table__
        engine = db.engine
        present = None
        inspector = sa.inspect(engine)
        if inspector.has_table(table.name) and {
            c["name"] for c in inspector.get_columns(table.name)
        } == set(table.c.keys()):
            with engine.connect() as conn:
                present = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        if present == count:
            print(f"reusing {count} rows already in the database")
            for index in table.indexes:  # one added since the fill
                index.create(engine, checkfirst=True)
            return
        print(f"filling {count} rows ...", flush=True)
        started = time.perf_counter()
        db.drop_all()
        db.create_all()
        now = dt.datetime.now(dt.timezone.utc)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(Customer.__table__),
                [{"id": i, "email": f"customer{i}@example.com"} for i in range(1, CUSTOMERS + 1)],
            )
            conn.execute(
                sa.insert(models.RewardCampaign.__table__).values(
                    id=1,
                    name="Reward",
                    description="",
                    reward_type="gift",
                    cost_in_points=100,
                    tax_value=Decimal("1.23"),
                    active=True,
                    days_inactive=0,
                    days_valid=0,
                    fulfillment_tracking=True,
                    code_source="generated",
                    redeemed_count=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        if engine.dialect.name == "postgresql":
            copy_rows(engine, table, count)
        else:
            insert_rows(engine, table, count)
        print(f"filled in {time.perf_counter() - started:.0f} s", flush=True)


def insert_rows(engine: sa.Engine, table: sa.Table, count: int) -> None:
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in rows(count):
            batch.append(row)
            if len(batch) == 20_000:
                conn.execute(sa.insert(table), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(table), batch)
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql(f"ANALYZE TABLE {table.name}")


def copy_rows(engine: sa.Engine, table: sa.Table, count: int) -> None:
    columns = list(next(iter(rows(1))))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for row in rows(count):
                copy.write_row([row[c] for c in columns])
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # What autovacuum would do soon after a bulk load: statistics and the visibility map.
        conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")


def filter_arg(app: Flask, endpoint: str, name: str, operation: str) -> str:
    """The URL argument of a view's filter (Flask-Admin numbers them)."""
    for admin in app.extensions["admin"]:
        for view in admin._views:
            if view.endpoint != endpoint:
                continue
            for arg, (_index, flt) in view._filter_args.items():
                if str(flt.name) == name and str(flt.operation()) == operation:
                    return f"flt0_{arg}"
    raise LookupError(f"no filter {name!r} {operation!r} on {endpoint}")


def search_pages() -> dict[str, tuple[str, str, str]]:
    """Searches of our grid (prefix keys) beside stock Flask-Admin's ILIKE '%term%' search."""
    cases = {
        "search e-mail, 1 customer": "customer777@",
        "search e-mail, 111 customers": "customer1",
        "search surname": "surname42",
        "search phone": "+48 600 000 777",
        "search coupon code": "code-00500000",
    }
    return {
        label: (
            f"/admin/loyalty/redeemed/?search={quote(term)}",
            f"/admin/stock/?search={quote(term)}",
            f"/admin/stock_sorted/?search={quote(term)}",
        )
        for label, term in cases.items()
    }


class SQLTimer:
    """Seconds spent in the database driver (statements sent until their rows are read)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.total = 0.0
        self.started: list[float] = []
        sa.event.listen(engine, "before_cursor_execute", self.before)
        sa.event.listen(engine, "after_cursor_execute", self.after)

    def before(self, *args: Any) -> None:
        self.started.append(time.perf_counter())

    def after(self, *args: Any) -> None:
        self.total += time.perf_counter() - self.started.pop()


def timed(client: Any, url: str, repeat: int, sql: SQLTimer) -> tuple[float, float, float]:
    """Median and best server time, and median SQL time (ms) of ``repeat`` requests."""
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    times, sql_times = [], []
    for _ in range(repeat):
        sql.total = 0.0
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        sql_times.append(sql.total * 1000)
        assert response.status_code == 200
    return statistics.median(times), min(times), statistics.median(sql_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="SQLAlchemy database URL (the database is overwritten)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--deep-page", type=int, default=10_000, help="1-based page number")
    parser.add_argument("--skip-stock", action="store_true", help="measure our views only")
    args = parser.parse_args()

    app = create_app(args.url)
    fill(app, args.rows)
    client = app.test_client()
    ours_shipped = filter_arg(app, "loyalty_redeemed", "Delivery status", "equals")
    stock_shipped = filter_arg(app, "stock", "Delivery Status", "equals")
    stock_sorted_shipped = filter_arg(app, "stock_sorted", "Delivery Status", "equals")
    deep = args.deep_page - 1
    pages = {
        "first page": (
            "/admin/loyalty/redeemed/",
            "/admin/stock/",
            "/admin/stock_sorted/",
        ),
        "filtered (Shipped)": (
            f"/admin/loyalty/redeemed/?{ours_shipped}=shipped",
            f"/admin/stock/?{stock_shipped}=SHIPPED",
            f"/admin/stock_sorted/?{stock_sorted_shipped}=SHIPPED",
        ),
        **search_pages(),
        **{
            f"preset {key}": (
                f"/admin/loyalty/redeemed/?preset={key}",
                "/admin/stock/",
                "/admin/stock_sorted/",
            )
            for key in ("gifts-awaiting-shipment", "expiring-in-7-days", "cashback-failing")
        },
        f"page {args.deep_page:,} typed": (
            f"/admin/loyalty/redeemed/?page={deep}",
            f"/admin/stock/?page={deep}",
            f"/admin/stock_sorted/?page={deep}",
        ),
    }
    dialect = sa.make_url(args.url).get_backend_name()
    # How the admin reaches page N: the pager link on page N-1 (it carries a keyset cursor).
    previous = client.get(f"/admin/loyalty/redeemed/?page={deep - 1}").get_data(as_text=True)
    links = [html.unescape(u) for u in re.findall(r'href="([^"]+)"', previous)]
    pager_link = next(u for u in links if f"page={deep}&" in u and "cursor=" in u)
    pages[f"page {args.deep_page:,} via pager"] = (
        pager_link,
        f"/admin/stock/?page={deep}",
        f"/admin/stock_sorted/?page={deep}",
    )
    with app.app_context():
        sql = SQLTimer(db.engine)
    print(
        f"\n{dialect}, {args.rows:,} rows, {PAGE_SIZE} rows per page,"
        f" server ms: median / best of {args.repeat} (SQL: median time in the database driver)"
    )
    print(f"{'page':<30}{'ours':>16}{'ours SQL':>10}{'stock':>16}{'stock sorted':>16}")
    for label, urls in pages.items():
        chosen = urls[:1] if args.skip_stock else urls
        figures = [timed(client, url, args.repeat, sql) for url in chosen]
        cells = [f"{f'{median:.1f} / {best:.1f}':>16}" for median, best, _ in figures]
        cells.insert(1, f"{figures[0][2]:>10.1f}")
        print(f"{label:<30}{''.join(cells)}", flush=True)


if __name__ == "__main__":
    main()
