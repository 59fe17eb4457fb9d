"""Two requests with one Idempotency-Key at the same moment: one redemption, one answer."""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.request
from typing import Any

import pytest
from flask import Flask

from tests.support.factories import Rows

pytestmark = pytest.mark.concurrency


def opener_for(live_server: str, customer_id: int) -> tuple[Any, str]:
    """A cookie-keeping HTTP client logged in as the customer, and its CSRF token."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    opener.open(f"{live_server}/_test/login/{customer_id}").read()
    page = opener.open(f"{live_server}/loyalty/").read().decode()
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert token is not None
    return opener, token.group(1)


def test_simultaneous_retries_with_one_key_redeem_once(app: Flask, live_server: str) -> None:
    shop = Rows(app)
    customer = shop.customer()
    shop.earn(customer, 1000)
    campaign = shop.campaign(cost_in_points=100)
    opener, token = opener_for(live_server, customer)
    start = threading.Barrier(4)
    answers: list[tuple[int, dict[str, Any]]] = []

    def send() -> None:
        request = urllib.request.Request(
            f"{live_server}/loyalty/api/redeemed-rewards",
            data=json.dumps({"campaign_id": campaign}).encode(),
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": token,
                "Idempotency-Key": "checkout-7",
            },
            method="POST",
        )
        start.wait()
        try:
            with opener.open(request) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, json.loads(exc.read())))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [status for status, _ in answers] == [201] * 4, answers
    assert len({body["id"] for _, body in answers}) == 1
    assert len(shop.redeemed_ids(customer)) == 1
    assert shop.active_points(customer) == 900
    assert shop.verify() == []


def test_simultaneous_submits_of_one_confirmation_form_redeem_once(
    app: Flask, live_server: str
) -> None:
    shop = Rows(app)
    customer = shop.customer()
    shop.earn(customer, 1000)
    campaign = shop.campaign(cost_in_points=100)
    opener, _ = opener_for(live_server, customer)
    confirm = opener.open(f"{live_server}/loyalty/rewards/{campaign}/redeem").read().decode()
    form = dict(re.findall(r'name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"', confirm))
    start = threading.Barrier(4)
    answers: list[tuple[int, str]] = []

    def send() -> None:
        request = urllib.request.Request(
            f"{live_server}/loyalty/rewards/{campaign}/redeem",
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
        )
        start.wait()
        try:
            with opener.open(request) as response:
                answers.append((response.status, response.url))
        except urllib.error.HTTPError as exc:
            alert = re.search(r'role="alert">([^<]*)<', exc.read().decode())
            answers.append((exc.code, alert.group(1) if alert else ""))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [status for status, _ in answers] == [200] * 4, answers
    assert len({url for _, url in answers}) == 1
    assert len(shop.redeemed_ids(customer)) == 1
    assert shop.active_points(customer) == 900
