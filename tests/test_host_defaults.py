"""Defaults for common hosts: Flask-Login's user is the customer; the admin can be our own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import LoginManager, UserMixin, login_user
from flask_sqlalchemy import SQLAlchemy

from flask_loyalty_rewards import LoyaltyRewards, RewardType, create_models

db = SQLAlchemy()


class Shopper(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shopper"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(255), nullable=False, default="")


class Staff(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "staff"
    id = sa.Column(sa.Integer, primary_key=True)


models = create_models(db, customer_model=Shopper)
loyalty = LoyaltyRewards()  # no customer_loader: Flask-Login's current_user is used


def make_app(tmp_path: Path, **config: Any) -> Flask:
    app = Flask(f"defaults_{len(config)}")
    app.config.update(
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'defaults.sqlite'}",
        LOYALTY_ADMIN_CREATE=True,
        LOYALTY_ADMIN_ACCESS=lambda: True,
        **config,
    )
    db.init_app(app)
    logins = LoginManager(app)
    logins.user_loader(lambda user_id: db.session.get(Shopper, int(user_id)))

    @app.route("/login/<int:shopper_id>")
    def login(shopper_id: int) -> str:
        login_user(db.session.get(Shopper, shopper_id))
        return "ok"

    loyalty.init_app(app, db=db, models=models)  # admin=None
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def shopper(app: Flask) -> int:
    """A shopper with one redeemed reward."""
    with app.app_context():
        person = Shopper(email="ann@example.com")
        campaign = models.RewardCampaign(
            name="Ten off", reward_type=RewardType.DISCOUNT_CODE, cost_in_points=10
        )
        db.session.add_all([person, campaign])
        db.session.commit()
        loyalty.earn_points(person, 25)
        loyalty.redeem(person, campaign)
        return int(person.id)


def test_the_logged_in_flask_login_user_is_the_customer(app, shopper):
    client = app.test_client()
    assert client.get("/loyalty/api/points").status_code == 401
    client.get(f"/login/{shopper}")
    answer = client.get("/loyalty/api/points")
    assert answer.status_code == 200
    assert answer.get_json()["active"] == 15


def test_a_logged_in_user_of_another_model_is_a_clear_error(app):
    with app.test_request_context():
        login_user(Staff(id=1))
        with pytest.raises(TypeError, match="customer_loader"):
            loyalty.current_customer()


def test_an_admin_is_created_when_the_host_passes_none(app, shopper):
    client = app.test_client()
    assert client.get("/admin/loyalty/redeemed/").status_code == 200
    app.config["LOYALTY_ADMIN_ACCESS"] = lambda: False
    assert client.get("/admin/").status_code == 403


@pytest.mark.browser
def test_the_grids_action_column_is_on_screen_at_1280_px(app, shopper, browser):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/admin/loyalty/redeemed/")
        button = page.locator("[data-loyalty=mark-used]").first
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    finally:
        context.close()
        server.shutdown()
        thread.join(10)
        server.server_close()
