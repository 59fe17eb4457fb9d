"""The backends under test and their scratch databases.

Each backend named in LOYALTY_TEST_BACKENDS gets fresh databases (PostgreSQL and MariaDB: new
databases on the server; SQLite: files), so parallel runs and pytest-xdist workers never share
state. A server that is named but not reachable fails the run; nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

BACKENDS = ("sqlite", "postgresql", "mariadb")
SERVER_URLS = {
    "postgresql": os.environ.get(
        "LOYALTY_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "LOYALTY_TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/test"
    ),
}


def backends() -> list[str]:
    """The backends named in LOYALTY_TEST_BACKENDS (SQLite alone by default)."""
    names = [
        n.strip() for n in os.environ.get("LOYALTY_TEST_BACKENDS", "sqlite").split(",") if n.strip()
    ]
    unknown = set(names) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"unknown backends in LOYALTY_TEST_BACKENDS: {sorted(unknown)}")
    return names


@contextmanager
def scratch_database(backend: str, directory: Path, prefix: str = "flr") -> Iterator[str]:
    """The URL of a new empty database of ``backend``, dropped on exit (SQLite: a file in
    ``directory``)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'{prefix}.sqlite'}"
        return
    server = sa.make_url(SERVER_URLS[backend])
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    postgresql = backend == "postgresql"
    quoted = f'"{name}"' if postgresql else f"`{name}`"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            charset = "" if postgresql else " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}{charset}")
    except sa.exc.OperationalError as exc:
        raise RuntimeError(f"{backend} is not reachable at {server}: {exc}") from exc
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            force = " WITH (FORCE)" if postgresql else ""
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}{force}")
        engine.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each database test on every backend named, or on those of its ``backends`` mark."""
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = [b for b in backends() if marker is None or b in marker.args]
        metafunc.parametrize("backend", names, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database of the backend for this test session (the host app's)."""
    with scratch_database(backend, tmp_path_factory.mktemp("sqlite"), "flr") as url:
        yield url


@pytest.fixture(scope="module")
def own_database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new empty database of the backend for one test module whose app is not tests.host.

    Such apps declare tables of the same names (``customer``, ``loyalty_*``) on their own
    metadata, so they must never share the session database of the ``app`` fixture.
    """
    with scratch_database(backend, tmp_path_factory.mktemp("own"), "flr_own") as url:
        yield url
