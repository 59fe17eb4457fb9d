"""Test fixtures: one suite, run against every backend named in LOYALTY_TEST_BACKENDS.

Each backend gets a fresh database for the session (PostgreSQL and MariaDB: a new database on
the server; SQLite: a file), so parallel runs never share state. A server that is named but not
reachable fails the run; nothing is skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import clock
from tests import host

# Fixtures of the client tests (shop, alice, client) live with their helpers.
pytest_plugins = ["tests.client_support"]

SERVER_URLS = {
    "postgresql": os.environ.get(
        "LOYALTY_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "LOYALTY_TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"
    ),
}


def backends() -> list[str]:
    names = [
        n.strip() for n in os.environ.get("LOYALTY_TEST_BACKENDS", "sqlite").split(",") if n.strip()
    ]
    unknown = set(names) - {"sqlite", "postgresql", "mariadb"}
    if unknown:
        raise pytest.UsageError(f"unknown backends in LOYALTY_TEST_BACKENDS: {sorted(unknown)}")
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each database test on every backend named, or on those of its ``backends`` mark."""
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = [b for b in backends() if marker is None or b in marker.args]
        metafunc.parametrize("backend", names, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


_databases: dict[str, str] = {}


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database of the backend for this test session."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "loyalty.sqlite"
        yield f"sqlite:///{path}"
        return
    server = sa.make_url(SERVER_URLS[backend])
    name = f"flr_{uuid.uuid4().hex[:12]}"
    admin_engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                conn.exec_driver_sql(
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )
    except sa.exc.OperationalError as exc:
        raise RuntimeError(f"{backend} is not reachable at {server}: {exc}") from exc
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin_engine.dispose()


_schema_ready: set[str] = set()


def empty_all_tables(app: Flask) -> None:
    with app.app_context():
        engine = host.db.engine
        with engine.begin() as conn:
            if engine.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            for table in reversed(host.db.metadata.sorted_tables):
                conn.execute(table.delete())
            if engine.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")


def dispose(app: Flask) -> None:
    with app.app_context():
        for engine in host.db.engines.values():
            engine.dispose()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = host.create_app(database_url)
    if database_url not in _schema_ready:
        with app.app_context():
            host.db.drop_all()
            host.db.create_all()
        _schema_ready.add(database_url)
    else:
        empty_all_tables(app)
    yield app
    dispose(app)


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context, as in a CLI command or a background job."""
    with app.app_context():
        yield app
        host.db.session.remove()


class FakeClock:
    """A clock tests move by hand; services read it through ``clock.now``."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: Any) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current

    def set(self, moment: dt.datetime) -> None:
        self.current = moment


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc))
    monkeypatch.setattr(clock, "now", fake)
    return fake


def customer_fields(n: int, **fields: Any) -> dict[str, Any]:
    """A plausible customer of the test host, numbered ``n``, with ``fields`` on top."""
    values: dict[str, Any] = {
        "email": f"customer{n}@example.com",
        "phone": f"+48 600 000 {n:03d}",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "street": f"{n} Main Street",
        "postal_code": "00-950",
        "city": "Warsaw",
        "country": "Poland",
    }
    values.update(fields)
    return values


