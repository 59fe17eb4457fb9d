"""For every reward state, the admin offers an action exactly when the service accepts it.

Hypothesis draws a reward (type, whether its campaign tracks delivery, coupon validity, whether
a cashback is sent at once) and a history of changes made through the services (time passing,
usage, delivery, cancellation, payout settlement, retry), refusals included. On the state that
results, the admin's pages (Redeemed rewards and Cashback payouts details) are read for the
actions they offer, and every action is tried on the service. A refused call changes nothing,
so the next action is tried on the same state; after an accepted one the state is built again.
SQLite only: the rules are pure, the database plays no part in them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_loyalty_rewards import DeliveryStatus, LoyaltyError, RewardType, clock, get_state
from flask_loyalty_rewards.cashback import actions
from tests import host
from tests.support.admin import GRID
from tests.support.apps import dispose
from tests.support.clients import log_in
from tests.support.clock import FakeClock
from tests.support.factories import Rows, campaign_fields, customer_fields

PAYOUTS = "/admin/loyalty/cashback/"
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
_numbers = itertools.count(1)

Step = tuple[Any, ...]
STEPS = st.one_of(
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=3)),
    st.tuples(st.just("mark_used")),
    st.tuples(st.just("unmark_used")),
    st.tuples(st.just("deliver"), st.sampled_from(list(DeliveryStatus))),
    st.tuples(st.just("cancel")),
    st.tuples(st.just("settle"), st.booleans()),
    st.tuples(st.just("retry")),
    st.tuples(st.just("cancel_payout")),
)

#: Histories that often reach the deep states (a used gift on its way, a settled payout):
#: maybe time passes, maybe the reward is used and its delivery moves, then any changes at all.
HISTORIES = st.tuples(
    st.lists(st.tuples(st.just("advance"), st.integers(min_value=1, max_value=3)), max_size=1),
    st.booleans(),
    st.lists(st.sampled_from(list(DeliveryStatus)), max_size=2),
    st.lists(STEPS, max_size=3),
).map(
    lambda parts: (
        *parts[0],
        *([("mark_used",)] if parts[1] else []),
        *[("deliver", status) for status in parts[2]],
        *parts[3],
    )
)


@dataclass(frozen=True)
class Recipe:
    """How to build one reward state from scratch, the same way every time."""

    reward_type: RewardType
    tracked: bool
    days_inactive: int
    days_valid: int
    send_at_once: bool
    steps: tuple[Step, ...]


RECIPES = st.builds(
    Recipe,
    reward_type=st.sampled_from([RewardType.DISCOUNT_CODE, RewardType.GIFT, RewardType.CASHBACK]),
    tracked=st.booleans(),
    days_inactive=st.integers(min_value=0, max_value=2),
    days_valid=st.integers(min_value=0, max_value=3),
    send_at_once=st.booleans(),
    steps=HISTORIES,
)


@dataclass(frozen=True)
class Built:
    redeemed_id: int
    payout_id: int | None


@pytest.fixture(scope="module")
def fake_clock() -> Iterator[FakeClock]:
    fake = FakeClock(START)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", fake)
        yield fake


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory: pytest.TempPathFactory, fake_clock: FakeClock) -> Iterator[Flask]:
    path = tmp_path_factory.mktemp("button_rules") / "loyalty.sqlite"
    app = host.create_app(f"sqlite:///{path}")
    with app.app_context():
        host.db.create_all()
    yield app
    dispose(app)


@pytest.fixture(scope="module")
def admin(sqlite_app: Flask) -> Any:
    admin_id = Rows(sqlite_app).customer(email="admin@example.com", is_admin=True)
    return log_in(sqlite_app.test_client(), admin_id)


def _payout_id(redeemed_id: int) -> int | None:
    model = host.models.CashbackPayout
    found = host.db.session.execute(
        host.db.select(model.id).where(model.redeemed_reward_id == redeemed_id)
    ).scalar_one_or_none()
    return found


def _apply(step: Step, redeemed_id: int, fake_clock: FakeClock) -> None:
    ctx = get_state().current_context()
    payout_id = _payout_id(redeemed_id)
    loyalty = host.loyalty
    changes: dict[str, Callable[[], Any]] = {
        "advance": lambda: fake_clock.advance(days=step[1]),
        "mark_used": lambda: loyalty.mark_used(redeemed_id),
        "unmark_used": lambda: loyalty.unmark_used(redeemed_id),
        "deliver": lambda: loyalty.set_delivery_status(redeemed_id, step[1]),
        "cancel": lambda: loyalty.cancel_redemption(redeemed_id, reason="drawn"),
        "settle": lambda: actions.settle_manually(ctx, payout_id, paid=step[1], note="drawn"),
        "retry": lambda: actions.retry(ctx, payout_id),
        "cancel_payout": lambda: actions.cancel(ctx, payout_id, reason="drawn"),
    }
    if payout_id is None and step[0] in ("settle", "retry", "cancel_payout"):
        return
    # Refused: nothing changed, and the history goes on from the same state.
    with contextlib.suppress(LoyaltyError):
        changes[step[0]]()


def build(app: Flask, recipe: Recipe, fake_clock: FakeClock) -> Built:
    fake_clock.set(START)
    app.config["LOYALTY_CASHBACK_SEND_ON_REDEEM"] = recipe.send_at_once
    with app.app_context():
        customer = host.Customer(**customer_fields(next(_numbers)))
        campaign = host.models.RewardCampaign(
            **campaign_fields(
                reward_type=recipe.reward_type,
                fulfillment_tracking=recipe.tracked and recipe.reward_type is RewardType.GIFT,
                days_inactive=recipe.days_inactive,
                days_valid=recipe.days_valid,
            )
        )
        host.db.session.add_all([customer, campaign])
        host.db.session.commit()
        host.loyalty.earn_points(customer, campaign.cost_in_points)
        redeemed_id = host.loyalty.redeem(customer, campaign).id
        for step in recipe.steps:
            _apply(step, redeemed_id, fake_clock)
        built = Built(redeemed_id, _payout_id(redeemed_id))
        host.db.session.remove()
    return built


def _delivery_options(page: str) -> set[str]:
    select = re.search(r'<select name="status".*?</select>', page, re.S)
    return set(re.findall(r'<option value="(\w+)">', select.group(0))) if select else set()


def offered_actions(client: Any, built: Built) -> set[str]:
    """What the admin's details pages offer for this reward (and its payout)."""
    page = client.get(f"{GRID}details/?id={built.redeemed_id}").get_data(as_text=True)
    offered = {f"deliver:{value}" for value in _delivery_options(page)}
    for marker, action in (
        ('data-loyalty="mark-used"', "mark_used"),
        ('data-loyalty="unmark-used"', "unmark_used"),
        ('id="loyalty-cancel"', "cancel"),
    ):
        if marker in page:
            offered.add(action)
    if built.payout_id is not None:
        page = client.get(f"{PAYOUTS}details/?id={built.payout_id}").get_data(as_text=True)
        for marker, action in (
            ('data-loyalty="retry"', "retry"),
            ('id="loyalty-payout-settle"', "settle"),
            ('id="loyalty-payout-cancel"', "cancel_payout"),
        ):
            if marker in page:
                offered.add(action)
    return offered


