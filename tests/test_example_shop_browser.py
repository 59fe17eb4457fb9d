"""The example shop with its demo data, walked through in real headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from example_shop.live import demo_app, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def example_url(own_database_url: str) -> Iterator[str]:
    with serving(demo_app(own_database_url)) as base:
        yield base


@pytest.fixture(autouse=True)
def csp_satisfied(page: Any) -> Iterator[None]:
    """Every page a test walks through satisfies the shop's Content-Security-Policy."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield
    assert refused == []


def log_in(page: Any, example_url: str, email: str, password: str) -> None:
    page.goto(f"{example_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def test_login_page_shows_the_demo_logins(page: Any, example_url: str) -> None:
    page.goto(f"{example_url}/login")
    logins = page.locator("#demo-logins").inner_text()
    assert "admin@example.com / admin" in logins
    assert "anna@example.com / anna" in logins


def test_customer_redeems_a_reward_and_uses_its_code_at_checkout(
    page: Any, example_url: str
) -> None:
    log_in(page, example_url, "anna@example.com", "anna")
    assert page.locator("#nav-points").inner_text() == "730 points"

    page.goto(f"{example_url}/loyalty/")
    too_dear = page.locator(".lr-card", has_text="20.00 gift card")
    assert too_dear.locator("button").is_disabled()
    too_dear.locator(".lr-tip").hover()
    bubble = too_dear.locator(".lr-tip__bubble")
    assert bubble.is_visible()
    assert bubble.inner_text() == "You must have 70 more points to get reward"

    page.locator(".lr-card", has_text="5.00 off").get_by_role("button", name="Redeem").click()
    page.get_by_role("button", name=re.compile("Confirm: spend 150 points")).click()
    code = page.locator(".lr-coupon__code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
    assert page.locator("#nav-points").inner_text() == "580 points"

    page.goto(example_url)
    page.locator("#product-1").get_by_role("button", name="Add to cart").click()
    page.goto(f"{example_url}/cart")
    page.fill("input[name=coupon_code]", code.replace("-", "").lower())
    page.click("#place-order")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    assert f"Coupon {code}: 5.00 off" in page.locator("#order-coupon").inner_text()
    # 24.90 + 4.90 delivery - 5.00 = 24.80: 24 points, expiring in six months.
    assert "earned you 24 points" in page.locator("#order-points").inner_text()
    order_number = page.locator("h1").inner_text().rsplit(" ", 1)[-1]

    page.goto(f"{example_url}/loyalty/my-rewards")
    row = page.locator("tr", has_text=code)
    assert "Used" in row.inner_text()

    page.goto(f"{example_url}/cart")  # emptied by the order
    assert "Your cart is empty" in page.locator("main").inner_text()
    assert order_number.startswith("ORDER-")


def test_another_customers_code_is_refused_at_checkout(page: Any, example_url: str) -> None:
    log_in(page, example_url, "anna@example.com", "anna")
    page.goto(example_url)
    page.locator("#product-2").get_by_role("button", name="Add to cart").click()
    page.goto(f"{example_url}/cart")
    page.fill("input[name=coupon_code]", "TASTING-001")  # Bob's ticket, not Anna's
    page.click("#place-order")
    assert "No reward of yours has this code." in page.locator(".flash.error").inner_text()
    assert "Ceramic mug" in page.locator("main table").inner_text()


def test_the_shops_stylesheet_applies_under_its_csp(page: Any, example_url: str) -> None:
    page.goto(example_url)
    header = page.locator("header")
    assert header.evaluate("e => getComputedStyle(e).display") == "flex"


def test_customer_cannot_open_the_admin(page: Any, example_url: str) -> None:
    log_in(page, example_url, "anna@example.com", "anna")
    response = page.goto(f"{example_url}/admin/loyalty/redeemed/")
    assert response.status == 403


def test_admin_sees_every_redeemed_reward_in_the_grid(page: Any, example_url: str) -> None:
    log_in(page, example_url, "admin@example.com", "admin")
    page.goto(f"{example_url}/admin/loyalty/redeemed/")
    grid = page.locator("table.model-list")
    text = grid.inner_text()
    for expected in ("anna@example.com", "bob@example.com", "carla@example.com", "TASTING-001"):
        assert expected in text
    for status in ("Shipped", "Delivered", "Canceled", "Ordered"):
        assert status in text
    for cashback in (
        "0: INIT: INIT",
        "1: MANUAL: Paid",
        "2: MANUAL: Wallet is closed",
        "2: CANCELED: Customer chose points back",
        "3: MANUAL: Waiting",
    ):
        assert cashback in text


def test_admin_filters_the_grid_to_used_rewards(page: Any, example_url: str) -> None:
    log_in(page, example_url, "admin@example.com", "admin")
    page.goto(f"{example_url}/admin/loyalty/redeemed/")
    page.get_by_role("link", name="Add Filter").click()
    page.locator(".filter", has_text="Unused / Used").first.click()
    page.locator("select.filter-val").select_option(label="Used", force=True)
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table.model-list tbody tr")
    assert rows.count() >= 5
    assert "Birthday voucher" not in page.locator("table.model-list").inner_text()
