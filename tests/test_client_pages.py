"""The client cockpit pages: rewards, confirmation, redeeming, my rewards, one reward."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from decimal import Decimal
from typing import Any

import jinja2
import pytest
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from flask_loyalty_rewards import DeliveryStatus, RewardType
from tests import host
from tests.support.clients import confirm_form, log_in
from tests.support.factories import Rows

UTC = dt.timezone.utc
CASHBACK = {"reward_type": RewardType.CASHBACK, "reward_value": Decimal("5.00")}


def text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def card_html(page: str, campaign_id: int) -> str:
    """The HTML of one reward's card on the rewards page, as served."""
    found = re.search(rf'<li class="lr-card" id="lr-reward-{campaign_id}".*?</li>', page, re.S)
    assert found is not None, f"no card for reward {campaign_id}"
    return found.group(0)


def card(response: Any, campaign_id: int) -> str:
    """One reward's card with entities decoded, to compare with the texts people read."""
    return html.unescape(card_html(response.get_data(as_text=True), campaign_id))


# -- who may see the pages ----------------------------------------------------------------------


def test_anonymous_visitor_gets_401_without_a_login_endpoint(app: Flask) -> None:
    for url in ("/loyalty/", "/loyalty/my-rewards", "/loyalty/rewards/1/redeem"):
        assert app.test_client().get(url).status_code == 401


def test_anonymous_visitor_is_sent_to_the_hosts_login_and_back(variant: Any) -> None:
    other = variant(LOYALTY_LOGIN_ENDPOINT="shop_login")
    other.add_url_rule("/login", "shop_login", lambda: "login page")
    response = other.test_client().get("/loyalty/my-rewards?page=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/loyalty/my-rewards?page%3D2"


def test_anonymous_post_redeem_redeems_nothing(app: Flask, shop: Rows) -> None:
    campaign = shop.campaign()
    assert app.test_client().post(f"/loyalty/rewards/{campaign}/redeem").status_code == 401
    assert shop.ledger_state()[3] == []


def test_client_pages_can_be_switched_off(variant: Any) -> None:
    other = variant(LOYALTY_CLIENT_ENABLED=False)
    assert other.test_client().get("/loyalty/").status_code == 404
    assert other.test_client().get("/loyalty/api/rewards").status_code == 404


def test_pages_follow_the_configured_url_prefix(variant: Any, shop: Rows) -> None:
    other = variant(LOYALTY_URL_PREFIX="/club")
    client = other.test_client()
    log_in(client, shop.customer())
    assert client.get("/club/").status_code == 200
    assert client.get("/loyalty/").status_code == 404


# -- the rewards page ---------------------------------------------------------------------------


def test_rewards_page_lists_visible_rewards_with_name_type_description_and_cost(
    client: Any, shop: Rows, frozen_clock: Any
) -> None:
    now = frozen_clock()
    gift = shop.campaign(
        name="Mug", reward_type=RewardType.GIFT, description="A nice mug", cost_in_points=300
    )
    shop.campaign(name="Hidden", active=False)
    shop.campaign(name="Later", visible_from=now + dt.timedelta(days=1))
    shop.campaign(name="Gone", visible_to=now)
    response = client.get("/loyalty/")
    assert response.status_code == 200
    body = card(response, gift)
    assert "Mug" in body and "Gift" in body and "A nice mug" in body
    assert re.search(r"<strong>300</strong>\s*points", body)
    page = text(response)
    assert "Hidden" not in page and "Later" not in page and "Gone" not in page


def test_short_customer_sees_a_disabled_button_with_the_exact_tooltip(
    client: Any, shop: Rows, alice: int
) -> None:
    campaign = shop.campaign(cost_in_points=250)
    shop.earn(alice, 70)
    body = card(client.get("/loyalty/"), campaign)
    assert re.search(r"<button[^>]*disabled[^>]*aria-disabled=\"true\"", body)
    assert 'title="You must have 180 more points to get reward"' in body
    assert '<span class="lr-tip__bubble" role="tooltip" aria-hidden="true">' in body
    assert "You must have 180 more points to get reward</span>" in body
    assert 'action="/loyalty/rewards' not in body


def test_disabled_button_is_described_by_its_reason_for_screen_readers(
    client: Any, shop: Rows
) -> None:
    campaign = shop.campaign(cost_in_points=40)
    body = card(client.get("/loyalty/"), campaign)
    reason_id = f"lr-reward-{campaign}-reason"
    button = re.search(r"<button[^>]*>", body)
    assert button is not None and reason_id in button.group(0)
    assert re.search(rf'id="{reason_id}"[^>]*>You must have 40 more points to get reward<', body)
    assert re.search(r'<span class="lr-tip" tabindex="0"', body), "reason reachable by keyboard"


def test_customer_with_enough_points_gets_a_redeem_button_to_the_confirmation(
    client: Any, shop: Rows, alice: int
) -> None:
    campaign = shop.campaign(cost_in_points=100)
    shop.earn(alice, 100)
    body = card(client.get("/loyalty/"), campaign)
    assert f'action="/loyalty/rewards/{campaign}/redeem"' in body
    assert "disabled" not in body


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"active_from": dt.datetime(2026, 4, 1, tzinfo=UTC)}, "cannot be redeemed yet"),
        ({"active_to": dt.datetime(2026, 2, 1, tzinfo=UTC)}, "can no longer be redeemed"),
        ({"total_limit": 1, "redeemed_count": 1}, "sold out"),
    ],
)
def test_other_reasons_are_shown_in_plain_words_with_the_button_disabled(
    client: Any, shop: Rows, alice: int, frozen_clock: Any, fields: dict[str, Any], words: str
) -> None:
    campaign = shop.campaign(cost_in_points=10, **fields)
    shop.earn(alice, 500)
    body = card(client.get("/loyalty/"), campaign)
    assert words in body
    assert re.search(r"<button[^>]*disabled", body)
    assert "lr-sr-only" not in body, "other reasons are visible, not only in the tooltip"


