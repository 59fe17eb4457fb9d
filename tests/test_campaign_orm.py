"""A campaign made with plain ORM code works, and is held to the same rules as the admin form."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import CodeSource, InvalidInput, RewardType
from tests.host import db, loyalty, models


def stored_campaigns() -> int:
    """Campaign rows as another connection sees them: what really reached the database."""
    with db.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(models.RewardCampaign)).scalar_one()
        )


def test_a_campaign_built_with_three_fields_is_stored_with_our_defaults(ctx, frozen_clock):
    campaign = models.RewardCampaign(
        name="Free coffee", reward_type=RewardType.GIFT, cost_in_points=50
    )
    db.session.add(campaign)
    db.session.commit()
    assert campaign.created_at == campaign.updated_at == frozen_clock.current
    assert (campaign.active, campaign.tax_value, campaign.days_valid) == (True, Decimal("0.00"), 0)
    assert campaign.code_source is CodeSource.GENERATED


def test_a_campaign_built_with_the_orm_can_be_redeemed(ctx, make_customer):
    campaign = models.RewardCampaign(
        name="10% off", reward_type=RewardType.DISCOUNT_CODE, cost_in_points=30
    )
    db.session.add(campaign)
    db.session.commit()
    customer = make_customer()
    loyalty.earn_points(customer, 30)
    assert loyalty.redeem(customer, campaign).coupon_code


def test_a_change_moves_updated_at_and_keeps_created_at(ctx, frozen_clock):
    campaign = models.RewardCampaign(name="A", reward_type=RewardType.GIFT, cost_in_points=5)
    db.session.add(campaign)
    db.session.commit()
    created = frozen_clock.current
    later = frozen_clock.advance(hours=1)
    campaign.name = "B"
    db.session.commit()
    assert (campaign.created_at, campaign.updated_at) == (created, later)


@pytest.mark.parametrize(
    "fields",
    [{"cost_in_points": 0}, {"days_valid": -1}, {"days_inactive": -3}, {"name": " "}],
    ids=["cost-0", "negative-days-valid", "negative-days-inactive", "blank-name"],
)
def test_an_invalid_new_campaign_is_refused_before_the_database(ctx, fields):
    values = {"name": "Bad", "reward_type": RewardType.GIFT, "cost_in_points": 10, **fields}
    db.session.add(models.RewardCampaign(**values))
    with pytest.raises(InvalidInput) as refusal:
        db.session.commit()
    assert set(fields) <= set(refusal.value.details)
    db.session.rollback()
    assert stored_campaigns() == 0


def test_an_invalid_change_is_refused_and_the_stored_row_stays(ctx):
    campaign = models.RewardCampaign(name="Good", reward_type=RewardType.GIFT, cost_in_points=10)
    db.session.add(campaign)
    db.session.commit()
    campaign.cost_in_points = 0
    with pytest.raises(InvalidInput):
        db.session.flush()
    db.session.rollback()
    db.session.expire_all()
    assert campaign.cost_in_points == 10
