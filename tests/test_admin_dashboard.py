"""The programme dashboard: ledger flows per period, liability, redemptions, breakage, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from flask_loyalty_rewards import RewardType, get_state
from flask_loyalty_rewards.services import dashboard
from tests import host
from tests.support.clients import log_in

DASHBOARD = "/admin/loyalty/dashboard/"
UTC = dt.timezone.utc


@pytest.fixture
def programme(app, admin_data, frozen_clock):
    """A week of activity ending on Sunday 2026-03-01 12:00 UTC (the frozen clock's now)."""
    ann, bob = admin_data.customer(), admin_data.customer()
    mug = admin_data.campaign(name="Mug", reward_type=RewardType.GIFT, cost_in_points=100)
    code = admin_data.campaign(name="10% off", cost_in_points=50)
    frozen_clock.set(dt.datetime(2026, 2, 23, 9, 0, tzinfo=UTC))  # Monday
    admin_data.run(
        lambda s, m: host.loyalty.earn_points(
            ann, 300, expires_at=dt.datetime(2026, 2, 26, tzinfo=UTC), idempotency_key="o1"
        )
    )
    admin_data.run(lambda s, m: host.loyalty.earn_points(bob, 1000, idempotency_key="o2"))
    frozen_clock.set(dt.datetime(2026, 2, 25, 9, 0, tzinfo=UTC))
    admin_data.run(lambda s, m: host.loyalty.redeem(ann, mug))
    admin_data.run(lambda s, m: host.loyalty.redeem(bob, code))
    admin_data.run(lambda s, m: host.loyalty.redeem(bob, code))
    frozen_clock.set(dt.datetime(2026, 2, 27, 9, 0, tzinfo=UTC))
    admin_data.run(lambda s, m: host.loyalty.run_expiry())  # Ann's 200 points left expire
    frozen_clock.set(dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    admin_data.run(lambda s, m: host.loyalty.adjust_points(bob, -30, reason="goodwill undone"))
    admin_data.run(
        lambda s, m: host.loyalty.earn_points(
            bob, 40, expires_at=dt.datetime(2026, 3, 20, tzinfo=UTC)
        )
    )
    frozen_clock.set(dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    return ann, bob


def figures(app, period):
    with app.app_context():
        return dashboard.programme(get_state().context(app), period)


def test_flows_per_day_sum_the_ledger_by_kind(app, programme):
    rows = {row.period.isoformat(): row for row in figures(app, "day").flows}
    assert len(rows) == 30
    assert (rows["2026-02-23"].issued, rows["2026-02-25"].spent) == (1300, 200)
    assert rows["2026-02-27"].expired == 200
    assert (rows["2026-03-01"].issued, rows["2026-03-01"].revoked) == (40, 30)


def test_weeks_start_on_monday_and_months_on_the_first(app, programme):
    weeks = figures(app, "week").flows
    assert [w.period.isoformat() for w in weeks[-2:]] == ["2026-02-16", "2026-02-23"]
    assert (weeks[-1].issued, weeks[-1].spent, weeks[-1].expired) == (1340, 200, 200)
    months = figures(app, "month").flows
    assert [m.period.isoformat() for m in months[-2:]] == ["2026-02-01", "2026-03-01"]
    assert (months[-2].issued, months[-1].issued) == (1300, 40)


def test_liability_and_what_expires_soon(app, programme):
    found = figures(app, "day")
    assert found.liability == 1000 - 100 + 40 - 30  # Ann has nothing left
    assert found.expiring == {30: 40, 60: 40, 90: 40}


def test_redemptions_per_campaign_and_type_and_breakage(app, programme):
    found = figures(app, "day")
    assert [(c.name, c.redemptions, c.points) for c in found.campaigns] == [
        ("10% off", 2, 100),
        ("Mug", 1, 100),
    ]
    assert found.by_type[RewardType.DISCOUNT_CODE] == 2
    assert found.by_type[RewardType.GIFT] == 1
    assert found.breakage_rate == pytest.approx(200 / 1340)


def test_an_unknown_period_is_refused_by_the_service(app):
    with app.app_context(), pytest.raises(ValueError, match="period"):
        dashboard.programme(get_state().context(app), "year")


def table(body, key):
    block = body.split(f'data-loyalty-table="{key}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", block, re.S)
    return [re.findall(r"<t[dh]>(.*?)</t[dh]>", row) for row in rows]


def test_page_draws_each_chart_beside_its_table(admin_client, programme):
    body = admin_client.get(DASHBOARD).get_data(as_text=True)
    for key in ("points", "liability", "types", "campaigns"):
        assert f'data-loyalty-chart="{key}"' in body
    points = table(body, "points")
    assert points[0] == ["Day", "Issued", "Spent", "Expired", "Revoked"]
    assert ["2026-02-27", "0", "0", "200", "0"] in points
    assert "<title>2026-02-27: Expired 200</title>" in body
    assert table(body, "campaigns")[1] == ["10% off", "Discount code", "2", "100"]
    assert "14.9% of the points issued expired" in body


def test_csv_download_is_the_table(admin_client, programme):
    response = admin_client.get(f"{DASHBOARD}csv/points/?period=week")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Week (from Monday)", "Issued", "Spent", "Expired", "Revoked"]
    assert rows[-1] == ["2026-02-23", "1340", "200", "200", "30"]
    assert admin_client.get(f"{DASHBOARD}csv/nothing/").status_code == 404


def test_only_admins_see_the_dashboard(app, admin_data):
    client = log_in(app.test_client(), admin_data.customer())
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(f"{DASHBOARD}csv/points/").status_code == 403


def test_an_empty_programme_shows_zeros_and_no_breakage(admin_client):
    body = admin_client.get(f"{DASHBOARD}?period=bogus").get_data(as_text=True)
    assert "n/a (no points issued)" in body
    assert "<strong>day</strong>" in body


def test_a_negative_figure_is_drawn_as_a_bar_of_its_size() -> None:
    from flask_loyalty_rewards.admin.dashboard import Chart

    for horizontal in (False, True):
        chart = Chart("k", "t", ["day", "net"], [["d1", -30], ["d2", 60]], [1], horizontal)
        sizes = [bar.width if horizontal else bar.height for bar in chart.bars]
        assert all(size >= 0 for size in sizes)
        assert sizes[1] == 2 * sizes[0]
