"""Fuzzing every API route and client form: malformed input is a 4xx, never a 500, never a write.

The customer has 50 points and every reward costs 100, so no request can legitimately change the
ledger; any change (or any 5xx) is a bug.
"""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.clients import csrf_token, log_in
from tests.support.factories import Rows

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ID = st.one_of(
    st.integers(min_value=-5, max_value=2**70).map(str),
    # other scripts' digits (Arabic-Indic, fullwidth): never read as a number
    st.lists(st.sampled_from("\u0661\u0665\uff11\uff15"), min_size=1, max_size=3).map("".join),
    st.text(string.ascii_letters + string.digits + "-_.~%", min_size=1, max_size=12),
)
ROUTES = st.one_of(
    st.just("/loyalty/api/rewards"),
    st.just("/loyalty/api/redeemed-rewards"),
    ID.map(lambda i: f"/loyalty/api/redeemed-rewards/{quote(i)}"),
    st.just("/loyalty/api/points"),
    st.just("/loyalty/api/openapi.json"),
    st.text(string.ascii_lowercase + "/-", max_size=15).map(lambda p: f"/loyalty/api/{p}"),
    st.just("/loyalty/"),
    st.just("/loyalty/my-rewards"),
    ID.map(lambda i: f"/loyalty/my-rewards/{quote(i)}"),
    ID.map(lambda i: f"/loyalty/rewards/{quote(i)}/redeem"),
)
LATIN1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
REDEEM_LIKE = st.fixed_dictionaries(
    {"campaign_id": JSON_VALUES | st.integers()},
    optional={"customer_id": st.integers(), "quantity": JSON_VALUES},
)
BODIES = st.one_of(
    st.none(),
    st.binary(max_size=64),
    (JSON_VALUES | REDEEM_LIKE).map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["csrf_token", "idempotency_key", "campaign_id", "x"]), LATIN1, max_size=3
    ).map(lambda form: "&".join(f"{quote(k)}={quote(v)}" for k, v in form.items()).encode()),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-16",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
    ]
)
QUERY = st.dictionaries(
    st.sampled_from(["page", "per_page", "redeemed", "q"]), LATIN1 | ID, max_size=3
)


@pytest.fixture
def setup(app: Flask) -> dict[str, Any]:
    shop = Rows(app)
    alice, bob = shop.customer(), shop.customer()
    shop.earn(bob, 500)
    cheap = shop.campaign(cost_in_points=20)
    shop.redeem(bob, cheap)
    for _ in range(2):
        shop.campaign(cost_in_points=100)
    shop.earn(alice, 50)
    client = app.test_client()
    log_in(client, alice)
    return {
        "shop": shop,
        "client": client,
        "anonymous": app.test_client(),
        "token": csrf_token(client),
        "before": shop.ledger_state(),
    }


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(METHODS),
    path=ROUTES,
    query=QUERY,
    body=BODIES,
    content_type=CONTENT_TYPES,
    csrf=st.sampled_from(["valid", "forged", "none"]),
    idempotency_key=st.none() | LATIN1,
    logged_in=st.booleans(),
)
def test_malformed_requests_never_fail_with_500_nor_write(
    setup: dict[str, Any],
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes | None,
    content_type: str | None,
    csrf: str,
    idempotency_key: str | None,
    logged_in: bool,
) -> None:
    shop: Rows = setup["shop"]
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if csrf != "none":
        headers["X-CSRFToken"] = setup["token"] if csrf == "valid" else "forged"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    client = setup["client"] if logged_in else setup["anonymous"]
    response = client.open(path, method=method, query_string=query, data=body, headers=headers)
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    if path.startswith("/loyalty/api/") and response.status_code >= 400:
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "details"}
    response.close()
    assert shop.ledger_state() == setup["before"]
