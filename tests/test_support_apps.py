"""The shared host app of the tests: what one test changes on it never reaches the next."""

from __future__ import annotations

from typing import Any

import jinja2
import sqlalchemy as sa
from flask import Flask

from tests import host
from tests.support.apps import SharedApp
from tests.support.factories import Rows


def test_a_config_change_is_undone_for_the_next_test(shared_app: SharedApp) -> None:
    app = shared_app.fresh()
    size = app.config["LOYALTY_ADMIN_PAGE_SIZE"]
    app.config["LOYALTY_ADMIN_PAGE_SIZE"] = size + 1
    app.config["SOMETHING_NEW"] = True
    shared_app.reset()
    assert shared_app.fresh() is app
    assert app.config["LOYALTY_ADMIN_PAGE_SIZE"] == size
    assert "SOMETHING_NEW" not in app.config


def test_an_admin_view_attribute_set_by_a_test_is_undone(shared_app: SharedApp) -> None:
    app = shared_app.fresh()
    [grid] = [
        v for a in app.extensions["admin"] for v in a._views if v.endpoint == "loyalty_redeemed"
    ]
    options = grid.page_size_options
    grid.page_size_options = (2, *options)
    shared_app.reset()
    assert grid.page_size_options == options


def test_a_replaced_template_loader_and_its_cached_templates_are_undone(
    shared_app: SharedApp, app: Flask, client: Any
) -> None:
    app.jinja_loader = jinja2.DictLoader(  # type: ignore[method-assign]
        {"loyalty_rewards/rewards.html": "replaced"}
    )
    # The shared app may have rendered the page in an earlier test: its compiled copy is cached.
    app.jinja_env.cache.clear()  # type: ignore[union-attr]
    assert client.get("/loyalty/").get_data(as_text=True) == "replaced"
    shared_app.reset()
    assert "<h1>" in client.get("/loyalty/").get_data(as_text=True)


def test_a_change_of_the_apps_structure_gets_the_next_test_a_new_app(
    shared_app: SharedApp,
) -> None:
    app = shared_app.fresh()
    app.jinja_env.globals["left_behind"] = True
    shared_app.reset()
    rebuilt = shared_app.fresh()
    assert rebuilt is not app
    assert "left_behind" not in rebuilt.jinja_env.globals


def test_each_test_starts_with_empty_tables(shared_app: SharedApp) -> None:
    app = shared_app.fresh()
    rows = Rows(app)
    rows.redeemed(rows.customer(), rows.campaign())
    shared_app.reset()
    shared_app.fresh()
    with app.app_context():
        for table in host.db.metadata.sorted_tables:
            count = host.db.session.execute(sa.select(sa.func.count()).select_from(table))
            assert count.scalar_one() == 0, table.name
