"""The "Mounting on an existing shop" guide: every snippet is included from a file these tests
run (recipe 1 here, recipe 2 in tests/test_vendor_shop.py), on every backend."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import RewardType
from tests.vendor_shop import shop

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guides" / "mounting.rst"
RECIPE = ROOT / "docs" / "examples" / "mounting" / "orders_glue.py"


def load_recipe() -> ModuleType:
    name = "docs_mounting_orders_glue"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, RECIPE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_every_snippet_of_the_guide_is_included_from_a_tested_file():
    text = GUIDE.read_text(encoding="utf-8")
    assert "code-block" not in text and "::\n" not in text.replace(".. literalinclude::", "")
    included = re.findall(r"\.\. literalinclude:: (\S+)", text)
    assert {(GUIDE.parent / path).resolve() for path in included} == {
        RECIPE,
        ROOT / "tests" / "vendor_shop" / "glue.py",
    }


@pytest.fixture
def recipe_app(own_database_url: str) -> Iterator[Flask]:
    app = load_recipe().create_app(own_database_url, WTF_CSRF_ENABLED=False)
    with app.app_context():
        shop.db.drop_all()
        shop.db.create_all()
    yield app
    with app.app_context():
        shop.db.session.remove()
        shop.db.drop_all()
        shop.db.engine.dispose()


def test_recipe_1_earns_on_payment_takes_a_reward_code_and_reverses_on_cancel(recipe_app):
    recipe = load_recipe()
    loyalty, models = recipe.loyalty, recipe.models
    with recipe_app.app_context():
        customer = shop.Customer(email="olga@example.com")
        campaign = models.RewardCampaign(
            name="20% off", reward_type=RewardType.PERCENTAGE_DISCOUNT_CODE, cost_in_points=50
        )
        campaign.reward_value = Decimal("20")
        shop.db.session.add_all([customer, campaign])
        shop.db.session.commit()
        order = shop.Order(customer_id=customer.id, total=Decimal("80.00"))
        shop.db.session.add(order)
        shop.db.session.commit()

        order.status = shop.PAID  # however the shop's own code does it
        shop.db.session.commit()
        assert loyalty.active_points(customer) == 80

        code = loyalty.redeem(customer, campaign).coupon_code
        basket = shop.Order(customer_id=customer.id, total=Decimal("50.00"))
        recipe.apply_reward_code(customer, code.lower(), basket)
        assert basket.total == Decimal("40.00")
        assert loyalty.find_coupon(customer, code).used

        order.status = shop.CANCELLED
        shop.db.session.commit()
        assert loyalty.active_points(customer) == 0  # 50 were spent: 30 taken back
        booked = shop.db.session.scalar(sa.select(models.OrderPoints))
        assert (booked.points, booked.reversed_points) == (80, 30)
