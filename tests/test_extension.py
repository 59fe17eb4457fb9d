"""The extension object: init_app pattern, per-app state, config defaults, clear errors."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_loyalty_rewards import LoyaltyRewards, NotInitialized, get_state
from flask_loyalty_rewards.config import DEFAULTS
from tests.host import create_app, db, loyalty, models


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app(f"sqlite:///{tmp_path / 'ext.sqlite'}")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_init_app_twice_on_one_app_is_refused(sqlite_app):
    with pytest.raises(RuntimeError, match="already initialized"):
        loyalty.init_app(sqlite_app, db=db, models=models)


def test_state_lives_in_app_extensions(sqlite_app):
    state = sqlite_app.extensions["loyalty_rewards"]
    assert state is get_state(sqlite_app)
    assert state.models is models and state.db is db


def test_config_defaults_are_set_without_overriding_the_host(tmp_path):
    app = create_app(f"sqlite:///{tmp_path / 'c.sqlite'}", LOYALTY_URL_PREFIX="/rewards")
    assert app.config["LOYALTY_URL_PREFIX"] == "/rewards"
    for key, value in DEFAULTS.items():
        if key not in ("LOYALTY_URL_PREFIX", "LOYALTY_ADMIN_ACCESS"):
            assert app.config[key] == value
    with app.app_context():
        db.engine.dispose()


def test_using_an_app_that_never_called_init_app_says_so():
    app = Flask("bare")
    with app.app_context(), pytest.raises(NotInitialized, match="init_app"):
        loyalty.active_points(1)


def test_using_it_outside_an_app_context_says_so():
    with pytest.raises(NotInitialized, match="application context"):
        loyalty.active_points(1)


def test_init_app_before_db_init_app_is_refused():
    app = Flask("early")
    fresh = LoyaltyRewards()
    with pytest.raises(RuntimeError, match=r"db\.init_app"):
        fresh.init_app(app, db=SQLAlchemy(), models=models)


def test_init_app_without_models_is_refused():
    app = Flask("nomodels")
    with pytest.raises(TypeError, match="models="):
        LoyaltyRewards().init_app(app, db=db)


def test_cli_group_is_registered_under_its_configured_name(sqlite_app):
    assert "loyalty" in sqlite_app.cli.list_commands(sqlite_app.make_shell_context and None)  # type: ignore[arg-type]
