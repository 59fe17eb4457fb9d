"""The quickstart, run: its Python samples are cut from docs/examples/quickstart/shop.py, which
these tests import and drive, and its console commands are run as written."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
import tomllib
from flask import Flask

from flask_loyalty_rewards import CouponStatus, RewardType

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "docs" / "quickstart.rst"
EXAMPLE = ROOT / "docs" / "examples" / "quickstart" / "shop.py"


def load_example() -> ModuleType:
    name = "docs_quickstart_shop"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXAMPLE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def code_blocks(language: str) -> list[str]:
    """The bodies of ``.. code-block:: <language>`` directives in the quickstart."""
    text = QUICKSTART.read_text(encoding="utf-8")
    pattern = rf"\.\. code-block:: {language}\n(?:   :.*\n)*\n((?:   .*\n|\n)+)"
    return [re.sub(r"^   ", "", body, flags=re.M).strip() for body in re.findall(pattern, text)]


def flask_commands() -> list[list[str]]:
    """Every ``$ flask --app shop ...`` line of the quickstart, as CLI arguments."""
    commands = []
    for block in code_blocks("console"):
        for line in block.splitlines():
            if line.startswith("$ flask --app shop "):
                commands.append(shlex.split(line.removeprefix("$ flask --app shop ")))
    return commands


@pytest.fixture
def quickstart_app(
    own_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Any]:
    module = load_example()
    monkeypatch.setenv("DATABASE_URL", own_database_url)
    monkeypatch.chdir(tmp_path)  # `flask db init` writes migrations/ here
    app = module.create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        module.db.drop_all()
        with module.db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    yield SimpleNamespace(module=module, app=app)
    with app.app_context():
        module.db.session.remove()
        module.db.drop_all()
        with module.db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        module.db.engine.dispose()


def table_names(quickstart_app: Any) -> set[str]:
    with quickstart_app.app.app_context():
        return set(sa.inspect(quickstart_app.module.db.engine).get_table_names())


def test_every_python_sample_is_included_from_the_tested_example() -> None:
    text = QUICKSTART.read_text(encoding="utf-8")
    assert code_blocks("python") == []
    includes = re.findall(r"\.\. literalinclude:: (\S+)\n((?:   :.*\n)+)", text)
    assert len(includes) >= 5
    source = EXAMPLE.read_text(encoding="utf-8")
    for path, options in includes:
        assert (QUICKSTART.parent / path).resolve() == EXAMPLE
        for marker in re.findall(r":(?:start-after|end-before): (.+)", options):
            assert source.count(marker.strip() + "\n") == 1, marker


def test_install_command_names_this_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert f"$ pip install {project}" in code_blocks("console")[0]


# Flask-Migrate's env.py tries Flask-SQLAlchemy 2's get_engine() first; 3.1 deprecates it.
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_flask_migrate_commands_create_the_loyalty_tables(quickstart_app: Any) -> None:
    commands = flask_commands()
    assert [c[:2] for c in commands if c[0] == "db"] == [
        ["db", "init"],
        ["db", "migrate"],
        ["db", "upgrade"],
    ]
    (mako_import,) = code_blocks("text")
    runner = quickstart_app.app.test_cli_runner()
    for args in commands:
        if args[0] == "db":
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
        if args[:2] == ["db", "init"]:
            mako = Path("migrations/script.py.mako")
            anchor = "import sqlalchemy as sa\n"
            mako.write_text(mako.read_text().replace(anchor, f"{anchor}{mako_import}\n", 1))
    tables = table_names(quickstart_app)
    assert {"customer", "loyalty_campaign", "loyalty_redeemed_reward", "loyalty_points_lot"} <= (
        tables
    )


def test_create_tables_without_flask_migrate(quickstart_app: Any) -> None:
    quickstart_app.module.create_tables(quickstart_app.app)
    assert {"customer", "loyalty_campaign", "loyalty_ledger_entry"} <= table_names(quickstart_app)


@pytest.fixture
def running(quickstart_app: Any) -> Any:
    """The quickstart shop with tables, a customer, an admin and a campaign."""
    quickstart_app.module.create_tables(quickstart_app.app)
    m = quickstart_app.module
    with quickstart_app.app.app_context():
        customer = m.Customer(email="eve@example.com", first_name="Eve", city="Oslo")
        admin = m.Customer(email="boss@example.com", is_admin=True)
        m.db.session.add_all([customer, admin])
        now = m.dt.datetime.now(m.dt.timezone.utc)
        campaign = m.models.RewardCampaign(
            name="10% off",
            reward_type=RewardType.PERCENTAGE_DISCOUNT_CODE,
            cost_in_points=100,
            created_at=now,
            updated_at=now,
        )
        m.db.session.add(campaign)
        m.db.session.commit()
        quickstart_app.customer_id, quickstart_app.admin_id, quickstart_app.campaign_id = (
            customer.id,
            admin.id,
            campaign.id,
        )
    return quickstart_app


def logged_in(app: Flask, customer_id: int) -> Any:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(customer_id)
        session["_fresh"] = True
    return client


def test_order_paid_earns_points_once_per_order(running: Any) -> None:
    m = running.module
    with running.app.app_context():
        customer = m.db.session.get(m.Customer, running.customer_id)
        paid_at = m.dt.datetime(2026, 5, 1, tzinfo=m.dt.timezone.utc)
        order = SimpleNamespace(
            id=7, number="A-7", total=150.80, customer=customer, paid_at=paid_at
        )
        m.order_paid(order)
        m.order_paid(order)  # paid twice: earned once
        assert m.loyalty.active_points(customer) == 150


def test_apply_coupon_uses_the_redeemed_code_in_the_order(running: Any) -> None:
    m = running.module
    with running.app.app_context():
        customer = m.db.session.get(m.Customer, running.customer_id)
        paid_at = m.dt.datetime.now(m.dt.timezone.utc)
        m.order_paid(
            SimpleNamespace(id=1, number="A-1", total=120, customer=customer, paid_at=paid_at)
        )
        reward = m.loyalty.redeem(customer, running.campaign_id)
        order = SimpleNamespace(number="A-2")
        used = m.apply_coupon(customer, reward.coupon_code.lower(), order)
        assert (used.used, used.used_order_reference) == (True, "A-2")
        assert used.coupon_status is CouponStatus.ACTIVE
        again = m.apply_coupon(customer, reward.coupon_code, order)
        assert again == "This reward is already marked as used."


def test_customer_sees_the_client_pages(running: Any) -> None:
    client = logged_in(running.app, running.customer_id)
    rewards = client.get("/loyalty/")
    assert rewards.status_code == 200
    assert "You must have 100 more points to get reward" in rewards.text
    assert client.get("/loyalty/my-rewards").status_code == 200
    assert client.get("/loyalty/api/rewards").status_code == 200


def test_admin_access_is_given_by_the_hook(running: Any) -> None:
    assert logged_in(running.app, running.admin_id).get("/admin/loyalty/redeemed/").status_code == (
        200
    )
    assert logged_in(running.app, running.customer_id).get("/admin/").status_code == 403
    assert running.app.test_client().get("/admin/loyalty/redeemed/").status_code == 403
