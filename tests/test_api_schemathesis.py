"""schemathesis against our own OpenAPI document, with a customer logged in: every check passes.

The cases come from the document (valid ones and ones it says are invalid), are sent to the WSGI
app in process, and each response is checked by every check schemathesis has: no 5xx, status
codes, content types, headers and bodies as documented, invalid input refused. The number of
requests is printed (run with ``-s``) and bounded so the run adds little time.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode

from tests.support.clients import csrf_token, log_in
from tests.support.factories import Rows

#: Examples per generation mode; each is one request.
EXAMPLES = 40


@pytest.mark.backends("sqlite", "postgresql")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_its_openapi_document(app: Flask, mode: GenerationMode) -> None:
    shop = Rows(app)
    alice = shop.customer()
    shop.earn(alice, 10_000)
    for cost in (5, 50_000):
        shop.campaign(cost_in_points=cost)
    client = app.test_client()
    log_in(client, alice)
    headers = {"X-CSRFToken": csrf_token(client)}
    cookie = client.get_cookie("session")
    assert cookie is not None
    cookies = {"session": cookie.value}
    schema = schemathesis.openapi.from_wsgi("/loyalty/api/openapi.json", app)
    load_all_checks()
    checks = CHECKS.get_all()
    statuses: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=schema.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        response = case.call(headers=headers, cookies=cookies)
        statuses.append(response.status_code)
        case.validate_response(response, checks=checks, headers=headers)

    call()
    print(f"schemathesis ({mode.value}, {len(checks)} checks): {len(statuses)} requests")
    assert statuses and 401 not in statuses  # the customer stayed logged in throughout
    assert shop.verify() == []
