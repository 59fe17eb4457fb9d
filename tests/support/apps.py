"""The host app of the tests: built once per database and worker, reset before each test.

Building ``tests.host.create_app`` costs about 350 ms (URL rules, ~35 Flask-Admin views), more
than most tests. So each database gets one app for the session; before each test its tables are
emptied and what tests may change on it is restored: the config, the Jinja loader and template
cache, the attributes of the admin views and of the extension's state. A test that changes the
app's structure (a route, a blueprint, a hook, an admin view, a Jinja global) is noticed after it
ran and the app is thrown away, so the next test gets a new one. Tests that need other settings
at start-up build their own app with ``variant``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import host


def dispose(app: Flask) -> None:
    """Close the pooled connections of an app that is done."""
    with app.app_context():
        for engine in host.db.engines.values():
            engine.dispose()


def _nonempty_probe(tables: list[sa.Table]) -> sa.CompoundSelect:
    """One query naming the tables that hold a row (one round trip instead of a DELETE each)."""
    return sa.union_all(
        *(
            sa.select(sa.literal(table.name)).where(
                sa.exists(sa.select(sa.literal(1)).select_from(table))
            )
            for table in tables
        )
    )


def empty_all_tables(app: Flask) -> None:
    """Delete every row of the host's tables, touching only the tables that hold any."""
    tables = list(reversed(host.db.metadata.sorted_tables))
    with app.app_context():
        engine = host.db.engine
        with engine.begin() as conn:
            filled = set(conn.execute(_nonempty_probe(tables)).scalars())
            if not filled:
                return
            mysql = engine.dialect.name in ("mysql", "mariadb")
            if mysql:
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            for table in tables:
                if table.name in filled:
                    conn.execute(table.delete())
            if mysql:
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")


def _admin_views(app: Flask) -> list[Any]:
    return [view for admin in app.extensions.get("admin", ()) for view in admin._views]


def _structure(app: Flask) -> tuple[Any, ...]:
    """What a test cannot put back by itself: routes, blueprints, hooks, views, Jinja names."""
    return (
        tuple(rule.rule for rule in app.url_map.iter_rules()),
        tuple(app.blueprints),
        tuple(app.extensions),
        tuple(app.cli.commands),
        tuple(
            (name, len(funcs))
            for hooks in (
                app.before_request_funcs,
                app.after_request_funcs,
                app.teardown_request_funcs,
                app.template_context_processors,
                app.url_value_preprocessors,
                app.url_default_functions,
            )
            for name, funcs in hooks.items()
        ),
        len(app.teardown_appcontext_funcs),
        tuple(app.error_handler_spec),
        tuple(id(view) for view in _admin_views(app)),
        tuple(app.jinja_env.globals),
        tuple(app.jinja_env.filters),
        tuple(app.jinja_env.tests),
    )


class SharedApp:
    """The host app of one database, reset to how it was built before each test."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.schema_ready = False
        self.built: Flask | None = None

    def _build(self) -> Flask:
        app = host.create_app(self.database_url)
        if not self.schema_ready:
            with app.app_context():
                host.db.drop_all()
                host.db.create_all()
            self.schema_ready = True
        self.config = dict(app.config)
        self.extensions = dict(app.extensions)
        self.jinja_loader = app.jinja_loader  # computed once: a test may replace it
        self.views = [(view, dict(vars(view))) for view in _admin_views(app)]
        self.state = dict(vars(app.extensions["loyalty_rewards"]))
        self.structure = _structure(app)
        self.built = app
        return app

    def fresh(self) -> Flask:
        """The app as built, with empty tables."""
        app = self.built if self.built is not None else self._build()
        empty_all_tables(app)
        return app

    def reset(self) -> None:
        """Put back what a test may have changed, or drop the app if its structure changed."""
        app = self.built
        if app is None:
            return
        if _structure(app) != self.structure:
            self.close()
            return
        app.config.clear()
        app.config.update(self.config)
        app.extensions.clear()
        app.extensions.update(self.extensions)
        if app.__dict__.get("jinja_loader") is not self.jinja_loader:
            app.jinja_loader = self.jinja_loader  # type: ignore[method-assign]
            app.jinja_env.cache.clear()  # type: ignore[union-attr]
        for view, attributes in self.views:
            vars(view).clear()
            vars(view).update(attributes)
        state = vars(app.extensions["loyalty_rewards"])
        state.clear()
        state.update(self.state)

    def close(self) -> None:
        if self.built is not None:
            dispose(self.built)
            self.built = None


@pytest.fixture(scope="session")
def shared_app(database_url: str) -> Iterator[SharedApp]:
    shared = SharedApp(database_url)
    yield shared
    shared.close()


@pytest.fixture
def app(shared_app: SharedApp) -> Iterator[Flask]:
    """The host app (tests.host) on the session's database of the backend, tables empty."""
    try:
        yield shared_app.fresh()
    finally:
        shared_app.reset()


@pytest.fixture
def babel_host(app: Flask) -> Flask:
    """The host sets up its own Flask-Babel (after init_app), selecting the customer's locale."""
    from flask_babel import Babel

    Babel(app, locale_selector=host.customer_locale)
    return app


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context, as in a CLI command or a background job."""
    with app.app_context():
        yield app
        host.db.session.remove()


@pytest.fixture
def variant(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """``variant(**config)``: another app of the host shop with its own start-up config, over the
    same database as ``app`` (whose fixture emptied the tables)."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        made.append(host.create_app(database_url, **config))
        return made[-1]

    yield make
    for other in made:
        dispose(other)
