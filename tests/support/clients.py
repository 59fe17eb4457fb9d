"""Test clients of the host shop: logging a customer in, and the tokens a browser would send."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.support.factories import Rows

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
FORM_FIELD = re.compile(r'name="(csrf_token|idempotency_key)"[^>]*value="([^"]*)"')


def log_in(client: Any, customer_id: int) -> Any:
    """Log the customer in for the test client, as the host's login would; returns the client."""
    with client.session_transaction() as flask_session:
        flask_session["customer_id"] = customer_id
    return client


@pytest.fixture
def client(app: Flask, alice: int) -> Any:
    """A test client logged in as ``alice``."""
    return log_in(app.test_client(), alice)


@pytest.fixture
def admin_client(app: Flask, shop: Rows) -> Any:
    """A test client logged in as a customer with is_admin=True (its id: ``admin_id``)."""
    admin_id = shop.admin()
    client = log_in(app.test_client(), admin_id)
    client.admin_id = admin_id
    return client


def csrf_token(client: Any) -> str:
    """The CSRF token the pages hand to scripts (for the API's X-CSRFToken header)."""
    page = client.get("/loyalty/")
    assert page.status_code == 200, page.status_code
    found = META_CSRF.search(page.get_data(as_text=True))
    assert found is not None
    return found.group(1)


def confirm_form(client: Any, campaign_id: int) -> dict[str, str]:
    """The hidden fields of a reward's confirmation form, as a browser would post them."""
    page = client.get(f"/loyalty/rewards/{campaign_id}/redeem")
    assert page.status_code == 200, page.status_code
    fields = dict(FORM_FIELD.findall(page.get_data(as_text=True)))
    assert set(fields) == {"csrf_token", "idempotency_key"}, fields
    return fields
