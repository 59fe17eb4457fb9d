"""Models live on the host's db, link to the host's customer, and stay exactly as declared."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_loyalty_rewards import LoyaltyRewards, RewardType, create_models
from tests.host import db, loyalty, models

OUR_TABLES = {
    "account",
    "points_lot",
    "ledger_entry",
    "allocation",
    "campaign",
    "coupon_code",
    "redeemed_reward",
    "reward_history",
    "idempotency_key",
}


def standalone_app(database: SQLAlchemy, tmp_path: Any, **init: Any) -> Flask:
    app = Flask(f"app_{uuid.uuid4().hex[:6]}")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / (app.name + '.sqlite')}", SECRET_KEY="x"
    )
    database.init_app(app)
    return app


@pytest.fixture
def cleanup() -> Iterator[list[tuple[Flask, SQLAlchemy]]]:
    apps: list[tuple[Flask, SQLAlchemy]] = []
    yield apps
    for app, database in apps:
        with app.app_context():
            for engine in database.engines.values():
                engine.dispose()


def test_tables_share_the_hosts_metadata_with_the_configured_prefix():
    names = {t.name for t in db.metadata.sorted_tables if t.name.startswith("loyalty_")}
    assert {n.removeprefix("loyalty_") for n in names} >= OUR_TABLES


def test_foreign_keys_point_at_the_hosts_customer_table():
    fks = {fk.target_fullname for fk in models.RedeemedReward.__table__.foreign_keys}
    assert "customer.id" in fks


def test_table_prefix_is_configurable(tmp_path, cleanup):
    other = SQLAlchemy()

    class Shopper(other.Model):  # type: ignore[name-defined,misc]
        id = sa.Column(sa.Integer, primary_key=True)

    custom = create_models(other, customer_model=Shopper, table_prefix="rewards_")
    assert custom.RedeemedReward.__table__.name == "rewards_redeemed_reward"


def test_create_models_twice_returns_the_same_classes():
    assert create_models(db, customer_model=models.customer_model) is models


def test_create_models_refuses_a_second_customer_model_for_the_same_tables():
    class Other(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "other_customer"
        id = sa.Column(sa.Integer, primary_key=True)

    with pytest.raises(RuntimeError):
        create_models(db, customer_model=Other)


def test_host_base_class_adds_nothing_to_our_tables(tmp_path, cleanup):
    """Many shops give db.Model a base with id/created_at columns and their own __init__."""

    constructed: list[str] = []

    class HostBase(DeclarativeBase):
        id: Mapped[int] = mapped_column(primary_key=True)
        created_at: Mapped[dt.datetime] = mapped_column(
            default=lambda: dt.datetime.now(dt.timezone.utc)
        )

        def __init__(self, **kwargs: Any) -> None:
            constructed.append(type(self).__name__)
            for name, value in kwargs.items():
                setattr(self, name, value)

        def save(self) -> None:
            raise AssertionError("host method")

    host_db = SQLAlchemy(model_class=HostBase)

    class Member(host_db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "member"
        email: Mapped[str] = mapped_column(sa.String(100))

    plain = create_models(host_db, customer_model=Member)
    reference = {c.name for c in models.RedeemedReward.__table__.columns}
    assert {c.name for c in plain.RedeemedReward.__table__.columns} == reference
    assert not hasattr(plain.RedeemedReward, "save")
    assert "created_at" not in {c.name for c in plain.Allocation.__table__.columns}

    app = standalone_app(host_db, tmp_path)
    cleanup.append((app, host_db))
    ext = LoyaltyRewards()
    ext.init_app(app, db=host_db, models=plain)
    with app.app_context():
        host_db.create_all()
        member = Member(email="m@example.com")
        host_db.session.add(member)
        host_db.session.commit()
        ext.earn_points(member, 10)
        assert ext.active_points(member) == 10
    assert constructed == ["Member"]


@pytest.mark.parametrize("pk_kind", ["uuid", "string"])
def test_customers_with_uuid_or_string_keys_work(database_url, cleanup, pk_kind):
    """On every backend, so that PostgreSQL's one-statement redemption binds such keys too."""
    other = SQLAlchemy()
    if pk_kind == "uuid":

        class Client(other.Model):  # type: ignore[name-defined,misc]
            __tablename__ = "uuid_client"
            id = sa.Column(sa.Uuid, primary_key=True, default=uuid.uuid4)

        key: Any = uuid.uuid4()
    else:

        class Client(other.Model):  # type: ignore[name-defined,misc, no-redef]
            __tablename__ = "string_client"
            id = sa.Column(sa.String(36), primary_key=True)

        key = "cust-42"
    ms = create_models(other, customer_model=Client, table_prefix=f"{pk_kind}_")
    app = Flask(f"app_{uuid.uuid4().hex[:6]}")
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="x")
    other.init_app(app)
    cleanup.append((app, other))
    ext = LoyaltyRewards(app, db=other, models=ms)
    with app.app_context():
        other.drop_all()
        other.create_all()
        other.session.add(Client(id=key))
        other.session.commit()
        campaign = ms.RewardCampaign(
            name="x",
            reward_type=RewardType.GIFT,
            cost_in_points=5,
            created_at=dt.datetime.now(dt.timezone.utc),
            updated_at=dt.datetime.now(dt.timezone.utc),
        )
        other.session.add(campaign)
        other.session.commit()
        ext.earn_points(key, 10)
        reward = ext.redeem(str(key) if pk_kind == "uuid" else key, campaign.id)
        assert reward.customer_id == key
        assert ext.active_points(key) == 5
        assert ext.verify() == []
        other.session.remove()
        other.drop_all()


def test_naive_datetimes_are_refused_on_assignment(ctx):
    campaign = models.RewardCampaign()
    with pytest.raises(ValueError, match="timezone-aware"):
        campaign.active_from = dt.datetime(2026, 1, 1)


def test_datetimes_come_back_aware_utc_on_every_backend(ctx, make_campaign):
    moment = dt.datetime(2026, 5, 17, 23, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    campaign_id = make_campaign(active_to=moment).id
    db.session.remove()
    loaded = db.session.get(models.RewardCampaign, campaign_id)
    assert loaded.active_to == moment
    assert loaded.active_to.tzinfo == dt.timezone.utc


def test_services_on_two_apps_keep_their_data_apart(tmp_path, cleanup):
    """One db and one extension object, two apps (each with its own database)."""
    from tests.host import Customer, create_app

    first = create_app(f"sqlite:///{tmp_path / 'first.sqlite'}")
    second = create_app(f"sqlite:///{tmp_path / 'second.sqlite'}")
    cleanup.extend([(first, db), (second, db)])
    for app in (first, second):
        with app.app_context():
            db.create_all()
            db.session.add(Customer(id=1, email="same@example.com"))
            db.session.commit()
    with first.app_context():
        loyalty.earn_points(1, 30)
    with second.app_context():
        assert loyalty.active_points(1) == 0
    with first.app_context():
        assert loyalty.active_points(1) == 30
