"""In headless Chromium: a Polish customer reads the rewards page and its tooltip in Polish."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.support.browser import log_in_page
from tests.support.factories import Rows

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(babel_host: Flask) -> Rows:
    """The shop's rows, its Flask-Babel choosing each customer's language."""
    return Rows(babel_host)


def hover_tooltip(page: Any, live_server: str, campaign: int) -> tuple[str, str]:
    """The disabled Redeem button's name and the tooltip its hover shows."""
    page.goto(f"{live_server}/loyalty/")
    card = page.locator(f"#lr-reward-{campaign}")
    button = card.locator("button")
    assert button.is_disabled()
    bubble = card.locator(".lr-tip__bubble")
    assert not bubble.is_visible()
    button.hover(force=True)
    assert bubble.is_visible()
    return button.inner_text(), bubble.inner_text()


def test_a_polish_customer_reads_the_disabled_buttons_tooltip_in_polish(
    live_server: str, page: Any, shop: Rows
) -> None:
    customer = shop.customer(locale="pl")
    shop.earn(customer, 40)
    three_short = shop.campaign(name="Kubek", cost_in_points=43)
    many_short = shop.campaign(name="Koszulka", cost_in_points=125)
    log_in_page(page, live_server, customer)
    assert hover_tooltip(page, live_server, three_short) == (
        "Odbierz",
        "Musisz mieć jeszcze 3 punkty, aby otrzymać nagrodę",
    )
    assert hover_tooltip(page, live_server, many_short) == (
        "Odbierz",
        "Musisz mieć jeszcze 85 punktów, aby otrzymać nagrodę",
    )
    assert page.locator("h1").inner_text() == "Nagrody"
    assert page.locator("html").get_attribute("lang") == "pl"
    assert page.get_by_role("link", name="Moje nagrody").is_visible()


def test_an_english_customer_reads_the_specs_words(live_server: str, page: Any, shop: Rows) -> None:
    customer = shop.customer(locale="en")
    shop.earn(customer, 40)
    one_short = shop.campaign(cost_in_points=41)
    log_in_page(page, live_server, customer)
    assert hover_tooltip(page, live_server, one_short) == (
        "Redeem",
        "You must have 1 more points to get reward",
    )
    assert page.locator("h1").inner_text() == "Rewards"
