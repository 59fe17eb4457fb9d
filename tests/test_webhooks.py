"""Webhook delivery against a real receiver on 127.0.0.1: signed, retried, in order, once."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import InvalidInput
from flask_loyalty_rewards.services import webhooks
from tests.host import db, loyalty, models
from tests.webhook_receiver import Receiver, receiver

ROOT = Path(__file__).resolve().parent.parent


def documented_verify() -> Any:
    """The verification recipe exactly as the events guide includes it."""
    path = ROOT / "docs" / "examples" / "webhooks" / "verify.py"
    spec = importlib.util.spec_from_file_location("documented_verify", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.verify


@pytest.fixture
def hooks(app: Any) -> Iterator[Receiver]:
    app.config.update(LOYALTY_WEBHOOK_TIMEOUT=0.5, LOYALTY_WEBHOOK_BACKOFF_SECONDS=60)
    with receiver() as state:
        yield state


@pytest.fixture
def endpoint(ctx: Any, hooks: Receiver) -> Any:
    return loyalty.add_webhook_endpoint(hooks.url)


def attempts() -> list[Any]:
    model = models.WebhookAttempt
    return list(db.session.execute(sa.select(model).order_by(model.id)).scalars())


def deliveries() -> list[Any]:
    model = models.WebhookDelivery
    return list(
        db.session.execute(
            sa.select(model).order_by(model.id).execution_options(populate_existing=True)
        )
        .unique()
        .scalars()
    )


def test_a_delivery_is_signed_so_the_documented_recipe_verifies_it(
    hooks: Receiver, endpoint: Any, make_customer: Any
) -> None:
    customer = make_customer()
    loyalty.earn_points(customer, 25)
    loyalty.deliver_webhooks()
    (request,) = hooks.received
    event = documented_verify()(endpoint.secret, request.headers, request.body)
    assert event["type"] == "points_earned"
    assert event["id"] == request.headers["webhook-id"]
    assert request.headers["webhook-signature"].startswith("v1,")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    with pytest.raises(ValueError):
        documented_verify()(endpoint.secret, request.headers, request.body + b" ")
    with pytest.raises(ValueError):
        documented_verify()(webhooks.new_secret(), request.headers, request.body)
    (delivery,) = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_receiver_failing_twice_gets_exactly_three_attempts(
    hooks: Receiver, endpoint: Any, make_customer: Any, frozen_clock: Any
) -> None:
    hooks.answers = [500, 500]
    loyalty.earn_points(make_customer(), 25)
    loyalty.deliver_webhooks()
    loyalty.deliver_webhooks()  # not due yet: the backoff holds it back
    assert len(hooks.received) == 1
    for _ in range(3):
        frozen_clock.advance(hours=1)
        loyalty.deliver_webhooks()
    assert [a.status_code for a in attempts()] == [500, 500, 200]
    assert len(hooks.received) == 3
    assert len(set(hooks.ids())) == 1
    assert attempts()[0].response == "receiver says no"
    assert deliveries()[0].status == "delivered"


def test_a_receiver_that_never_answers_times_out_and_is_retried(
    hooks: Receiver, endpoint: Any, make_customer: Any, frozen_clock: Any
) -> None:
    hooks.answers = ["hang", "hang"]
    loyalty.earn_points(make_customer(), 25)
    loyalty.deliver_webhooks()
    frozen_clock.advance(hours=1)
    loyalty.deliver_webhooks()
    first, second = attempts()
    assert first.status_code is None and first.error.startswith("timeout")
    assert second.status_code is None and second.error.startswith("timeout")
    assert 400 <= first.duration_ms < 5000
    assert deliveries()[0].status == "pending"
    frozen_clock.advance(hours=1)
    loyalty.deliver_webhooks()
    assert deliveries()[0].status == "delivered"


def test_backoff_doubles_with_jitter_up_to_its_cap(ctx: Any) -> None:
    state = loyalty._ctx()
    waits = [webhooks.backoff(state, n).total_seconds() for n in (1, 2, 3, 20)]
    assert 15 <= waits[0] <= 30
    assert 30 <= waits[1] <= 60
    assert 60 <= waits[2] <= 120
    assert 1800 <= waits[3] <= 3600


def test_a_delivery_is_given_up_once_the_event_is_too_old(
    app: Any, hooks: Receiver, endpoint: Any, make_customer: Any, frozen_clock: Any
) -> None:
    app.config["LOYALTY_WEBHOOK_MAX_AGE_SECONDS"] = 3 * 3600
    hooks.answers = [503] * 10
    loyalty.earn_points(make_customer(), 25)
    for _ in range(6):
        loyalty.deliver_webhooks()
        frozen_clock.advance(hours=1)
    (delivery,) = deliveries()
    assert delivery.status == "failed"
    assert delivery.attempts == len(attempts()) < 6


def test_one_customers_events_arrive_in_the_order_they_were_written(
    hooks: Receiver, endpoint: Any, make_customer: Any, frozen_clock: Any
) -> None:
    alice, bob = make_customer(), make_customer()
    hooks.answers = [500]
    loyalty.earn_points(alice, 1)
    loyalty.earn_points(alice, 2)
    loyalty.earn_points(bob, 3)
    loyalty.deliver_webhooks()
    points = [json.loads(r.body)["data"]["points"] for r in hooks.received]
    assert points == [1, 3]  # alice's second waits for her first; bob does not
    frozen_clock.advance(hours=1)
    loyalty.deliver_webhooks()
    points = [json.loads(r.body)["data"]["points"] for r in hooks.received]
    assert points == [1, 3, 1, 2]


def test_an_endpoint_gets_only_the_event_types_it_asked_for(
    ctx: Any, hooks: Receiver, make_customer: Any, make_campaign: Any
) -> None:
    loyalty.add_webhook_endpoint(hooks.url, event_types="reward_redeemed")
    customer = make_customer()
    loyalty.earn_points(customer, 100)
    loyalty.redeem(customer, make_campaign(cost_in_points=10))
    loyalty.deliver_webhooks()
    assert [json.loads(r.body)["type"] for r in hooks.received] == ["reward_redeemed"]


def test_an_unknown_event_type_or_a_bad_url_is_refused(ctx: Any) -> None:
    with pytest.raises(InvalidInput, match="unknown event types: nope"):
        loyalty.add_webhook_endpoint("https://example.com/h", event_types="nope")
    with pytest.raises(InvalidInput, match="https://"):
        loyalty.add_webhook_endpoint("ftp://example.com/h")


def test_send_again_sends_a_delivered_event_once_more_with_the_same_id(
    hooks: Receiver, endpoint: Any, make_customer: Any
) -> None:
    loyalty.earn_points(make_customer(), 5)
    loyalty.deliver_webhooks()
    webhooks.send_again(loyalty._ctx(), deliveries()[0].id)
    loyalty.deliver_webhooks()
    assert len(hooks.received) == 2
    assert len(set(hooks.ids())) == 1


def test_a_test_event_goes_to_its_endpoint_only_and_now(
    ctx: Any, hooks: Receiver, endpoint: Any
) -> None:
    other = loyalty.add_webhook_endpoint(hooks.url + "/other")
    delivery = webhooks.send_test_event(loyalty._ctx(), endpoint.id)
    assert delivery.status == "delivered"
    (request,) = hooks.received
    assert json.loads(request.body)["type"] == "test"
    loyalty.deliver_webhooks()
    assert len(hooks.received) == 1
    assert other.id not in {d.endpoint_id for d in deliveries()}


#: A deliverer process: says "ready" once imported, starts on "go" (both start together).
_WORKER = """
import sys
from tests.host import create_app
from flask_loyalty_rewards.tasks import deliver_webhooks
app = create_app(sys.argv[1], LOYALTY_WEBHOOK_BATCH=5, LOYALTY_WEBHOOK_TIMEOUT=5)
print("ready", flush=True)
sys.stdin.readline()
print(deliver_webhooks(app).attempts, flush=True)
"""


@pytest.mark.concurrency
def test_two_deliverer_processes_deliver_each_event_exactly_once(
    backend: str, database_url: str, hooks: Receiver, endpoint: Any, make_customer: Any
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite has one writer at a time: run one deliverer there")
    hooks.delay = 0.01
    for customer in [make_customer() for _ in range(12)]:
        loyalty.earn_points(customer, 1)
        loyalty.earn_points(customer, 2)
    written = set(db.session.execute(sa.select(models.Event.event_id)).scalars())
    db.session.commit()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, database_url],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    sent = [int(worker.communicate(timeout=60)[0].strip()) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert sorted(hooks.ids()) == sorted(written)  # each event once, none lost
    assert sum(sent) == 24
    assert min(sent) > 0, f"both workers should have had a share: {sent}"
