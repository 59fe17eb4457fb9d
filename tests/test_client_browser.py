"""The client cockpit in real headless Chromium: the disabled button's tooltip and redeeming."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import log_in_page
from tests.support.factories import Rows

pytestmark = pytest.mark.browser


def test_short_customer_hovers_the_disabled_button_and_reads_the_tooltip(
    live_server: str, page: Any, shop: Rows
) -> None:
    customer = shop.customer()
    shop.earn(customer, 40)
    campaign = shop.campaign(name="Free delivery", cost_in_points=125)
    log_in_page(page, live_server, customer)
    page.goto(f"{live_server}/loyalty/")
    card = page.locator(f"#lr-reward-{campaign}")
    button = card.get_by_role("button", name="Redeem")
    assert button.is_disabled()
    assert button.get_attribute("aria-disabled") == "true"
    assert button.evaluate("b => getComputedStyle(b).cursor") != "pointer"
    bubble = card.locator(".lr-tip__bubble")
    assert not bubble.is_visible()
    button.hover(force=True)  # the pointer over the disabled button itself, as a shopper's is
    assert bubble.is_visible()
    assert bubble.inner_text() == "You must have 85 more points to get reward"
    assert card.locator(".lr-tip").get_attribute("title") == (
        "You must have 85 more points to get reward"
    )
    description = button.evaluate(
        "b => b.getAttribute('aria-describedby').split(' ')"
        ".map(id => document.getElementById(id).textContent.trim())"
    )
    assert "You must have 85 more points to get reward" in description


def test_keyboard_user_reaches_the_reason_of_a_disabled_button(
    live_server: str, page: Any, shop: Rows
) -> None:
    customer = shop.customer()
    campaign = shop.campaign(cost_in_points=10)
    log_in_page(page, live_server, customer)
    page.goto(f"{live_server}/loyalty/")
    card = page.locator(f"#lr-reward-{campaign}")
    card.locator(".lr-tip").focus()
    assert card.locator(".lr-tip__bubble").is_visible()


def test_customer_redeems_a_reward_end_to_end(live_server: str, page: Any, shop: Rows) -> None:
    customer = shop.customer()
    shop.earn(customer, 300)
    campaign = shop.campaign(name="Coffee voucher", cost_in_points=120)
    log_in_page(page, live_server, customer)
    page.goto(f"{live_server}/loyalty/")
    page.locator(f"#lr-reward-{campaign}").get_by_role("button", name="Redeem").click()
    page.wait_for_url(f"**/loyalty/rewards/{campaign}/redeem*")
    assert "Redeem Coffee voucher?" in page.inner_text("h1")
    page.get_by_role("button", name="Confirm: spend 120 points").click()
    page.wait_for_url("**/loyalty/my-rewards/*?redeemed=1")
    assert page.inner_text("h1") == "Reward redeemed: Coffee voucher"
    assert page.inner_text(".lr-balance") == "180"
    code = page.inner_text(".lr-coupon__code")
    [redeemed] = shop.redeemed_ids(customer)
    assert shop.get("RedeemedReward", redeemed).coupon_code == code
    assert shop.active_points(customer) == 180
    page.get_by_role("link", name="All my rewards").click()
    assert code in page.inner_text("table")


def test_fast_double_click_on_redeem_gives_exactly_one_redemption(
    live_server: str, page: Any, shop: Rows
) -> None:
    customer = shop.customer()
    shop.earn(customer, 1000)
    campaign = shop.campaign(cost_in_points=100)
    log_in_page(page, live_server, customer)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{live_server}/loyalty/")
    page.locator(f"#lr-reward-{campaign}").get_by_role("button", name="Redeem").dblclick()
    # A double click starts two navigations and aborts the first: wait for where it lands.
    expect(page).to_have_url(re.compile(rf"/loyalty/rewards/{campaign}/redeem"))
    page.wait_for_load_state("networkidle")
    # Chromium itself drops the second submit of a pending navigation, so first the same form
    # is sent twice at once, as a double click that beats the browser's guard would send it.
    landed = page.evaluate(
        """() => {
            const form = document.querySelector('form.lr-confirm');
            const send = () => fetch(form.action, {method: 'POST', body: new FormData(form)});
            return Promise.all([send(), send()]).then(rs => rs.map(r => [r.status, r.url]));
        }"""
    )
    page.get_by_role("button", name="Confirm: spend 100 points").dblclick(delay=0)
    expect(page).to_have_url(re.compile(r"/loyalty/my-rewards/\d+\?redeemed=1$"))
    page.wait_for_load_state()
    assert len(posts) >= 3
    assert landed[0] == landed[1] == [200, page.url]
    assert len(shop.redeemed_ids(customer)) == 1
    assert shop.active_points(customer) == 900
    assert page.inner_text(".lr-balance") == "900"
    assert shop.verify() == []
