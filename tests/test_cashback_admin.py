"""The "Cashback payouts" admin view: listed with the grid's text; retry, cancel, settle."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask

from flask_loyalty_rewards.cashback import PayoutState
from tests import host
from tests.support.admin import csrf_token, flashes, grid
from tests.support.cashback import cashback_campaign, cashback_customer, payout_of, status_of
from tests.support.clients import log_in
from tests.support.paytm import FakePaytm

PAYOUTS = "/admin/loyalty/cashback/"


def redeem(app: Flask, points: int = 1000) -> tuple[int, int, int]:
    """A cashback redemption: (customer id, redeemed reward id, payout id)."""
    with app.app_context():
        customer = cashback_customer(points=points)
        redeemed = host.loyalty.redeem(customer, cashback_campaign())
        return customer.id, redeemed.id, payout_of(redeemed.id).id


def post(client: Any, path: str, **data: Any) -> str:
    data.setdefault("csrf_token", csrf_token(client))  # the session's token, from the grid
    response = client.post(PAYOUTS + path, data=data, follow_redirects=True)
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_the_list_shows_each_payout_with_the_grids_cashback_status(
    app: Flask, admin_client: Any
) -> None:
    _, redeemed_id, _ = redeem(app)

    page = admin_client.get(PAYOUTS)

    assert page.status_code == 200
    _, rows = grid(page.get_data(as_text=True))
    assert [row["Cashback status"] for row in rows] == [
        "3: MANUAL: Waiting for an admin to pay it out"
    ]
    assert rows[0]["Amount"] == "50.00"
    assert rows[0]["Redeemed reward"] == str(redeemed_id)


def test_people_who_are_not_admins_are_refused(app: Flask) -> None:
    with app.app_context():
        customer_id = cashback_customer(points=0).id
    client = log_in(app.test_client(), customer_id)

    assert client.get(PAYOUTS).status_code == 403
    assert client.post(PAYOUTS + "retry/", data={"id": "1"}).status_code == 403


def test_retry_sends_a_failed_payout_again_as_a_new_attempt(
    app: Flask, admin_client: Any, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")
    _, redeemed_id, payout_id = redeem(app)

    page = post(admin_client, "retry/", id=payout_id)

    assert "sent again, as a new attempt with its own order id" in flashes(page)
    with app.app_context():
        payout = payout_of(redeemed_id)
        assert payout.state is PayoutState.SUCCESS
    assert payout.order_id.endswith("-R2")
    assert paytm.money_paid(payout.order_id) == 1


def test_an_action_without_the_csrf_token_changes_nothing(
    app: Flask, admin_client: Any, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")
    _, redeemed_id, payout_id = redeem(app)

    page = post(admin_client, "retry/", id=payout_id, csrf_token="forged")

    assert "Nothing changed" in flashes(page)
    with app.app_context():
        assert payout_of(redeemed_id).state is PayoutState.FAILURE


def test_cancel_returns_the_points_and_records_the_reason(
    app: Flask, admin_client: Any, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")
    customer_id, redeemed_id, payout_id = redeem(app, points=700)

    details = admin_client.get(f"{PAYOUTS}details/?id={payout_id}").get_data(as_text=True)
    page = post(admin_client, "cancel/", id=payout_id, reason="Customer closed the wallet")

    assert 'id="loyalty-payout-cancel"' in details
    assert "points went back" in flashes(page)
    with app.app_context():
        assert host.loyalty.active_points(customer_id) == 700
        assert status_of(redeemed_id) == "2: CANCELED: Customer closed the wallet"


def test_a_refusal_is_shown_not_a_server_error(
    app: Flask, admin_client: Any, paytm: FakePaytm
) -> None:
    paytm.next_transfers("ACCEPTED")
    _, redeemed_id, payout_id = redeem(app)

    page = post(admin_client, "cancel/", id=payout_id, reason="no")

    assert "Refused: Only a failed payout" in flashes(page)
    with app.app_context():
        assert payout_of(redeemed_id).state is PayoutState.PENDING


@pytest.mark.parametrize(
    ("outcome", "note", "text"),
    [
        ("paid", "", "1: MANUAL: Paid by admin:"),
        ("failed", "Wrong phone number", "2: MANUAL: Wrong phone number (admin:"),
    ],
)
def test_an_admin_settles_a_manual_payout(
    app: Flask, admin_client: Any, outcome: str, note: str, text: str
) -> None:
    _, redeemed_id, payout_id = redeem(app)

    post(admin_client, "settle/", id=payout_id, outcome=outcome, note=note)

    with app.app_context():
        assert str(status_of(redeemed_id)).startswith(text)


def test_an_action_goes_back_only_to_a_page_of_this_site(
    app: Flask, admin_client: Any, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")
    _, _, payout_id = redeem(app)
    details = admin_client.get(f"{PAYOUTS}details/?id={payout_id}").get_data(as_text=True)
    own_page = html.unescape(re.search(r'name="url" value="([^"]*)"', details)[1])  # type: ignore[index]
    for back_to, landing in (
        ("/\t/evil.example", PAYOUTS),
        ("//evil.example", PAYOUTS),
        ("http://evil.example/", PAYOUTS),
        (own_page, f"{PAYOUTS}details/?id={payout_id}"),  # the details page's own form
    ):
        response = admin_client.post(
            PAYOUTS + "retry/",
            data={"id": payout_id, "url": back_to, "csrf_token": csrf_token(admin_client)},
        )
        assert (response.status_code, response.headers["Location"]) == (302, landing), back_to
