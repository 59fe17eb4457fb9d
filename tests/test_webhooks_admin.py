"""The webhook admin: endpoints with "Send test event", the delivery log with "Send again"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests import host
from tests.support.admin import csrf_token, flashes, grid
from tests.webhook_receiver import Receiver, receiver

ENDPOINTS = "/admin/loyalty/webhooks/endpoints/"
DELIVERIES = "/admin/loyalty/webhooks/deliveries/"


@pytest.fixture
def hooks(app: Flask) -> Iterator[Receiver]:
    app.config.update(LOYALTY_WEBHOOK_TIMEOUT=2)
    with receiver() as state:
        yield state


def endpoint_rows(app: Flask) -> list[Any]:
    with app.app_context():
        model = host.models.WebhookEndpoint
        return list(host.db.session.execute(sa.select(model)).scalars())


def add_endpoint(app: Flask, url: str) -> int:
    with app.app_context():
        return int(host.loyalty.add_webhook_endpoint(url).id)


def test_people_who_are_not_admins_are_refused(app: Flask) -> None:
    client = app.test_client()
    assert client.get(ENDPOINTS).status_code == 403
    assert client.get(DELIVERIES).status_code == 403
    assert client.post(ENDPOINTS + "test/", data={"id": "1"}).status_code == 403
    assert client.post(DELIVERIES + "again/", data={"id": "1"}).status_code == 403


def test_an_admin_adds_an_endpoint_and_gets_a_secret(app: Flask, admin_client: Any) -> None:
    token = csrf_token(admin_client, ENDPOINTS + "new/")
    page = admin_client.post(
        ENDPOINTS + "new/",
        data={
            "csrf_token": token,
            "url": "https://crm.example.com/hooks",
            "event_types": "reward_redeemed points_expiring_soon",
            "active": "y",
            "description": "CRM",
            "secret": "",
        },
        follow_redirects=True,
    )
    assert page.status_code == 200
    (row,) = endpoint_rows(app)
    assert row.event_types == "reward_redeemed points_expiring_soon"
    assert row.secret.startswith("whsec_")


def test_a_bad_url_or_event_type_is_refused_and_nothing_is_saved(
    app: Flask, admin_client: Any
) -> None:
    token = csrf_token(admin_client, ENDPOINTS + "new/")
    for url, types, refusal in [
        ("ftp://crm.example.com", "", "https://"),
        ("https://crm.example.com", "reward_stolen", "unknown event types: reward_stolen"),
    ]:
        page = admin_client.post(
            ENDPOINTS + "new/",
            data={"csrf_token": token, "url": url, "event_types": types, "secret": ""},
            follow_redirects=True,
        )
        assert page.status_code == 200
        assert refusal in flashes(page.get_data(as_text=True))
    assert endpoint_rows(app) == []


def test_send_test_event_posts_a_signed_test_event_now(
    app: Flask, admin_client: Any, hooks: Receiver
) -> None:
    endpoint_id = add_endpoint(app, hooks.url)
    token = csrf_token(admin_client, ENDPOINTS)
    page = admin_client.post(
        ENDPOINTS + "test/", data={"csrf_token": token, "id": endpoint_id}, follow_redirects=True
    )
    assert "Test event sent: delivered (200)" in flashes(page.get_data(as_text=True))
    (request,) = hooks.received
    assert json.loads(request.body)["type"] == "test"


def test_the_delivery_log_shows_each_attempt_and_sends_again(
    app: Flask, admin_client: Any, admin_data: Any, hooks: Receiver
) -> None:
    add_endpoint(app, hooks.url)
    hooks.answers = [500]
    with app.app_context():
        host.loyalty.earn_points(admin_data.customer(), 10)
        host.loyalty.deliver_webhooks()
    _, rows = grid(admin_client.get(DELIVERIES).get_data(as_text=True))
    (row,) = rows
    assert (row["Event"], row["Status"], row["Last status"]) == ("points_earned", "pending", "500")
    with app.app_context():
        delivery_id = host.db.session.execute(sa.select(host.models.WebhookDelivery.id)).scalar()
    details = admin_client.get(f"{DELIVERIES}details/?id={delivery_id}").get_data(as_text=True)
    assert "receiver says no" in details
    token = csrf_token(admin_client, DELIVERIES)
    page = admin_client.post(
        DELIVERIES + "again/", data={"csrf_token": token, "id": delivery_id}, follow_redirects=True
    )
    assert "Queued" in flashes(page.get_data(as_text=True))
    with app.app_context():
        host.loyalty.deliver_webhooks()  # due now, not after the backoff
    assert len(hooks.received) == 2
    _, rows = grid(admin_client.get(DELIVERIES).get_data(as_text=True))
    assert rows[0]["Status"] == "delivered"


def test_send_again_without_a_csrf_token_changes_nothing(
    app: Flask, admin_client: Any, hooks: Receiver
) -> None:
    page = admin_client.post(DELIVERIES + "again/", data={"id": "1"}, follow_redirects=True)
    assert "Nothing changed" in flashes(page.get_data(as_text=True))