def test_a_reward_not_started_still_says_how_many_points_are_missing(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    campaign = shop.campaign(cost_in_points=100, active_from=dt.datetime(2026, 4, 1, tzinfo=UTC))
    shop.earn(alice, 30)
    body = card(client.get("/loyalty/"), campaign)
    assert 'data-reasons="not_started not_enough_points"' in body
    assert "This reward cannot be redeemed yet. You must have 70 more points to get reward" in body


def test_a_cashback_without_an_amount_is_not_offered(client: Any, shop: Rows, alice: int) -> None:
    campaign = shop.cashback_without_amount(cost_in_points=10)
    shop.earn(alice, 500)
    body = card(client.get("/loyalty/"), campaign)
    assert re.search(r"<button[^>]*disabled", body)
    assert "This cashback reward has no amount configured." in body


def test_reaching_the_per_customer_limit_disables_the_reward(
    client: Any, shop: Rows, alice: int
) -> None:
    campaign = shop.campaign(cost_in_points=10, per_customer_limit=1)
    shop.earn(alice, 500)
    shop.redeem(alice, campaign)
    body = card(client.get("/loyalty/"), campaign)
    assert "You have reached the limit for this reward." in body
    assert re.search(r"<button[^>]*disabled", body)


def test_points_summary_shows_active_pending_and_next_expiry(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    now = frozen_clock()
    shop.earn(alice, 120, expires_at=now + dt.timedelta(days=10))
    shop.earn(alice, 30)
    shop.earn(alice, 45, available_from=now + dt.timedelta(days=3))
    page = text(client.get("/loyalty/"))
    assert re.search(r"Active points</dt>\s*<dd[^>]*>150<", page)
    assert re.search(r"Points pending</dt>\s*<dd[^>]*>45<", page)
    assert "120 points on" in page and "2026-03-11 12:00 UTC" in page


# -- confirming and redeeming -------------------------------------------------------------------


def test_confirmation_page_shows_cost_and_balance_afterwards(
    client: Any, shop: Rows, alice: int
) -> None:
    campaign = shop.campaign(name="Free shipping", cost_in_points=100)
    shop.earn(alice, 130)
    page = text(client.get(f"/loyalty/rewards/{campaign}/redeem"))
    assert "Redeem Free shipping?" in page
    assert "Active points afterwards</dt><dd>30<" in page
    assert "Confirm: spend 100 points" in page


def test_confirmation_of_a_hidden_or_unknown_reward_is_404(client: Any, shop: Rows) -> None:
    hidden = shop.campaign(active=False)
    for campaign_id in (hidden, 999_999, 2**40):
        assert client.get(f"/loyalty/rewards/{campaign_id}/redeem").status_code == 404


def test_redeeming_redirects_to_the_result_with_code_and_new_balance(
    client: Any, shop: Rows, alice: int
) -> None:
    campaign = shop.campaign(cost_in_points=100)
    shop.earn(alice, 130)
    response = client.post(
        f"/loyalty/rewards/{campaign}/redeem", data=confirm_form(client, campaign)
    )
    assert response.status_code == 303
    [redeemed] = shop.redeemed_ids(alice)
    assert response.headers["Location"] == f"/loyalty/my-rewards/{redeemed}?redeemed=1"
    page = text(client.get(response.headers["Location"]))
    assert "Reward redeemed: 10% off" in page
    assert 'class="lr-balance">30<' in page
    code = re.search(r'lr-coupon__code">([^<]+)<', page)
    assert code is not None and len(code.group(1)) >= 8
    assert shop.active_points(alice) == 30


def test_resubmitting_the_same_form_redeems_once(client: Any, shop: Rows, alice: int) -> None:
    campaign = shop.campaign(cost_in_points=100)
    shop.earn(alice, 500)
    form = confirm_form(client, campaign)
    first = client.post(f"/loyalty/rewards/{campaign}/redeem", data=form)
    again = client.post(f"/loyalty/rewards/{campaign}/redeem", data=form)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(shop.redeemed_ids(alice)) == 1
    assert shop.active_points(alice) == 400


def test_each_confirmation_page_gets_a_new_one_time_token(
    client: Any, shop: Rows, alice: int
) -> None:
    campaign = shop.campaign()
    shop.earn(alice, 100)
    first = confirm_form(client, campaign)["idempotency_key"]
    second = confirm_form(client, campaign)["idempotency_key"]
    assert first != second and len(first) >= 16


def test_posting_without_the_csrf_token_is_refused_and_redeems_nothing(
    client: Any, shop: Rows, alice: int
) -> None:
    campaign = shop.campaign(cost_in_points=10)
    shop.earn(alice, 100)
    form = confirm_form(client, campaign)
    response = client.post(
        f"/loyalty/rewards/{campaign}/redeem", data={"idempotency_key": form["idempotency_key"]}
    )
    assert response.status_code == 400
    assert "CSRF token is missing" in text(response)
    assert shop.redeemed_ids(alice) == []


@pytest.mark.parametrize("body", ["true", "[1]", "[[1, 2, 3]]", "null", "the form as JSON"])
def test_a_json_body_is_not_a_form_and_redeems_nothing(
    client: Any, shop: Rows, alice: int, body: str
) -> None:
    """Pages read what a browser posts; the JSON API is where JSON goes."""
    campaign = shop.campaign(cost_in_points=10)
    shop.earn(alice, 100)
    form = confirm_form(client, campaign)
    data = json.dumps(form) if body == "the form as JSON" else body
    response = client.post(
        f"/loyalty/rewards/{campaign}/redeem", data=data, content_type="application/json"
    )
    assert response.status_code == 400
    assert "CSRF token is missing" in text(response)
    assert shop.redeemed_ids(alice) == []


@pytest.mark.parametrize("token", ["", "short", "x" * 65, "has spaces in it!!!!"])
def test_posting_without_a_valid_one_time_token_is_refused(
    client: Any, shop: Rows, alice: int, token: str
) -> None:
    campaign = shop.campaign(cost_in_points=10)
    shop.earn(alice, 100)
    form = confirm_form(client, campaign) | {"idempotency_key": token}
    response = client.post(f"/loyalty/rewards/{campaign}/redeem", data=form)
    assert response.status_code == 400
    assert "The form has expired; please confirm again." in text(response)
    assert shop.redeemed_ids(alice) == []


def test_redeeming_short_of_points_shows_why_and_redeems_nothing(
    client: Any, shop: Rows, alice: int
) -> None:
    campaign = shop.campaign(cost_in_points=100)
    shop.earn(alice, 100)
    form = confirm_form(client, campaign)
    shop.redeem(alice, shop.campaign(cost_in_points=50))  # spent meanwhile, in another tab
    response = client.post(f"/loyalty/rewards/{campaign}/redeem", data=form)
    assert response.status_code == 409
    assert "You must have 50 more points to get reward" in text(response)
    assert len(shop.redeemed_ids(alice)) == 1


def test_posting_for_an_unknown_reward_is_404(client: Any, shop: Rows, alice: int) -> None:
    campaign = shop.campaign()
    shop.earn(alice, 100)
    form = confirm_form(client, campaign)
    assert client.post("/loyalty/rewards/999999/redeem", data=form).status_code == 404


def test_redeeming_works_under_the_hosts_csrfprotect(variant: Any, shop: Rows) -> None:
    other = variant()
    CSRFProtect(other)
    client = other.test_client()
    customer = shop.customer()
    log_in(client, customer)
    campaign = shop.campaign(cost_in_points=10)
    shop.earn(customer, 10)
    assert client.post(f"/loyalty/rewards/{campaign}/redeem", data={}).status_code == 400
    form = confirm_form(client, campaign)
    assert client.post(f"/loyalty/rewards/{campaign}/redeem", data=form).status_code == 303
    assert len(shop.redeemed_ids(customer)) == 1


# -- my rewards ---------------------------------------------------------------------------------


def test_my_rewards_lists_own_rewards_newest_first_with_pages(
    app: Flask, client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    app.config["LOYALTY_CLIENT_PAGE_SIZE"] = 2
    bob = shop.customer()
    shop.earn(alice, 1000)
    shop.earn(bob, 1000)
    for name in ("First", "Second", "Third"):
        shop.redeem(alice, shop.campaign(name=name, cost_in_points=10))
        frozen_clock.advance(hours=1)
    shop.redeem(bob, shop.campaign(name="Bobs", cost_in_points=10))
    first = text(client.get("/loyalty/my-rewards"))
    assert first.index("Third") < first.index("Second")
    assert "First" not in first and "Bobs" not in first
    assert "Page 1 of 2" in first and 'href="/loyalty/my-rewards?page=2" rel="next"' in first
    second = text(client.get("/loyalty/my-rewards?page=2"))
    assert "First" in second and "Third" not in second


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999"])
def test_my_rewards_treats_a_nonsense_page_number_as_the_first(client: Any, page: str) -> None:
    assert client.get(f"/loyalty/my-rewards?page={page}").status_code == 200


def test_my_rewards_shows_code_date_status_and_usage(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    shop.earn(alice, 1000)
    rid = shop.redeem(alice, shop.campaign(cost_in_points=10, days_valid=5))
    shop.run(lambda session, models: host.loyalty.mark_used(rid))
    code = shop.get("RedeemedReward", rid).coupon_code
    row = text(client.get("/loyalty/my-rewards"))
    assert code in row
    assert "2026-03-01 12:00 UTC" in row
    assert "Active</span>" in row and "Used" in row


def test_my_rewards_shows_an_expired_coupon_before_the_expiry_job_runs(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    shop.earn(alice, 1000)
    shop.redeem(alice, shop.campaign(cost_in_points=10, days_valid=5))
    frozen_clock.advance(days=6)
    page = text(client.get("/loyalty/my-rewards"))
    assert "lr-status--expired" in page and "Not used" in page


def test_my_rewards_shows_gift_delivery_and_cashback_status(
    client: Any, shop: Rows, alice: int
) -> None:
    shop.earn(alice, 1000)
    gift = shop.redeem(alice, shop.campaign(name="Mug", reward_type=RewardType.GIFT))
    shop.run(lambda session, models: host.loyalty.mark_used(gift))
    shop.run(lambda session, models: host.loyalty.set_delivery_status(gift, DeliveryStatus.SHIPPED))
    cash = shop.redeem(alice, shop.campaign(name="Cash", **CASHBACK))
    shop.set_cashback_status(cash, "3: 402: Waiting for the bank")
    page = text(client.get("/loyalty/my-rewards"))
    assert "<td>Shipped</td>" in page
    assert "<td>3: 402: Waiting for the bank</td>" in page


def test_someone_elses_reward_is_not_found(client: Any, shop: Rows) -> None:
    bob = shop.customer()
    shop.earn(bob, 100)
    theirs = shop.redeem(bob, shop.campaign())
    assert client.get(f"/loyalty/my-rewards/{theirs}").status_code == 404
    assert client.get("/loyalty/my-rewards/99999").status_code == 404
    assert client.get(f"/loyalty/my-rewards/{2**40}").status_code == 404


@pytest.mark.parametrize(
    ("reward_type", "next_step"),
    [
        (RewardType.GIFT, "We will send your gift to"),
        (RewardType.CASHBACK, "Your cashback will be paid out"),
        (RewardType.VALUE_CODE, "Enter this code at checkout"),
    ],
)
def test_reward_page_says_what_happens_next(
    client: Any, shop: Rows, alice: int, reward_type: RewardType, next_step: str
) -> None:
    shop.earn(alice, 100)
    extra = CASHBACK if reward_type is RewardType.CASHBACK else {"reward_type": reward_type}
    rid = shop.redeem(alice, shop.campaign(**extra))
    page = text(client.get(f"/loyalty/my-rewards/{rid}"))
    assert next_step in page
    assert "Reward redeemed" not in page


# -- templates ----------------------------------------------------------------------------------


def test_host_overrides_a_page_template_at_the_same_path(app: Flask, client: Any) -> None:
    app.jinja_loader = jinja2.DictLoader(  # type: ignore[method-assign]
        {"loyalty_rewards/rewards.html": "Our own rewards page: {{ campaigns|length }} rewards"}
    )
    # The shared app may have rendered the page in an earlier test: its compiled copy is cached.
    app.jinja_env.cache.clear()  # type: ignore[union-attr]
    assert client.get("/loyalty/").get_data(as_text=True) == "Our own rewards page: 0 rewards"


def test_pages_extend_the_configured_base_template(app: Flask, client: Any) -> None:
    app.config["LOYALTY_BASE_TEMPLATE"] = "shop/layout.html"
    app.jinja_loader = jinja2.DictLoader(  # type: ignore[method-assign]
        {"shop/layout.html": "<header>Rows</header>{% block content %}{% endblock %}"}
    )
    page = client.get("/loyalty/my-rewards").get_data(as_text=True)
    assert page.startswith("<header>Rows</header>")
    assert "<h1>My rewards</h1>" in page
    assert "/loyalty/static/loyalty_rewards/cockpit.css" in page


def test_stylesheet_is_served(client: Any) -> None:
    response = client.get("/loyalty/static/loyalty_rewards/cockpit.css")
    assert response.status_code == 200 and b".lr-tip__bubble" in response.data
    response.close()


def test_reward_names_and_descriptions_are_escaped(client: Any, shop: Rows) -> None:
    campaign = shop.campaign(name="<script>alert(1)</script>", description='"><img src=x>')
    page = client.get("/loyalty/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card_html(page, campaign)
