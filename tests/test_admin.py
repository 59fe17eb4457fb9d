"""The Redeemed rewards grid: columns, filters, sorting, paging, actions, refusals, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from flask_loyalty_rewards import DeliveryStatus, RewardType
from flask_loyalty_rewards.admin.grid import safe_cell
from tests import host
from tests.support.admin import GRID, csrf_token, filter_arg, flashes, grid

SPEC_COLUMNS = [
    "Redeem date and time",
    "Usage date and time",
    "Cost in points",
    "Tax value",
    "Customer e-mail",
    "Phone",
    "Reward",
    "Reward type",
    "First name",
    "Surname",
    "Customer active points",
    "Delivery status",
    "Cashback status",
    "Unused / Used",
    "Action",
]
UTC = dt.timezone.utc


def history(admin_data, redeemed_id):
    def read(session, models):
        rows = session.query(models.RewardHistory).filter_by(redeemed_reward_id=redeemed_id)
        return [(h.event.value, h.from_value, h.to_value, h.actor) for h in rows]

    return admin_data.run(read)


# -- columns --------------------------------------------------------------------------------------


def test_grid_has_the_spec_columns_in_the_spec_order(admin_client):
    names, _ = grid(admin_client.get(GRID).get_data(as_text=True))
    assert names == SPEC_COLUMNS


def test_grid_row_shows_what_was_copied_at_redeem_time(admin_client, admin_data, frozen_clock):
    customer = admin_data.customer(
        email="ann@example.com", phone="+48 1", first_name="Ann", last_name="Smith"
    )
    campaign = admin_data.campaign(
        name="Mug", reward_type=RewardType.VALUE_CODE, cost_in_points=150, tax_value=Decimal("2.50")
    )
    rid = admin_data.redeemed(customer, campaign)
    code = admin_data.get("RedeemedReward", rid).coupon_code

    _, rows = grid(admin_client.get(GRID).get_data(as_text=True))

    assert rows == [
        {
            "Redeem date and time": "2026-03-01 12:00:00 UTC",
            "Usage date and time": "",
            "Cost in points": "150",
            "Tax value": "2.50",
            "Customer e-mail": "ann@example.com",
            "Phone": "+48 1",
            "Reward": f"Mug ({code})",
            "Reward type": "Value code",
            "First name": "Ann",
            "Surname": "Smith",
            "Customer active points": "0",
            "Delivery status": "",
            "Cashback status": "-",
            "Unused / Used": "[ ] Delivered",
            "Action": "View Mark used",
        }
    ]


@pytest.mark.parametrize("reward_type", list(RewardType), ids=lambda t: t.value)
def test_reward_type_column_shows_the_spec_label(admin_client, admin_data, reward_type):
    admin_data.redeemed(admin_data.customer(), admin_data.campaign(reward_type=reward_type))
    _, rows = grid(admin_client.get(GRID).get_data(as_text=True))
    assert rows[0]["Reward type"] == reward_type.label


def test_cashback_rows_show_the_cashback_status_and_others_a_dash(admin_client, admin_data):
    customer = admin_data.customer()
    cashback = admin_data.redeemed(customer, admin_data.campaign(reward_type=RewardType.CASHBACK))
    admin_data.redeemed(customer, admin_data.campaign(reward_type=RewardType.GIFT))

    def set_status(session, models):
        session.get(models.RedeemedReward, cashback).cashback_status = "2: 501: Insufficient funds"
        session.commit()

    admin_data.run(set_status)
    _, rows = grid(admin_client.get(GRID + "?sort=0").get_data(as_text=True))
    assert [r["Cashback status"] for r in rows] == ["2: 501: Insufficient funds", "-"]


def test_used_column_is_a_ticked_box_for_used_and_empty_for_delivered(admin_client, admin_data):
    customer, campaign = admin_data.customer(), admin_data.campaign()
    admin_data.redeemed(customer, campaign, used=True)
    admin_data.redeemed(customer, campaign)
    _, rows = grid(admin_client.get(GRID + "?sort=0").get_data(as_text=True))
    assert [r["Unused / Used"] for r in rows] == ["[x] Used", "[ ] Delivered"]
    assert rows[0]["Delivery status"] == "Ordered"


# -- filters --------------------------------------------------------------------------------------


@pytest.fixture
def three_days(admin_data, frozen_clock):
    """Rewards redeemed on 1, 2 and 3 March; the first two used a day later."""
    customer, campaign = admin_data.customer(), admin_data.campaign()
    ids = []
    for _ in range(3):
        ids.append(admin_data.redeemed(customer, campaign))
        frozen_clock.advance(days=1)
    frozen_clock.set(dt.datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    admin_data.run(lambda s, m: host.loyalty.mark_used(ids[0]))
    frozen_clock.set(dt.datetime(2026, 3, 3, 18, 0, tzinfo=UTC))
    admin_data.run(lambda s, m: host.loyalty.mark_used(ids[1]))
    return ids


def dates(page):
    return [r["Redeem date and time"][:10] for r in grid(page)[1]]


def test_filter_by_redeem_date_and_time_range(app, admin_client, three_days):
    arg = filter_arg(app, "Redeem date and time")
    page = admin_client.get(
        GRID, query_string={arg: "2026-03-02 00:00:00 to 2026-03-03 23:59:59"}
    ).get_data(as_text=True)
    assert dates(page) == ["2026-03-03", "2026-03-02"]


def test_filter_by_usage_date_and_time_range(app, admin_client, three_days):
    arg = filter_arg(app, "Usage date and time")
    page = admin_client.get(
        GRID, query_string={arg: "2026-03-03 00:00:00 to 2026-03-03 23:59:59"}
    ).get_data(as_text=True)
    assert dates(page) == ["2026-03-02"]


def test_grid_shows_used_and_unused_rewards_by_default(admin_client, three_days):
    assert len(grid(admin_client.get(GRID).get_data(as_text=True))[1]) == 3


@pytest.mark.parametrize(("choice", "expected"), [("used", 2), ("unused", 1)])
def test_filter_by_unused_or_used(app, admin_client, three_days, choice, expected):
    arg = filter_arg(app, "Unused / Used")
    page = admin_client.get(GRID, query_string={arg: choice}).get_data(as_text=True)
    rows = grid(page)[1]
    assert len(rows) == expected
    assert {r["Unused / Used"] for r in rows} == {
        "[x] Used" if choice == "used" else "[ ] Delivered"
    }


def test_filter_by_delivery_status(app, admin_client, admin_data):
    customer = admin_data.customer()
    gift = admin_data.campaign(reward_type=RewardType.GIFT, name="Gift")
    shipped = admin_data.redeemed(customer, gift, used=True)
    admin_data.redeemed(customer, gift, used=True)
    admin_data.run(lambda s, m: host.loyalty.set_delivery_status(shipped, DeliveryStatus.SHIPPED))
    arg = filter_arg(app, "Delivery status")
    rows = grid(admin_client.get(GRID, query_string={arg: "shipped"}).get_data(as_text=True))[1]
    assert [r["Delivery status"] for r in rows] == ["Shipped"]


def test_unknown_filter_value_is_ignored_not_an_error(app, admin_client, three_days):
    arg = filter_arg(app, "Delivery status")
    response = admin_client.get(GRID, query_string={arg: "<script>"})
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True)


# -- sorting and paging ---------------------------------------------------------------------------


def test_default_sort_is_newest_redemption_first(admin_client, three_days):
    assert dates(admin_client.get(GRID).get_data(as_text=True)) == [
        "2026-03-03",
        "2026-03-02",
        "2026-03-01",
    ]


def test_sort_by_redeem_date_ascending(admin_client, three_days):
    page = admin_client.get(GRID + "?sort=0").get_data(as_text=True)
    assert dates(page) == ["2026-03-01", "2026-03-02", "2026-03-03"]


def test_sort_by_usage_date_descending(admin_client, three_days, backend):
    page = admin_client.get(GRID + "?sort=1&desc=1").get_data(as_text=True)
    used = [r["Usage date and time"][:10] for r in grid(page)[1] if r["Usage date and time"]]
    assert used == ["2026-03-03", "2026-03-02"]


def test_sort_by_delivery_status(admin_client, admin_data):
    customer = admin_data.customer()
    gift = admin_data.campaign(reward_type=RewardType.GIFT)
    first = admin_data.redeemed(customer, gift, used=True)
    admin_data.redeemed(customer, gift, used=True)
    admin_data.run(lambda s, m: host.loyalty.set_delivery_status(first, DeliveryStatus.SHIPPED))
    page = admin_client.get(GRID + "?sort=11").get_data(as_text=True)
    assert [r["Delivery status"] for r in grid(page)[1]] == ["Ordered", "Shipped"]


def test_page_size_choice_and_pages_cover_every_row_once(admin_client, admin_data):
    customer, campaign = admin_data.customer(), admin_data.campaign(cost_in_points=1)
    ids = {admin_data.redeemed(customer, campaign) for _ in range(45)}
    seen = []
    for page in range(3):
        body = admin_client.get(f"{GRID}?page_size=20&page={page}").get_data(as_text=True)
        seen += [r["Reward"] for r in grid(body)[1]]
    assert len(seen) == len(set(seen)) == len(ids)
    first = admin_client.get(f"{GRID}?page_size=20").get_data(as_text=True)
    pager = [u for u in links(first) if "page=2&" in u]
    assert pager and all("page_size=20" in u for u in pager)
    offered = {u.split("page_size=")[1][:3].rstrip("&") for u in links(first) if "page_size=" in u}
    assert {"20", "50", "100", "200"} <= offered


def test_count_above_the_cap_says_more_than(app, admin_client, admin_data):
    app.config["LOYALTY_ADMIN_COUNT_CAP"] = 3
    customer, campaign = admin_data.customer(), admin_data.campaign(cost_in_points=1)
    for _ in range(5):
        admin_data.redeemed(customer, campaign)
    arg = filter_arg(app, "Unused / Used")
    body = admin_client.get(GRID, query_string={arg: "unused"}).get_data(as_text=True)
    assert "More than 3 redeemed rewards match" in body
    assert len(grid(body)[1]) == 5


def test_unfiltered_count_above_the_cap_is_the_databases_estimate(
    app, admin_client, admin_data, backend
):
    customer, campaign = admin_data.customer(), admin_data.campaign(cost_in_points=1)
    for _ in range(5):
        admin_data.redeemed(customer, campaign)
    table = host.models.RedeemedReward.__table__.name
    analyze = {"sqlite": "ANALYZE", "postgresql": f"ANALYZE {table}"}.get(
        backend, f"ANALYZE TABLE {table}"
    )

    def run_analyze(session, models):
        session.connection().exec_driver_sql(analyze)
        session.commit()

    admin_data.run(run_analyze)
    app.config["LOYALTY_ADMIN_COUNT_CAP"] = 2
    body = admin_client.get(GRID).get_data(as_text=True)
    if backend == "mariadb":  # InnoDB's row estimate may come out low on a tiny table
        assert "About" in body or "More than 2" in body
    else:
        assert "About 5 redeemed rewards (the database's estimate)." in body
    assert len(grid(body)[1]) == 5


def test_count_below_the_cap_is_exact(app, admin_client, admin_data):
    customer, campaign = admin_data.customer(), admin_data.campaign(cost_in_points=1)
    for _ in range(2):
        admin_data.redeemed(customer, campaign)
    body = admin_client.get(GRID).get_data(as_text=True)
    assert "List (2)" in body
    assert "More than" not in body and "About" not in body


# -- mark used / unmark ---------------------------------------------------------------------------


def post(client, path, **data):
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(GRID + path, data=data, follow_redirects=True)


def test_mark_used_row_action_marks_it_through_the_service(admin_client, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign())
    body = post(admin_client, "usage/", id=rid, used="1").get_data(as_text=True)
    row = admin_data.get("RedeemedReward", rid)
    assert row.used and row.delivery_status is DeliveryStatus.ORDERED
    assert "Marked as used." in flashes(body)
    assert history(admin_data, rid)[-1][0] == "used"
    assert history(admin_data, rid)[-1][3].startswith("admin:")


def test_unmark_row_action_clears_usage(admin_client, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign(), used=True)
    body = post(admin_client, "usage/", id=rid, used="0").get_data(as_text=True)
    row = admin_data.get("RedeemedReward", rid)
    assert not row.used and row.used_at is None and row.delivery_status is None
    assert "Marked as not used." in flashes(body)


@pytest.fixture
def expired(admin_data, frozen_clock):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign(days_valid=1))
    frozen_clock.advance(days=2)
    return rid


def test_expired_coupon_is_offered_no_usage_action(admin_client, expired):
    _, rows = grid(admin_client.get(GRID).get_data(as_text=True))
    assert rows[0]["Action"] == "View"
    details = admin_client.get(f"{GRID}details/?id={expired}").get_data(as_text=True)
    assert 'data-loyalty="mark-used"' not in details
    assert "this one is Expired" in details


def test_server_refuses_marking_an_expired_coupon_with_a_clear_message(
    admin_client, admin_data, expired
):
    body = post(admin_client, "usage/", id=expired, used="1").get_data(as_text=True)
    assert "Refused: Only an Active coupon can be marked as used; this one is Expired." in flashes(
        body
    )
    assert not admin_data.get("RedeemedReward", expired).used


def test_canceled_coupon_is_offered_no_action(admin_client, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign())
    admin_data.run(lambda s, m: host.loyalty.cancel_redemption(rid, reason="test"))
    _, rows = grid(admin_client.get(GRID).get_data(as_text=True))
    assert rows[0]["Action"] == "View"
    details = admin_client.get(f"{GRID}details/?id={rid}").get_data(as_text=True)
    assert 'id="loyalty-cancel"' not in details


def test_missing_row_is_reported_not_a_server_error(admin_client):
    body = post(admin_client, "usage/", id="999999", used="1").get_data(as_text=True)
    assert "That redeemed reward does not exist." in flashes(body)


def bulk(client, action, ids):
    return client.post(
        GRID + "action/",
        data={"action": action, "rowid": [str(i) for i in ids], "csrf_token": csrf_token(client)},
        follow_redirects=True,
    )


def test_bulk_mark_used_changes_the_allowed_rows_and_lists_the_refused(
    admin_client, admin_data, frozen_clock
):
    customer = admin_data.customer()
    short = admin_data.campaign(days_valid=1, name="Short")
    expired = admin_data.redeemed(customer, short)
    frozen_clock.advance(days=2)
    fresh = admin_data.redeemed(customer, admin_data.campaign(name="Fresh"))
    already = admin_data.redeemed(customer, admin_data.campaign(name="Used"), used=True)

    body = bulk(admin_client, "mark_used", [fresh, expired, already]).get_data(as_text=True)

    text = flashes(body)
    assert "1 reward(s) marked as used." in text
    assert "2 reward(s) refused and left unchanged" in text
    assert f"#{expired} Short" in text and "this one is Expired" in text
    assert f"#{already} Used" in text and "already marked as used" in text
    assert admin_data.get("RedeemedReward", fresh).used
    assert not admin_data.get("RedeemedReward", expired).used


def test_bulk_unmark_used(admin_client, admin_data):
    customer, campaign = admin_data.customer(), admin_data.campaign()
    ids = [admin_data.redeemed(customer, campaign, used=True) for _ in range(2)]
    body = bulk(admin_client, "unmark_used", ids).get_data(as_text=True)
    assert "2 reward(s) unmarked." in flashes(body)
    assert not any(admin_data.get("RedeemedReward", i).used for i in ids)


# -- gift delivery --------------------------------------------------------------------------------


@pytest.fixture
def used_gift(admin_data):
    campaign = admin_data.campaign(reward_type=RewardType.GIFT, name="Teddy")
    return admin_data.redeemed(admin_data.customer(), campaign, used=True)


def delivery_options(client, rid):
    import re

    body = client.get(f"{GRID}details/?id={rid}").get_data(as_text=True)
    select = re.search(r'<select name="status".*?</select>', body, re.S)
    return re.findall(r'<option value="(\w+)">', select.group(0)) if select else []


def test_delivery_form_offers_only_the_allowed_next_statuses(admin_client, admin_data, used_gift):
    assert delivery_options(admin_client, used_gift) == ["shipped", "canceled"]
    admin_data.run(lambda s, m: host.loyalty.set_delivery_status(used_gift, "shipped"))
    assert delivery_options(admin_client, used_gift) == ["delivered", "canceled"]
    admin_data.run(lambda s, m: host.loyalty.set_delivery_status(used_gift, "delivered"))
    assert delivery_options(admin_client, used_gift) == []


def test_a_gift_whose_campaign_does_not_track_delivery_has_no_delivery_form(
    admin_client, admin_data
):
    campaign = admin_data.campaign(reward_type=RewardType.GIFT, fulfillment_tracking=False)
    rid = admin_data.redeemed(admin_data.customer(), campaign, used=True)
    assert delivery_options(admin_client, rid) == []


def test_a_shipped_gift_is_offered_no_unmark_in_the_grid(admin_client, admin_data, used_gift):
    admin_data.run(lambda s, m: host.loyalty.set_delivery_status(used_gift, "shipped"))
    _, rows = grid(admin_client.get(GRID).get_data(as_text=True))
    assert rows[0]["Action"] == "View"
    details = admin_client.get(f"{GRID}details/?id={used_gift}").get_data(as_text=True)
    assert 'data-loyalty="unmark-used"' not in details
    assert "The gift is already Shipped; it cannot be unmarked." in details


def test_a_cashback_whose_payout_is_open_is_offered_no_cancel(admin_client, admin_data):
    campaign = admin_data.campaign(reward_type=RewardType.CASHBACK)
    rid = admin_data.redeemed(admin_data.customer(), campaign)
    details = admin_client.get(f"{GRID}details/?id={rid}").get_data(as_text=True)
    assert 'id="loyalty-cancel"' not in details
    assert "Cancel a cashback reward from its payout" in details


def test_non_gift_rewards_have_no_delivery_form(admin_client, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign(), used=True)
    assert delivery_options(admin_client, rid) == []


def test_moving_a_gift_to_shipped_is_recorded_with_who_when_from_to(
    admin_client, admin_data, used_gift, frozen_clock
):
    frozen_clock.advance(hours=3)
    body = post(admin_client, "delivery/", id=used_gift, status="shipped").get_data(as_text=True)
    assert "Delivery status set to Shipped." in flashes(body)
    assert admin_data.get("RedeemedReward", used_gift).delivery_status is DeliveryStatus.SHIPPED
    details = admin_client.get(f"{GRID}details/?id={used_gift}").get_data(as_text=True)
    history_html = details[details.index('id="loyalty-history"') :]
    assert "2026-03-01 15:00:00" in history_html
    assert "Delivery status changed" in history_html
    assert "<td>Ordered</td>" in history_html and "<td>Shipped</td>" in history_html
    assert "admin:" in history_html


def test_skipping_a_delivery_step_is_refused(admin_client, admin_data, used_gift):
    body = post(admin_client, "delivery/", id=used_gift, status="delivered").get_data(as_text=True)
    assert "Refused: A gift's delivery cannot go from Ordered to Delivered." in flashes(body)
    assert admin_data.get("RedeemedReward", used_gift).delivery_status is DeliveryStatus.ORDERED


def test_unknown_delivery_status_is_a_form_error(admin_client, used_gift):
    body = post(admin_client, "delivery/", id=used_gift, status="lost").get_data(as_text=True)
    assert "Nothing changed" in flashes(body)


# -- cancel ---------------------------------------------------------------------------------------


def test_cancel_with_a_reason_returns_the_points(admin_client, admin_data):
    customer = admin_data.customer()
    rid = admin_data.redeemed(customer, admin_data.campaign(cost_in_points=70))
    body = post(admin_client, "cancel/", id=rid, reason="Customer asked").get_data(as_text=True)
    assert "Redemption cancelled" in flashes(body)
    row = admin_data.get("RedeemedReward", rid)
    assert row.canceled_at is not None and row.cancel_reason == "Customer asked"
    assert admin_data.run(lambda s, m: host.loyalty.active_points(customer)) == 70


def test_cancel_without_a_reason_is_refused(admin_client, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign())
    body = post(admin_client, "cancel/", id=rid, reason="  ").get_data(as_text=True)
    assert "Say why the redemption is cancelled." in flashes(body)
    assert admin_data.get("RedeemedReward", rid).canceled_at is None


def test_cancel_of_a_used_reward_is_refused_by_the_service(admin_client, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign(), used=True)
    body = post(admin_client, "cancel/", id=rid, reason="x").get_data(as_text=True)
    assert "must be unmarked before it can be cancelled" in flashes(body)


# -- details (the View action) --------------------------------------------------------------------


@pytest.mark.parametrize("reward_type", [RewardType.GIFT, RewardType.DISCOUNT_CODE])
def test_view_shows_the_delivery_address_for_every_type(admin_client, admin_data, reward_type):
    customer = admin_data.customer(street="5 Baker Street", postal_code="NW1", city="London")
    rid = admin_data.redeemed(customer, admin_data.campaign(reward_type=reward_type))
    body = admin_client.get(f"{GRID}details/?id={rid}").get_data(as_text=True)
    address = body[body.index('id="loyalty-address"') : body.index("</address>")]
    assert "5 Baker Street" in address and "NW1 London" in address and "Poland" in address


# -- export ---------------------------------------------------------------------------------------


def export(client, **query):
    response = client.get(GRID + "export/csv/", query_string=query)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_export_has_the_spec_columns_and_the_filtered_rows(app, admin_client, three_days):
    rows = export(admin_client, **{filter_arg(app, "Unused / Used"): "unused"})
    assert rows[0] == SPEC_COLUMNS[:-1]
    assert len(rows) == 2
    assert rows[1][13] == "Delivered"


@pytest.mark.parametrize("payload", ['=HYPERLINK("x")', "+1+1", "-2*3", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_export_neutralises_formula_cells(admin_client, admin_data, payload):
    admin_data.redeemed(admin_data.customer(first_name=payload), admin_data.campaign())
    row = export(admin_client)[1]
    assert row[8] == "'" + payload


def test_csv_export_keeps_the_spec_dash_and_phone_numbers_as_they_are(admin_client, admin_data):
    customer = admin_data.customer(phone="+91 98765 43210")
    admin_data.redeemed(customer, admin_data.campaign(reward_type=RewardType.GIFT))

    row = export(admin_client)[1]

    assert (row[5], row[12]) == ("+91 98765 43210", "-")


@pytest.mark.parametrize(
    "plain",
    ["Ann", "", "-", "+", "-5", "+3.50", "-0.25", "+91 98765 43210", "+48 600 000 001", "a=b"],
)
def test_safe_cell_leaves_what_no_spreadsheet_evaluates_alone(plain):
    assert safe_cell(plain) == plain


@pytest.mark.parametrize(
    "formula",
    [
        "=1+1",
        "=",
        "@x",
        "@",
        "+1+1",
        "-1-1",
        "-2*3",
        "+A1",
        '-HYPERLINK("http://evil")',
        "+91-98765-43210",
        "+91  98765",
        "+91 98765 ",
        "-5%",
        "+1e5",
        "-\u0665",  # an Arabic-Indic digit is no number a spreadsheet reads
        "\t5",
        "\r5",
        "-cmd|' /C calc'!A0",
    ],
)
def test_safe_cell_guards_what_a_spreadsheet_would_evaluate(formula):
    assert safe_cell(formula) == "'" + formula


def test_safe_cell_reads_values_as_text():
    assert safe_cell(None) == ""
    assert safe_cell(-5) == "-5"


# -- escaping -------------------------------------------------------------------------------------

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_customer_typed_values_are_escaped_in_list_and_details(admin_client, admin_data):
    customer = admin_data.customer(first_name=XSS, last_name=XSS, street=XSS, city=XSS)
    rid = admin_data.redeemed(customer, admin_data.campaign(name=XSS))
    for url in (GRID, f"{GRID}details/?id={rid}"):
        body = admin_client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert" in body


# -- CSRF -----------------------------------------------------------------------------------------


def test_row_action_without_csrf_token_changes_nothing(admin_client, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign())
    body = post(admin_client, "usage/", id=rid, used="1", csrf_token="").get_data(as_text=True)
    assert "Nothing changed" in flashes(body)
    assert not admin_data.get("RedeemedReward", rid).used


@pytest.mark.parametrize("body", ["true", "[1]", "[[1, 2, 3]]"])
def test_row_action_posted_as_json_changes_nothing(admin_client, admin_data, body):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign())
    response = admin_client.post(
        GRID + "usage/", data=body, content_type="application/json", follow_redirects=True
    )
    assert response.status_code == 200
    assert "Nothing changed" in flashes(response.get_data(as_text=True))
    assert not admin_data.get("RedeemedReward", rid).used


def test_bulk_action_without_csrf_token_changes_nothing(admin_client, admin_data):
    rid = admin_data.redeemed(admin_data.customer(), admin_data.campaign())
    admin_client.post(GRID + "action/", data={"action": "mark_used", "rowid": [str(rid)]})
    assert not admin_data.get("RedeemedReward", rid).used


# -- paging on big tables -------------------------------------------------------------------------


def links(body):
    import html as html_lib
    import re

    return [html_lib.unescape(u) for u in re.findall(r'href="([^"]+)"', body)]


@pytest.fixture
def seven(app, admin_data, frozen_clock):
    """Seven rewards, two of them redeemed at the very same moment (the id breaks the tie)."""
    customer, campaign = admin_data.customer(), admin_data.campaign(cost_in_points=1)
    for n in range(7):
        admin_data.redeemed(customer, campaign)
        if n != 3:
            frozen_clock.advance(minutes=1)


def names_on(client, url):
    return [r["Reward"] for r in grid(client.get(url).get_data(as_text=True))[1]]


def test_a_single_page_has_no_cursor_links(admin_client, seven):
    body = admin_client.get(f"{GRID}?page_size=20").get_data(as_text=True)
    assert not [u for u in links(body) if "cursor=" in u]


@pytest.mark.parametrize("sort", ["", "&sort=0", "&sort=0&desc=1"])
def test_keyset_pages_hold_the_same_rows_as_offset_pages(app, admin_client, seven, sort):
    app.config["LOYALTY_ADMIN_PAGE_SIZE"] = 2
    for admin in app.extensions["admin"]:
        for view in admin._views:
            if view.endpoint == "loyalty_redeemed":
                view.page_size_options = (2, *view.page_size_options)
    offset_pages = [names_on(admin_client, f"{GRID}?page_size=2&page={p}{sort}") for p in range(4)]
    url = f"{GRID}?page_size=2{sort}"
    followed = [names_on(admin_client, url)]
    for page in range(1, 4):
        body = admin_client.get(url).get_data(as_text=True)
        url = next(u for u in links(body) if f"page={page}&" in u and "cursor=" in u)
        followed.append(names_on(admin_client, url))
    assert followed == offset_pages
    back = next(u for u in links(admin_client.get(url).get_data(as_text=True)) if "page=1&" in u)
    assert "cursor=" in back
    assert names_on(admin_client, back) == offset_pages[1]


def test_a_cursor_for_another_list_is_ignored(app, admin_client, seven):
    for admin in app.extensions["admin"]:
        for view in admin._views:
            if view.endpoint == "loyalty_redeemed":
                view.page_size_options = (2, *view.page_size_options)
    body = admin_client.get(f"{GRID}?page_size=2").get_data(as_text=True)
    link = next(u for u in links(body) if "page=1&" in u and "cursor=" in u)
    cursor = link.split("cursor=")[1]
    ascending = f"{GRID}?page_size=2&page=1&sort=0&cursor={cursor}"
    assert names_on(admin_client, ascending) == names_on(
        admin_client, f"{GRID}?page_size=2&page=1&sort=0"
    )
    assert admin_client.get(f"{GRID}?page=1&cursor=garbage!").status_code == 200


def test_export_larger_than_a_key_list_is_complete_and_ordered(admin_client, seven, monkeypatch):
    from flask_loyalty_rewards.admin import grid as grid_module

    monkeypatch.setattr(grid_module, "DEFERRED_JOIN_MAX", 2)
    rows = export(admin_client)[1:]
    assert len(rows) == 7
    assert [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
