"""Finding a customer, saved filters and the programme dashboard in real headless Chromium."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import RewardType
from flask_loyalty_rewards.services.dashboard import flow_of
from tests import host

pytestmark = pytest.mark.browser
GRID = "/admin/loyalty/redeemed/"


def emails(page):
    return page.locator("table.model-list td.col-customer_email").all_inner_texts()


def test_admin_finds_a_customer_by_part_of_an_e_mail(live_server, admin_page, admin_data):
    campaign = admin_data.campaign(name="Mug")
    for email in ("ann.smith@example.com", "bob@example.com"):
        admin_data.redeemed(admin_data.customer(email=email), campaign)
    admin_page.goto(f"{live_server}{GRID}")
    search = admin_page.get_by_placeholder("E-mail, name, surname, phone or code (starts with)")
    search.fill("Ann.Sm")
    search.press("Enter")
    admin_page.wait_for_url("**search=*")
    assert emails(admin_page) == ["ann.smith@example.com"]
    redeemed_at = admin_page.locator("table.model-list td.col-redeemed_at").first.inner_text()
    assert redeemed_at.endswith(" UTC")  # times say their zone


def test_admin_opens_a_saved_filter(live_server, admin_page, admin_data):
    gift = admin_data.campaign(name="Teddy", reward_type=RewardType.GIFT, fulfillment_tracking=True)
    admin_data.redeemed(admin_data.customer(email="ordered@example.com"), gift, used=True)
    admin_data.redeemed(admin_data.customer(email="unused@example.com"), gift)
    admin_page.goto(f"{live_server}{GRID}")
    admin_page.get_by_role("link", name="Gifts awaiting shipment").click()
    admin_page.wait_for_url("**preset=gifts-awaiting-shipment*")
    assert emails(admin_page) == ["ordered@example.com"]
    current = admin_page.locator("[data-loyalty-preset][aria-current=true]")
    assert current.inner_text() == "Gifts awaiting shipment"


def test_admin_reads_the_dashboard_and_its_table_matches_the_ledger(
    live_server, admin_page, admin_data
):
    ann, bob = admin_data.customer(), admin_data.customer()
    admin_data.run(lambda s, m: host.loyalty.earn_points(ann, 500))
    admin_data.run(lambda s, m: host.loyalty.earn_points(bob, 120))
    admin_data.redeemed(bob, admin_data.campaign(cost_in_points=300))
    admin_data.run(lambda s, m: host.loyalty.adjust_points(ann, -20, reason="test"))

    def ledger(session, models):
        entry = models.LedgerEntry
        sums = dict.fromkeys(("issued", "spent", "expired", "revoked"), 0)
        for kind, delta in session.execute(sa.select(entry.kind, entry.delta)):
            flow = flow_of(kind, delta > 0)
            sums[flow] += delta if flow == "issued" else -delta
        return sums

    expected = admin_data.run(ledger)
    admin_page.goto(f"{live_server}/admin/loyalty/dashboard/")
    chart = admin_page.locator('svg[data-loyalty-chart="points"]')
    assert chart.is_visible()
    assert chart.locator("rect").count() == 30 * 4
    last_row = admin_page.locator('table[data-loyalty-table="points"] tbody tr').last
    cells = last_row.locator("td").all_inner_texts()
    assert [int(c) for c in cells[1:]] == [
        expected["issued"],
        expected["spent"],
        expected["expired"],
        expected["revoked"],
    ]
    assert expected["issued"] == 500 + 120 + 300
