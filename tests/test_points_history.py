"""The customer's points history page: earned, spent (with the lots used), expired, revoked."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask

from tests import host
from tests.support.factories import Rows


def rows(page: str) -> list[tuple[str, str]]:
    """(kind, the row's text) of each history row, newest first."""
    found = re.findall(r'<tr data-kind="(\w+)">(.*?)</tr>', page, re.S)
    return [(kind, " ".join(re.sub(r"<[^>]+>", " ", text).split())) for kind, text in found]


def test_the_history_lists_each_change_and_the_lots_a_redemption_used(
    app: Flask, shop: Rows, alice: int, client: Any, frozen_clock: Any
) -> None:
    soon = frozen_clock() + dt.timedelta(days=3)
    later = soon + dt.timedelta(hours=1)
    shop.earn(alice, 50, expires_at=soon, reason="Order 1")
    shop.earn(alice, 100, reason="Order 2", idempotency_key="order-2")
    shop.earn(alice, 30, expires_at=later, reason="Order 3")
    shop.redeem(alice, shop.campaign(cost_in_points=60, name="Mug"))
    with app.app_context():
        host.loyalty.revoke_points(alice, "order-2", reason="Order 2 refunded")
    frozen_clock.advance(days=4)
    with app.app_context():
        host.loyalty.run_expiry()

    page = client.get("/loyalty/points-history")

    assert page.status_code == 200
    history = rows(page.get_data(as_text=True))
    assert [kind for kind, _ in history] == ["expire", "revoke", "spend", "earn", "earn", "earn"]
    spend = history[2][1]
    assert "-60" in spend and "Mug" in spend
    assert f"50 points, expiring {soon:%Y-%m-%d %H:%M} UTC" in spend
    assert f"10 points, expiring {later:%Y-%m-%d %H:%M} UTC" in spend
    assert "-20" in history[0][1] and f"20 points, expiring {later:%Y-%m-%d %H:%M}" in history[0][1]
    assert "-100" in history[1][1] and "Order 2 refunded" in history[1][1]
    assert "never expire" in history[-2][1]


def test_my_rewards_links_to_the_points_history(client: Any) -> None:
    page = client.get("/loyalty/my-rewards").get_data(as_text=True)
    assert 'href="/loyalty/points-history"' in page


def test_the_history_needs_a_logged_in_customer(app: Flask) -> None:
    assert app.test_client().get("/loyalty/points-history").status_code in (401, 302)