def _current_delivery(redeemed_id: int) -> DeliveryStatus | None:
    row = host.db.session.get(host.models.RedeemedReward, redeemed_id)
    assert row is not None
    return row.delivery_status


def service_calls(built: Built) -> dict[str, Callable[[], Any]]:
    """Every admin action as the service call its button makes."""
    rid, pid = built.redeemed_id, built.payout_id
    calls: dict[str, Callable[[], Any]] = {
        "mark_used": lambda: host.loyalty.mark_used(rid, actor="admin"),
        "unmark_used": lambda: host.loyalty.unmark_used(rid, actor="admin"),
        "cancel": lambda: host.loyalty.cancel_redemption(rid, reason="test", actor="admin"),
    }
    for status in DeliveryStatus:
        calls[f"deliver:{status.value}"] = lambda status=status: host.loyalty.set_delivery_status(
            rid, status, actor="admin"
        )
    if pid is not None:
        calls.update(
            {
                "retry": lambda: actions.retry(get_state().current_context(), pid),
                "settle": lambda: actions.settle_manually(
                    get_state().current_context(), pid, paid=True
                ),
                "cancel_payout": lambda: actions.cancel(
                    get_state().current_context(), pid, reason="test"
                ),
            }
        )
    return calls


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(recipe=RECIPES)
def test_the_admin_offers_an_action_exactly_when_the_service_accepts_it(
    sqlite_app: Flask, admin: Any, fake_clock: FakeClock, recipe: Recipe
) -> None:
    built = build(sqlite_app, recipe, fake_clock)
    offered = offered_actions(admin, built)
    accepted: set[str] = set()
    for action in service_calls(built):
        with sqlite_app.app_context():
            before = _current_delivery(built.redeemed_id)
            if action == f"deliver:{before.value if before else None}":
                continue  # the current status: a no-op, and no button offers it
            try:
                service_calls(built)[action]()
            except LoyaltyError:
                continue  # refused; nothing changed, so the next action sees the same state
            finally:
                host.db.session.remove()
        accepted.add(action)
        built = build(sqlite_app, recipe, fake_clock)
    assert offered == accepted, recipe
