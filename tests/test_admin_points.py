"""Customer points in the admin: the ledger, grant/deduct, redeem on a customer's behalf."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import host
from tests.support.admin import POINTS, csrf_token, flashes, grid

UTC = dt.timezone.utc


def page(client, customer_id):
    return client.get(f"{POINTS}customer/?customer_id={customer_id}").get_data(as_text=True)


def section(body, element_id):
    start = body.index(f'id="{element_id}"')
    return body[start : body.index("</table>", start)]


def post(client, path, customer_id, **data):
    data["csrf_token"] = csrf_token(client, f"{POINTS}customer/?customer_id={customer_id}")
    return client.post(
        f"{POINTS}customer/{path}/?customer_id={customer_id}", data=data, follow_redirects=True
    ).get_data(as_text=True)


def active(admin_data, customer_id):
    return admin_data.run(lambda s, m: host.loyalty.active_points(customer_id))


def test_list_shows_customers_with_their_points(admin_client, admin_data):
    customer = admin_data.customer()
    admin_data.run(lambda s, m: host.loyalty.earn_points(customer, 40))
    rows = grid(admin_client.get(POINTS).get_data(as_text=True))[1]
    assert [(r["Customer"], r["Points held (pending included)"]) for r in rows] == [
        (str(customer), "40")
    ]


def test_ledger_shows_lots_with_remaining_and_expiry_and_entries(
    admin_client, admin_data, frozen_clock
):
    customer = admin_data.customer(first_name="Ann")
    expires = dt.datetime(2026, 6, 1, tzinfo=UTC)
    admin_data.run(lambda s, m: host.loyalty.earn_points(customer, 100, expires_at=expires))
    admin_data.redeemed(customer, admin_data.campaign(cost_in_points=30))
    body = page(admin_client, customer)
    lots = section(body, "loyalty-lots")
    assert "<td>100</td><td>70</td>" in lots.replace("\n", "").replace(" ", "")
    assert "2026-06-01 00:00:00" in lots
    entries = section(body, "loyalty-entries")
    assert "Earned" in entries and "Spent on a reward" in entries and "-30" in entries
    assert "Active points: <strong>100</strong>" in body  # earned 100 + 30 for the reward


def test_grant_points_with_a_reason_records_the_admin(admin_client, admin_data):
    customer = admin_data.customer()
    body = post(admin_client, "adjust", customer, delta="25", reason="Goodwill")
    assert "Granted 25 points; active points now 25." in flashes(body)

    def last_entry(session, models):
        entry = session.query(models.LedgerEntry).filter_by(customer_id=customer).one()
        return entry.kind.value, entry.delta, entry.reason, entry.actor

    admin_email = admin_data.get("customer", admin_client.admin_id).email
    assert admin_data.run(last_entry) == ("adjust", 25, "Goodwill", f"admin:{admin_email}")


def test_deduct_points(admin_client, admin_data):
    customer = admin_data.customer()
    admin_data.run(lambda s, m: host.loyalty.earn_points(customer, 50))
    body = post(admin_client, "adjust", customer, delta="-20", reason="Correction")
    assert "Deducted 20 points; active points now 30." in flashes(body)
    assert active(admin_data, customer) == 30


def test_deducting_more_than_the_customer_has_is_refused(admin_client, admin_data):
    customer = admin_data.customer()
    admin_data.run(lambda s, m: host.loyalty.earn_points(customer, 5))
    body = post(admin_client, "adjust", customer, delta="-20", reason="Correction")
    assert "The balance of 5 active points is too small for a deduction of 20 points." in flashes(
        body
    )
    assert "more points to get reward" not in flashes(body)
    assert active(admin_data, customer) == 5


def test_adjust_without_a_reason_is_a_form_error(admin_client, admin_data):
    customer = admin_data.customer()
    body = post(admin_client, "adjust", customer, delta="10", reason="")
    assert "No points changed: Say why." in flashes(body)
    assert active(admin_data, customer) == 0


def test_adjust_by_zero_or_text_changes_nothing(admin_client, admin_data):
    customer = admin_data.customer()
    assert "enter a number other than 0" in flashes(
        post(admin_client, "adjust", customer, delta="0", reason="x")
    )
    assert "No points changed" in flashes(
        post(admin_client, "adjust", customer, delta="ten", reason="x")
    )


def test_redeem_on_behalf_charging_points(admin_client, admin_data):
    customer = admin_data.customer()
    campaign = admin_data.campaign(name="Mug", cost_in_points=40)
    admin_data.run(lambda s, m: host.loyalty.earn_points(customer, 100))
    body = post(admin_client, "redeem", customer, campaign=str(campaign), charge_points="y")
    assert "Redeemed Mug (" in flashes(body)
    assert active(admin_data, customer) == 60

    def redeemed_by(session, models):
        return session.query(models.RedeemedReward).one().redeemed_by

    assert admin_data.run(redeemed_by).startswith("admin:")


def test_redeem_on_behalf_without_charging_points(admin_client, admin_data):
    customer = admin_data.customer()
    campaign = admin_data.campaign(name="Mug", cost_in_points=40)
    body = post(admin_client, "redeem", customer, campaign=str(campaign))
    assert "free of charge" in flashes(body)
    assert active(admin_data, customer) == 0
    assert admin_data.run(lambda s, m: s.query(m.RedeemedReward).one().charged) is False


def test_redeem_on_behalf_without_enough_points_is_refused(admin_client, admin_data):
    customer = admin_data.customer()
    campaign = admin_data.campaign(cost_in_points=40)
    body = post(admin_client, "redeem", customer, campaign=str(campaign), charge_points="y")
    assert "Refused:" in flashes(body)
    assert admin_data.run(lambda s, m: s.query(m.RedeemedReward).count()) == 0


def test_unknown_customer_goes_back_to_the_list(admin_client):
    response = admin_client.get(f"{POINTS}customer/?customer_id=abc", follow_redirects=True)
    assert "No customer with that id." in flashes(response.get_data(as_text=True))


def test_customer_values_are_escaped_on_the_ledger_page(admin_client, admin_data):
    customer = admin_data.customer(first_name="<script>alert(1)</script>")
    admin_data.run(
        lambda s, m: host.loyalty.earn_points(customer, 5, reason="<img src=x onerror=alert(1)>")
    )
    body = page(admin_client, customer)
    assert "<script>alert(1)" not in body and "<img src=x" not in body
    assert "&lt;script&gt;" in body


# -- finding a customer ---------------------------------------------------------------------------


@pytest.fixture
def holders(admin_data):
    """Two customers holding points: Ann Smith and Bob Annan."""
    ann = admin_data.customer(email="Ann.Smith@Example.com", first_name="Ann", last_name="Smith")
    bob = admin_data.customer(email="bob@shop.test", first_name="Bob", last_name="Annan")
    for customer in (ann, bob):
        admin_data.run(lambda s, m, c=customer: host.loyalty.earn_points(c, 10))
    return ann, bob


def listed(client, search=""):
    rows = grid(client.get(POINTS, query_string={"search": search}).get_data(as_text=True))[1]
    return [(r["E-mail"], r["Name"]) for r in rows]


def test_list_names_each_customer_through_the_profile_callback(admin_client, holders):
    assert sorted(listed(admin_client)) == [
        ("Ann.Smith@Example.com", "Ann Smith"),
        ("bob@shop.test", "Bob Annan"),
    ]


def test_search_finds_customers_by_the_start_of_an_e_mail_or_name_in_any_case(
    admin_client, holders
):
    assert listed(admin_client, "ANN.s") == [("Ann.Smith@Example.com", "Ann Smith")]
    assert sorted(listed(admin_client, "ann")) == [
        ("Ann.Smith@Example.com", "Ann Smith"),
        ("bob@shop.test", "Bob Annan"),
    ]
    assert listed(admin_client, "bob annan") == [("bob@shop.test", "Bob Annan")]
    assert listed(admin_client, "example.com") == []
    assert listed(admin_client, "100%_") == []


def test_search_finds_a_customer_by_id(admin_client, holders):
    assert listed(admin_client, str(holders[1])) == [("bob@shop.test", "Bob Annan")]


def test_list_never_counts_past_the_cap(app, admin_client, holders):
    app.config["LOYALTY_ADMIN_COUNT_CAP"] = 1
    body = admin_client.get(POINTS, query_string={"search": "ann"}).get_data(as_text=True)
    assert "More than 1 customers match" in body
    assert len(grid(body)[1]) == 2


def test_configured_columns_are_the_ones_searched(app):
    from flask_loyalty_rewards.admin.points import customer_columns

    app.config["LOYALTY_ADMIN_CUSTOMER_COLUMNS"] = ("email",)
    assert customer_columns(app, host.Customer) == [host.Customer.email]
    app.config["LOYALTY_ADMIN_CUSTOMER_COLUMNS"] = None
    assert [c.key for c in customer_columns(app, host.Customer)] == [
        "email",
        "first_name",
        "last_name",
        "phone",
    ]
    app.config["LOYALTY_ADMIN_CUSTOMER_COLUMNS"] = ("nickname",)
    with pytest.raises(ValueError, match="no column 'nickname'"):
        customer_columns(app, host.Customer)
