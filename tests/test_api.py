"""The JSON API: rewards, redeeming with idempotency keys, my rewards, my points, errors, CSRF."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from tests import host
from tests.support.apps import dispose
from tests.support.clients import csrf_token, log_in
from tests.support.factories import Rows

API = "/loyalty/api"


@pytest.fixture
def csrf(client: Any) -> dict[str, str]:
    return {"X-CSRFToken": csrf_token(client)}


def redeem(client: Any, campaign_id: Any, headers: dict[str, str], **kwargs: Any) -> Any:
    return client.post(
        f"{API}/redeemed-rewards", json={"campaign_id": campaign_id}, headers=headers, **kwargs
    )


def error_of(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])


# -- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/rewards"),
        ("POST", "/redeemed-rewards"),
        ("GET", "/redeemed-rewards"),
        ("GET", "/redeemed-rewards/1"),
        ("GET", "/points"),
    ],
)
def test_anonymous_caller_gets_401_in_the_error_shape(app: Flask, method: str, url: str) -> None:
    response = app.test_client().open(API + url, method=method, json={})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


# -- rewards ------------------------------------------------------------------------------------


def test_rewards_say_points_needed_whether_redeemable_and_why_not(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    cheap = shop.campaign(name="Cheap", cost_in_points=50)
    dear = shop.campaign(name="Dear", cost_in_points=200)
    later = shop.campaign(
        name="Later", cost_in_points=60, active_from=frozen_clock() + dt.timedelta(days=2)
    )
    shop.campaign(name="Hidden", active=False)
    shop.earn(alice, 80)
    items = {item["id"]: item for item in client.get(f"{API}/rewards").get_json()["items"]}
    assert set(items) == {cheap, dear, later}
    assert items[cheap] | {"id": 0} == {
        "id": 0,
        "name": "Cheap",
        "description": "Ten percent off your next order",
        "reward_type": "discount_code",
        "reward_type_label": "Discount code",
        "cost_in_points": 50,
        "points_needed": 0,
        "can_redeem": True,
        "reason": None,
        "reasons": [],
        "message": None,
        "active_from": None,
        "active_to": None,
    }
    assert (items[dear]["can_redeem"], items[dear]["reason"]) == (False, "not_enough_points")
    assert items[dear]["points_needed"] == 120
    assert items[dear]["message"] == "You must have 120 more points to get reward"
    assert (items[later]["can_redeem"], items[later]["reason"]) == (False, "not_started")
    assert items[later]["active_from"] == "2026-03-03T12:00:00+00:00"


def test_rewards_report_every_blocker_not_only_the_first(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    later = shop.campaign(cost_in_points=100, active_from=frozen_clock() + dt.timedelta(days=2))
    shop.earn(alice, 30)
    item = client.get(f"{API}/rewards").get_json()["items"][0]
    assert item["id"] == later
    assert (item["reason"], item["reasons"]) == (
        "not_started",
        ["not_started", "not_enough_points"],
    )
    assert item["message"] == (
        "This reward cannot be redeemed yet. You must have 70 more points to get reward"
    )


def test_a_cashback_reward_without_an_amount_cannot_be_redeemed(
    client: Any, shop: Rows, alice: int
) -> None:
    shop.cashback_without_amount(cost_in_points=10)
    shop.earn(alice, 500)
    item = client.get(f"{API}/rewards").get_json()["items"][0]
    assert (item["can_redeem"], item["reasons"]) == (False, ["cashback_not_configured"])


# -- redeeming ----------------------------------------------------------------------------------


def test_redeem_answers_201_with_the_redeemed_reward(
    client: Any, shop: Rows, alice: int, csrf: dict[str, str], frozen_clock: Any
) -> None:
    campaign = shop.campaign(cost_in_points=100, days_inactive=1, days_valid=30)
    shop.earn(alice, 150)
    response = redeem(client, campaign, csrf)
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"{API}/redeemed-rewards/{body['id']}"
    assert "Idempotent-Replayed" not in response.headers
    assert body["campaign_id"] == campaign
    assert body["cost_in_points"] == 100 and body["active_points_after"] == 50
    assert body["coupon_status"] == "inactive" and body["used"] is False
    assert body["redeemed_at"] == "2026-03-01T12:00:00+00:00"
    assert body["active_to"] == "2026-04-01T12:00:00+00:00"
    assert body["delivery_status"] is None and body["cashback_status"] is None
    assert len(body["coupon_code"]) >= 8
    assert shop.active_points(alice) == 50


def test_same_idempotency_key_replays_the_original_result(
    client: Any, shop: Rows, alice: int, csrf: dict[str, str]
) -> None:
    campaign = shop.campaign(cost_in_points=100)
    shop.earn(alice, 500)
    headers = csrf | {"Idempotency-Key": "order-42-attempt"}
    first = redeem(client, campaign, headers)
    again = redeem(client, campaign, headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(shop.redeemed_ids(alice)) == 1
    assert shop.active_points(alice) == 400


def test_same_idempotency_key_for_another_request_is_409(
    client: Any, shop: Rows, alice: int, csrf: dict[str, str]
) -> None:
    shop.earn(alice, 500)
    headers = csrf | {"Idempotency-Key": "k-1"}
    assert redeem(client, shop.campaign(), headers).status_code == 201
    response = redeem(client, shop.campaign(name="Other"), headers)
    assert response.status_code == 409
    assert error_of(response)["code"] == "idempotency_conflict"
    assert len(shop.redeemed_ids(alice)) == 1


def test_idempotency_keys_are_per_customer(
    app: Flask, client: Any, shop: Rows, alice: int, csrf: dict[str, str]
) -> None:
    bob = shop.customer()
    campaign = shop.campaign()
    shop.earn(alice, 100)
    shop.earn(bob, 100)
    assert redeem(client, campaign, csrf | {"Idempotency-Key": "same"}).status_code == 201
    other = app.test_client()
    log_in(other, bob)
    response = redeem(
        other, campaign, {"X-CSRFToken": csrf_token(other), "Idempotency-Key": "same"}
    )
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert len(shop.redeemed_ids(bob)) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "naïve"])
def test_an_unusable_idempotency_key_is_400(
    client: Any, shop: Rows, alice: int, csrf: dict[str, str], key: str
) -> None:
    shop.earn(alice, 500)
    response = redeem(client, shop.campaign(), csrf | {"Idempotency-Key": key})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_idempotency_key"
    assert shop.redeemed_ids(alice) == []


def test_redeem_short_of_points_is_409_with_points_needed(
    client: Any, shop: Rows, alice: int, csrf: dict[str, str]
) -> None:
    shop.earn(alice, 30)
    response = redeem(client, shop.campaign(cost_in_points=150), csrf)
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_enough_points"
    assert error["message"] == "You must have 120 more points to get reward"
    assert error["details"]["points_needed"] == 120


def test_redeem_of_an_unavailable_reward_is_409_with_the_reason(
    client: Any, shop: Rows, alice: int, csrf: dict[str, str]
) -> None:
    shop.earn(alice, 500)
    response = redeem(client, shop.campaign(total_limit=1, redeemed_count=1), csrf)
    assert response.status_code == 409
    error = error_of(response)
    assert (error["code"], error["details"]["reason"]) == ("reward_unavailable", "sold_out")


def test_redeem_of_an_unknown_reward_is_404(client: Any, csrf: dict[str, str]) -> None:
    response = redeem(client, 424242, csrf)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    "fields",
    [{"active": False}, {"visible_to": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}],
    ids=["inactive", "not_visible"],
)
def test_redeem_of_a_reward_the_customer_may_not_see_is_404_like_an_unknown_one(
    client: Any, shop: Rows, alice: int, csrf: dict[str, str], frozen_clock: Any, fields: Any
) -> None:
    shop.earn(alice, 500)
    hidden = shop.campaign(**fields)
    response = redeem(client, hidden, csrf)
    assert response.status_code == 404
    unknown = redeem(client, 424242, csrf).get_json()["error"]
    assert error_of(response) == unknown | {"details": {"campaign_id": hidden}}
    assert shop.redeemed_ids(alice) == []


def test_malformed_json_is_400(client: Any, csrf: dict[str, str]) -> None:
    response = client.post(
        f"{API}/redeemed-rewards",
        data=b'{"campaign_id": 1',
        headers=csrf | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


def test_a_body_that_is_not_json_is_415(client: Any, csrf: dict[str, str]) -> None:
    response = client.post(f"{API}/redeemed-rewards", data={"campaign_id": "1"}, headers=csrf)
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"campaign_id": 1, "customer_id": 2}, "customer_id", "Unknown field."),
        ({"campaign_id": "1"}, "campaign_id", "Not a valid integer."),
        ({"campaign_id": 1.5}, "campaign_id", "Not a valid integer."),
        ({"campaign_id": True}, "campaign_id", "Not a valid integer."),
        ({"campaign_id": 2**40}, "campaign_id", None),
        ({"campaign_id": 0}, "campaign_id", None),
        ({}, "campaign_id", "Missing data for required field."),
        ([1], "_schema", "Invalid input type."),
    ],
)
def test_invalid_fields_are_422_and_name_the_field(
    client: Any, csrf: dict[str, str], body: Any, field: str, message: str | None
) -> None:
    response = client.post(f"{API}/redeemed-rewards", json=body, headers=csrf)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in error["details"]["fields"]
    if message:
        assert error["details"]["fields"][field] == [message]


# -- CSRF ---------------------------------------------------------------------------------------


def test_session_client_without_csrf_header_is_refused(client: Any, shop: Rows, alice: int) -> None:
    shop.earn(alice, 500)
    for headers in ({}, {"X-CSRFToken": "forged"}):
        response = redeem(client, shop.campaign(), headers)
        assert response.status_code == 400
        assert error_of(response)["code"] == "csrf_failed"
    assert shop.redeemed_ids(alice) == []


def test_host_csrfprotect_guards_the_api_in_the_error_shape(variant: Any, shop: Rows) -> None:
    other = variant()
    CSRFProtect(other)
    client = other.test_client()
    customer = shop.customer()
    log_in(client, customer)
    shop.earn(customer, 100)
    campaign = shop.campaign()
    response = redeem(client, campaign, {})
    assert response.status_code == 400 and error_of(response)["code"] == "csrf_failed"
    assert redeem(client, campaign, {"X-CSRFToken": csrf_token(client)}).status_code == 201


@pytest.mark.parametrize("protect_before_loyalty", [True, False])
def test_api_csrf_exempt_config_exempts_it_from_the_hosts_csrfprotect(
    database_url: str, app: Flask, shop: Rows, protect_before_loyalty: bool
) -> None:
    other = Flask("exempt_host")
    other.config.update(
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS=host.engine_options(database_url),
        LOYALTY_API_CSRF_EXEMPT=True,
    )
    host.db.init_app(other)
    if protect_before_loyalty:
        CSRFProtect(other)
    host.loyalty.init_app(other, db=host.db, models=host.models)
    if not protect_before_loyalty:
        CSRFProtect(other)
    host.add_test_login(other)
    try:
        client = other.test_client()
        customer = shop.customer()
        log_in(client, customer)
        shop.earn(customer, 100)
        assert redeem(client, shop.campaign(), {}).status_code == 201
    finally:
        dispose(other)


def test_api_csrf_exempt_config_without_csrfprotect_needs_no_token(
    variant: Any, shop: Rows
) -> None:
    other = variant(LOYALTY_API_CSRF_EXEMPT=True)
    client = other.test_client()
    customer = shop.customer()
    log_in(client, customer)
    shop.earn(customer, 100)
    assert redeem(client, shop.campaign(), {}).status_code == 201


# -- my redeemed rewards ------------------------------------------------------------------------


def test_my_redeemed_rewards_are_paginated_newest_first_in_a_stable_order(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    bob = shop.customer()
    shop.earn(alice, 1000)
    shop.earn(bob, 1000)
    campaign = shop.campaign(cost_in_points=10)
    mine = [shop.redeem(alice, campaign) for _ in range(5)]  # same instant: ties broken by id
    shop.redeem(bob, campaign)
    pages = [
        client.get(f"{API}/redeemed-rewards?per_page=2&page={n}").get_json() for n in (1, 2, 3)
    ]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [p["pages"] for p in pages] == [3, 3, 3]
    assert [item["id"] for p in pages for item in p["items"]] == mine[::-1]


def test_redeemed_rewards_show_status_as_time_made_it(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    shop.earn(alice, 100)
    rid = shop.redeem(alice, shop.campaign(days_valid=1))
    frozen_clock.advance(days=2)
    body = client.get(f"{API}/redeemed-rewards/{rid}").get_json()
    assert body["coupon_status"] == "expired"


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "per_page=101", "page=x", "page=1.5"])
def test_invalid_page_parameters_are_422(client: Any, query: str) -> None:
    response = client.get(f"{API}/redeemed-rewards?{query}")
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


def test_unknown_query_parameters_are_ignored(client: Any) -> None:
    assert client.get(f"{API}/redeemed-rewards?_=123").status_code == 200


def test_someone_elses_redeemed_reward_is_404(client: Any, shop: Rows) -> None:
    bob = shop.customer()
    shop.earn(bob, 100)
    theirs = shop.redeem(bob, shop.campaign())
    for url in (
        f"/redeemed-rewards/{theirs}",
        "/redeemed-rewards/777",
        f"/redeemed-rewards/{2**40}",
    ):
        response = client.get(API + url)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


# -- points -------------------------------------------------------------------------------------


def test_points_show_active_pending_and_lots_with_expiry(
    client: Any, shop: Rows, alice: int, frozen_clock: Any
) -> None:
    now = frozen_clock()
    shop.earn(alice, 100, expires_at=now + dt.timedelta(days=5), reason="Order 1")
    shop.earn(alice, 40, available_from=now + dt.timedelta(days=1))
    shop.earn(alice, 10, expires_at=now + dt.timedelta(days=1))
    frozen_clock.advance(days=2)  # the 10 expired, the 40 became active
    shop.earn(alice, 7, available_from=frozen_clock() + dt.timedelta(days=1))
    body = client.get(f"{API}/points").get_json()
    assert (body["active"], body["pending"]) == (140, 7)
    assert body["next_expiry"] == {"expires_at": "2026-03-06T12:00:00+00:00", "points": 100}
    lots = [(lot["points"], lot["expires_at"], lot["pending"]) for lot in body["lots"]]
    assert lots == [
        (100, "2026-03-06T12:00:00+00:00", False),
        (40, None, False),
        (7, None, True),
    ]
    assert body["lots"][0]["reason"] == "Order 1"


# -- errors of the API itself -------------------------------------------------------------------


def test_unknown_api_url_is_404_in_the_error_shape(client: Any) -> None:
    response = client.get(f"{API}/nothing/here")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_every_unknown_api_url_is_a_json_404_whatever_the_method(client: Any) -> None:
    for path in ("/nothing/here", "/", "", "/rewards/", "/redeemed-rewards/x"):
        for method in ("GET", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "HEAD"):
            response = client.open(API + path, method=method)
            assert (response.status_code, response.mimetype) == (404, "application/json"), (
                method,
                path,
            )
            if method != "HEAD":
                assert error_of(response)["code"] == "not_found"


def test_a_url_werkzeug_redirects_answers_in_json_with_the_location(client: Any) -> None:
    response = client.get(f"{API}//rewards")

    assert response.status_code == 308
    assert response.headers["Location"].endswith(f"{API}/rewards")
    assert error_of(response)["code"] == "moved"


def test_a_method_a_route_does_not_have_is_a_json_405(client: Any) -> None:
    for method in ("TRACE", "PUT", "PATCH", "DELETE", "PROPFIND"):
        response = client.open(f"{API}/rewards", method=method)
        assert response.status_code == 405, method
        assert error_of(response)["code"] == "method_not_allowed"
        assert response.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_options_advertises_only_the_methods_of_the_route(client: Any) -> None:
    for path, allowed in (
        ("/rewards", "GET, HEAD, OPTIONS"),
        ("/redeemed-rewards", "GET, HEAD, OPTIONS, POST"),
        ("/redeemed-rewards/1", "GET, HEAD, OPTIONS"),
        ("/openapi.json", "GET, HEAD, OPTIONS"),
    ):
        response = client.options(API + path)
        assert (response.status_code, response.headers["Allow"]) == (204, allowed), path
        assert response.get_data() == b""


def test_the_openapi_document_states_the_idempotency_key_pattern_the_server_enforces(
    client: Any,
) -> None:
    from flask_loyalty_rewards.client.schemas import IDEMPOTENCY_KEY_PATTERN

    operation = client.get(f"{API}/openapi.json").get_json()["paths"][f"{API}/redeemed-rewards"]
    (header,) = [p for p in operation["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["schema"]["pattern"] == IDEMPOTENCY_KEY_PATTERN
    pattern = re.compile(header["schema"]["pattern"])
    for key in ("with space", "k\u00e9y", "x" * 256, "tab\tkey"):
        assert not pattern.search(key)
    for key in ("3f2c9a1e-5b7d-4e2f-9c1a-0d8e7f6a5b4c", "!~", "x" * 255):
        assert pattern.search(key)


def test_wrong_method_is_405_in_the_error_shape(client: Any) -> None:
    response = client.delete(f"{API}/rewards")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_api_follows_the_configured_prefix(variant: Any, shop: Rows) -> None:
    other = variant(LOYALTY_API_PREFIX="/api/v1/loyalty")
    client = other.test_client()
    log_in(client, shop.customer())
    assert client.get("/api/v1/loyalty/rewards").status_code == 200
    paths = client.get("/api/v1/loyalty/openapi.json").get_json()["paths"]
    assert "/api/v1/loyalty/redeemed-rewards/{redeemed_id}" in paths


def test_api_answers_401_even_when_pages_redirect_to_a_login(variant: Any) -> None:
    other = variant(LOYALTY_LOGIN_ENDPOINT="shop_login")
    other.add_url_rule("/login", "shop_login", lambda: "login page")
    response = other.test_client().get(f"{API}/points")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_api_checks_csrf_itself_when_the_hosts_csrfprotect_checks_nothing_by_default(
    variant: Any, shop: Rows
) -> None:
    other = variant(WTF_CSRF_CHECK_DEFAULT=False)
    CSRFProtect(other)
    client = other.test_client()
    customer = shop.customer()
    log_in(client, customer)
    shop.earn(customer, 100)
    response = redeem(client, shop.campaign(), {})
    assert response.status_code == 400 and error_of(response)["code"] == "csrf_failed"
    assert shop.redeemed_ids(customer) == []