def campaign_fields(**fields: Any) -> dict[str, Any]:
    """A discount-code campaign costing 100 points, with ``fields`` on top.

    A cashback gets an amount and a gift tracks its delivery unless ``fields`` say otherwise.
    """
    from decimal import Decimal

    from flask_loyalty_rewards import RewardType

    now = clock.now()
    values: dict[str, Any] = {
        "name": "10% off",
        "description": "",
        "reward_type": RewardType.DISCOUNT_CODE,
        "cost_in_points": 100,
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    if values["reward_type"] is RewardType.CASHBACK:
        values.setdefault("reward_value", Decimal("5.00"))
    if values["reward_type"] is RewardType.GIFT:
        values.setdefault("fulfillment_tracking", True)
    return values


@pytest.fixture
def make_customer(ctx: Flask) -> Any:
    counter = iter(range(1, 10**6))

    def make(**fields: Any) -> host.Customer:
        customer = host.Customer(**customer_fields(next(counter), **fields))
        host.db.session.add(customer)
        host.db.session.commit()
        return customer

    return make


@pytest.fixture
def make_campaign(ctx: Flask) -> Any:
    def make(**fields: Any) -> Any:
        campaign = host.models.RewardCampaign(**campaign_fields(**fields))
        host.db.session.add(campaign)
        host.db.session.commit()
        return campaign

    return make


@pytest.fixture
def login(app: Flask) -> Any:
    """``login(client, customer)`` logs a customer in for the test client."""

    def do(client: Any, customer: Any) -> None:
        with client.session_transaction() as flask_session:
            flask_session["customer_id"] = customer.id

    return do


# -- real browser ---------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on 127.0.0.1, in a thread."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(
            f"{CHROMIUM} is missing: run scripts/services.sh (installs Debian's chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


# -- admin cockpit (tests/test_admin*.py) ---------------------------------------------------------


class AdminData:
    """Builds rows for admin tests in short app contexts (requests then run outside them)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.counter = iter(range(1, 10**6))

    def customer(self, **fields: Any) -> int:
        n = next(self.counter)
        values = customer_fields(n, **{"email": f"person{n}@example.com", **fields})
        with self.app.app_context():
            customer = host.Customer(**values)
            host.db.session.add(customer)
            host.db.session.commit()
            return int(customer.id)

    def admin(self) -> int:
        return self.customer(is_admin=True)

    def campaign(self, **fields: Any) -> int:
        with self.app.app_context():
            campaign = host.models.RewardCampaign(**campaign_fields(**fields))
            host.db.session.add(campaign)
            host.db.session.commit()
            return int(campaign.id)

    def redeemed(self, customer_id: int, campaign_id: int, *, used: bool = False) -> int:
        """A customer earns just enough points and redeems the campaign (optionally uses it)."""
        with self.app.app_context():
            campaign = host.db.session.get(host.models.RewardCampaign, campaign_id)
            host.loyalty.earn_points(customer_id, campaign.cost_in_points)
            row = host.loyalty.redeem(customer_id, campaign_id)
            if used:
                host.loyalty.mark_used(row, actor="test")
            return int(row.id)

    def get(self, model_name: str, row_id: int) -> Any:
        """A fresh copy of a row, detached (read its attributes, do not change it)."""
        model = host.Customer if model_name == "customer" else getattr(host.models, model_name)
        with self.app.app_context():
            row = host.db.session.get(model, row_id)
            host.db.session.expunge_all()
            return row

    def run(self, fn: Any) -> Any:
        with self.app.app_context():
            try:
                return fn(host.db.session, host.models)
            finally:
                host.db.session.remove()


@pytest.fixture
def admin_data(app: Flask) -> AdminData:
    return AdminData(app)


@pytest.fixture
def admin_client(app: Flask, admin_data: AdminData) -> Any:
    """A test client logged in as a customer with is_admin=True."""
    client = app.test_client()
    admin_id = admin_data.admin()
    with client.session_transaction() as flask_session:
        flask_session["customer_id"] = admin_id
    client.admin_id = admin_id  # type: ignore[attr-defined]
    return client


# -- apps other than tests.host (example shop, docs) ----------------------------------------------


@pytest.fixture(scope="module")
def own_database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new empty database of the backend for one test module whose app is not tests.host.

    Such apps declare tables of the same names (``customer``, ``loyalty_*``) on their own
    metadata, so they must never share the session database of the ``app`` fixture.
    """
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('own') / 'own.sqlite'}"
        return
    server = sa.make_url(SERVER_URLS[backend])
    name = f"flr_own_{uuid.uuid4().hex[:12]}"
    quote = '"' if backend == "postgresql" else "`"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    charset = "" if backend == "postgresql" else " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}{charset}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if backend == "postgresql" else ""
        with engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}")
        engine.dispose()
