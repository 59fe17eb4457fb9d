"""The Redeemed rewards grid in real headless Chromium."""

from __future__ import annotations

import datetime as dt

import pytest

from flask_loyalty_rewards import DeliveryStatus, RewardType
from tests import host

pytestmark = pytest.mark.browser
UTC = dt.timezone.utc
GRID = "/admin/loyalty/redeemed/"


def reward_cells(page):
    return page.locator("table.model-list td.col-reward_name").all_inner_texts()


def add_filter(page, name):
    page.get_by_role("link", name="Add Filter").click()
    page.locator(".field-filters a.filter", has_text=name).click()


def test_filter_by_redeem_date_range_in_the_browser(
    live_server, admin_page, admin_data, frozen_clock
):
    customer = admin_data.customer()
    for day in (1, 2, 3):
        frozen_clock.set(dt.datetime(2026, 3, day, 12, 0, tzinfo=UTC))
        admin_data.redeemed(customer, admin_data.campaign(name=f"Day {day}"))
    admin_page.goto(f"{live_server}{GRID}")
    add_filter(admin_page, "Redeem date and time")
    field = admin_page.locator("table.filters input.filter-val").last
    field.fill("2026-03-02 00:00:00 to 2026-03-02 23:59:59")
    field.press("Escape")
    admin_page.locator("#filter_form button[type=submit]").click()
    admin_page.wait_for_url("**flt*")
    assert [c.split(" (")[0] for c in reward_cells(admin_page)] == ["Day 2"]


def test_filter_by_delivery_status_in_the_browser(live_server, admin_page, admin_data):
    customer = admin_data.customer()
    shipped = admin_data.redeemed(
        customer, admin_data.campaign(name="Shipped gift", reward_type=RewardType.GIFT), used=True
    )
    admin_data.redeemed(
        customer, admin_data.campaign(name="Ordered gift", reward_type=RewardType.GIFT), used=True
    )
    admin_data.run(lambda s, m: host.loyalty.set_delivery_status(shipped, DeliveryStatus.SHIPPED))
    admin_page.goto(f"{live_server}{GRID}")
    add_filter(admin_page, "Delivery status")
    admin_page.locator("table.filters .select2-container").last.click()
    admin_page.locator(".select2-results li", has_text="Shipped").click()
    admin_page.locator("#filter_form button[type=submit]").click()
    admin_page.wait_for_url("**flt*")
    assert [c.split(" (")[0] for c in reward_cells(admin_page)] == ["Shipped gift"]


def test_mark_a_row_used_in_the_browser(live_server, admin_page, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign(name="Mug"))
    admin_page.goto(f"{live_server}{GRID}")
    admin_page.locator("[data-loyalty=mark-used]").click()
    admin_page.wait_for_load_state()
    assert "Marked as used." in admin_page.locator(".alert").inner_text()
    assert admin_page.locator("td.col-used input[type=checkbox]").is_checked()
    assert admin_data.get("RedeemedReward", rid).used


def test_open_the_address_view_in_the_browser(live_server, admin_page, admin_data):
    customer = admin_data.customer(street="5 Baker Street", postal_code="NW1", city="London")
    admin_data.redeemed(customer, admin_data.campaign(reward_type=RewardType.FREE_DELIVERY))
    admin_page.goto(f"{live_server}{GRID}")
    admin_page.locator("[data-loyalty=view]").click()
    address = admin_page.locator("#loyalty-address").inner_text()
    assert "5 Baker Street" in address and "NW1 London" in address


def test_move_a_gift_from_ordered_to_shipped_in_the_browser(live_server, admin_page, admin_data):
    campaign = admin_data.campaign(name="Teddy", reward_type=RewardType.GIFT)
    rid = admin_data.redeemed(admin_data.customer(), campaign, used=True)
    admin_page.goto(f"{live_server}{GRID}details/?id={rid}")
    admin_page.locator("#loyalty-delivery-status").select_option("shipped")
    admin_page.get_by_role("button", name="Change delivery status").click()
    admin_page.wait_for_url(f"**{GRID}details/?id={rid}")  # back on the reward's own page
    assert "Delivery status set to Shipped." in admin_page.locator(".alert").inner_text()
    history = admin_page.locator("#loyalty-history").inner_text()
    assert "Delivery status changed" in history and "Shipped" in history
    assert admin_data.get("RedeemedReward", rid).delivery_status is DeliveryStatus.SHIPPED
