"""services.catalog: what a customer may see, scoped to that customer, in a stable order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from flask_loyalty_rewards import InvalidInput, NotFound, get_state
from flask_loyalty_rewards.services import catalog
from flask_loyalty_rewards.services.context import Context
from tests.host import loyalty


@pytest.fixture
def services(ctx: Flask) -> Context:
    return get_state().context(ctx)


def test_visible_campaigns_are_the_shown_ones_cheapest_first(
    services: Context, make_campaign: Any, frozen_clock: Any
) -> None:
    now = frozen_clock()
    dear = make_campaign(name="Dear", cost_in_points=500)
    cheap = make_campaign(name="Cheap", cost_in_points=5)
    make_campaign(name="Off", active=False)
    make_campaign(name="Soon", visible_from=now + dt.timedelta(seconds=1))
    make_campaign(name="Over", visible_to=now)
    not_started = make_campaign(name="Not started", active_from=now + dt.timedelta(days=1))
    assert catalog.visible_campaigns(services) == [cheap, not_started, dear]


def test_a_hidden_campaign_is_not_found(services: Context, make_campaign: Any) -> None:
    hidden = make_campaign(active=False)
    with pytest.raises(NotFound):
        catalog.visible_campaign(services, hidden.id)
    shown = make_campaign()
    assert catalog.visible_campaign(services, shown.id) is shown


def test_redeemed_rewards_are_the_customers_own_newest_first(
    services: Context, make_customer: Any, make_campaign: Any, frozen_clock: Any
) -> None:
    alice, bob = make_customer(), make_customer()
    campaign = make_campaign(cost_in_points=10)
    loyalty.earn_points(alice, 100)
    loyalty.earn_points(bob, 100)
    older = loyalty.redeem(alice, campaign)
    frozen_clock.advance(minutes=1)
    tie_a = loyalty.redeem(alice, campaign)
    tie_b = loyalty.redeem(alice, campaign)
    loyalty.redeem(bob, campaign)
    page = catalog.redeemed_rewards(services, alice, page=1, per_page=2)
    assert page.items == [tie_b, tie_a]
    assert (page.total, page.pages, page.has_next, page.has_prev) == (3, 2, True, False)
    assert catalog.redeemed_rewards(services, alice, page=2, per_page=2).items == [older]


@pytest.mark.parametrize(
    ("page", "per_page"), [(0, 10), (1, 0), (1, 101), ("1", 10), (True, 10), (1, None)]
)
def test_invalid_page_arguments_are_refused(
    services: Context, make_customer: Any, page: Any, per_page: Any
) -> None:
    with pytest.raises(InvalidInput):
        catalog.redeemed_rewards(services, make_customer(), page=page, per_page=per_page)


def test_someone_elses_redeemed_reward_is_not_found(
    services: Context, make_customer: Any, make_campaign: Any
) -> None:
    alice, bob = make_customer(), make_customer()
    loyalty.earn_points(bob, 100)
    theirs = loyalty.redeem(bob, make_campaign())
    with pytest.raises(NotFound):
        catalog.redeemed_reward(services, alice, theirs.id)
    assert catalog.redeemed_reward(services, bob, theirs.id) is theirs


def test_open_lots_hold_points_in_spending_order(
    services: Context, make_customer: Any, make_campaign: Any, frozen_clock: Any
) -> None:
    now = frozen_clock()
    alice = make_customer()
    never = loyalty.earn_points(alice, 50)
    soon = loyalty.earn_points(alice, 30, expires_at=now + dt.timedelta(days=2))
    loyalty.earn_points(alice, 20, expires_at=now + dt.timedelta(hours=1))
    pending = loyalty.earn_points(alice, 5, available_from=now + dt.timedelta(days=1))
    tomorrow = loyalty.earn_points(alice, 10, expires_at=now + dt.timedelta(days=1))
    loyalty.redeem(alice, make_campaign(cost_in_points=10))  # half of the lot expiring in 1h
    frozen_clock.advance(hours=2)
    lots = catalog.open_lots(services, alice)
    assert lots == [tomorrow, soon, never, pending]
    assert [lot.remaining for lot in lots] == [10, 30, 50, 5]
