"""Delivering the outbox: signed POSTs to each endpoint, at least once, in order per customer.

A run (:func:`deliver`) repeats three short steps until nothing is due:

1. *Dispatch*: undispatched events become one delivery per active endpoint that wants them.
2. *Claim*: a batch of due deliveries is claimed for a while (a token and ``claimed_until``)
   and the claim committed, so no transaction stays open during the HTTP calls. A delivery is
   due only when no earlier event of the same customer is still pending for that endpoint:
   a customer's events reach each endpoint in the order they were written.
3. *Send*: each claimed delivery is POSTed with Standard Webhooks headers; every attempt is
   recorded, a 2xx ends it, anything else (an error status, a timeout, a refused connection)
   schedules the next attempt with exponential backoff and jitter, until the event is older
   than ``LOYALTY_WEBHOOK_MAX_AGE_SECONDS`` and the delivery is given up.

Rows are locked by primary key with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL, MariaDB 10.6+), so
several deliverers share the work and never take the same row; locking by key, not by a range
scan, keeps MariaDB's gap locks away from the inserts of new events. SQLite runs one writer at
a time anyway: run one deliverer there.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from .. import clock
from ..errors import NotFound
from ..models.events import (
    SECRET_PREFIX,
    EventType,
    WebhookDeliveryMixin,
    WebhookEndpointMixin,
    new_secret,
)
from . import dialect, events
from .context import Context
from .transaction import unit_of_work

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
#: The start of a receiver's answer kept with each attempt.
RESPONSE_KEPT = 2000
#: Seconds a deliverer waits when every due row is held by another deliverer.
BUSY_PAUSE = 0.05


# -- signing ------------------------------------------------------------------------------------


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, keyed with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "flask-loyalty-rewards-webhooks",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


# -- endpoints ----------------------------------------------------------------------------------


def add_endpoint(
    ctx: Context,
    url: str,
    *,
    event_types: Any = None,
    secret: str | None = None,
    description: str = "",
    active: bool = True,
) -> WebhookEndpointMixin:
    """A new endpoint (a new secret unless one is given); it gets events written from now on."""
    with unit_of_work(ctx):
        endpoint = ctx.models.WebhookEndpoint(
            url=url,
            secret=secret or new_secret(),
            event_types=event_types,
            description=description,
            active=active,
        )
        ctx.session.add(endpoint)
    return endpoint


# -- one run ------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    dispatched: int = 0
    attempts: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    url: str
    secret: str
    message_id: str
    body: str
    attempts: int
    event_at: dt.datetime


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    response: str
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver(
    ctx: Context,
    *,
    limit: int | None = None,
    client: httpx.Client | None = None,
) -> DeliveryReport:
    """Dispatch and send what is due until nothing is (or ``limit`` attempts were made)."""
    report = DeliveryReport()
    batch = int(ctx.config["LOYALTY_WEBHOOK_BATCH"])
    with ExitStack() as closing:
        http = client
        while limit is None or report.attempts < limit:
            dispatched = dispatch(ctx, batch)
            report.dispatched += dispatched.count
            size = batch if limit is None else min(batch, limit - report.attempts)
            claims = claim(ctx, size)
            if not claims.taken:
                if not (dispatched.count or dispatched.busy or claims.busy):
                    break
                if not dispatched.count:
                    time.sleep(BUSY_PAUSE)  # another deliverer holds them: it commits soon
                continue
            if http is None:  # only a run with something to send: a client costs milliseconds
                http = closing.enter_context(httpx.Client(timeout=timeout(ctx)))
            answers = [(taken, send(http, taken)) for taken in claims.taken]
            report.attempts += len(answers)
            report.outcomes.update(finish(ctx, answers))
    return report


def timeout(ctx: Context) -> httpx.Timeout:
    seconds = float(ctx.config["LOYALTY_WEBHOOK_TIMEOUT"])
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


@dataclass(frozen=True)
class Taken:
    """What one step took, and whether rows were due that another deliverer held."""

    count: int = 0
    busy: bool = False
    taken: list[Claim] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


def _lock_free(
    ctx: Context,
    table: sa.Table,
    due: list[Any],
    order: list[Any],
    limit: int,
    *,
    pick_only: tuple[Any, ...] = (),
) -> Taken:
    """Lock up to ``limit`` rows matching ``due`` that no other deliverer holds; their ids.

    PostgreSQL skips locked rows in the scan itself, so each deliverer takes the next free
    ones. MariaDB's locking scans also lock the gaps between index records, which would hold up
    new events' inserts: there a plain read picks candidates (four times ``limit``) and only
    those rows are locked, by key (checked again against ``due``; ``pick_only``, a condition on
    other rows, only chooses the candidates, so the locking read touches no other row).
    """
    pick = sa.select(table.c.id).where(*due, *pick_only).order_by(*order)
    if dialect.skips_locked_rows_in_scans(ctx.dialect):
        ids = list(
            ctx.session.execute(
                pick.limit(limit).with_for_update(skip_locked=True, of=table)
            ).scalars()
        )
        return Taken(count=len(ids), ids=ids)
    candidates = list(ctx.session.execute(pick.limit(limit * 4)).scalars())
    if not candidates:
        return Taken()
    stmt = sa.select(table.c.id).where(table.c.id.in_(candidates), *due).order_by(*order)
    ids = list(ctx.session.execute(ctx.locked(stmt, skip_locked=True)).scalars())[:limit]
    return Taken(count=len(ids), busy=not ids, ids=ids)


def dispatch(ctx: Context, limit: int) -> Taken:
    """Turn up to ``limit`` undispatched events into deliveries."""
    event = ctx.models.Event.__table__
    delivery = ctx.models.WebhookDelivery.__table__
    now = clock.now()
    with unit_of_work(ctx):
        locked = _lock_free(ctx, event, [event.c.dispatched_at.is_(None)], [event.c.id], limit)
        ids = locked.ids
        if not ids:
            return locked
        rows = ctx.session.execute(
            sa.select(event.c.id, event.c.type, event.c.customer_id)
            .where(event.c.id.in_(ids))
            .order_by(event.c.id)
        ).all()
        endpoints = _active_endpoints(ctx)
        deliveries = [
            {
                "event_id": row.id,
                "endpoint_id": endpoint.id,
                "customer_id": row.customer_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for row in rows
            if row.type != EventType.TEST.value
            for endpoint in endpoints
            if endpoint.wants(row.type)
        ]
        if deliveries:
            ctx.session.execute(sa.insert(delivery), deliveries)
        ctx.session.execute(sa.update(event).where(event.c.id.in_(ids)).values(dispatched_at=now))
    return Taken(count=len(ids))


def _active_endpoints(ctx: Context) -> list[WebhookEndpointMixin]:
    model = ctx.models.WebhookEndpoint
    return list(
        ctx.session.execute(sa.select(model).where(model.active.is_(True)).order_by(model.id))
        .scalars()
        .all()
    )


def claim(ctx: Context, limit: int, *, delivery_id: int | None = None) -> Taken:
    """Claim up to ``limit`` due deliveries (or the one given) for this worker, and commit."""
    delivery = ctx.models.WebhookDelivery.__table__
    event = ctx.models.Event.__table__
    endpoint = ctx.models.WebhookEndpoint.__table__
    now = clock.now()
    free = sa.or_(delivery.c.claimed_until.is_(None), delivery.c.claimed_until < now)
    due = [delivery.c.status == PENDING, delivery.c.next_attempt_at <= now, free]
    if delivery_id is not None:
        due = [delivery.c.id == delivery_id, delivery.c.status == PENDING, free]
    earlier = delivery.alias("earlier")
    first_of_customer = ~sa.exists().where(
        earlier.c.endpoint_id == delivery.c.endpoint_id,
        earlier.c.customer_id == delivery.c.customer_id,
        earlier.c.status == PENDING,
        earlier.c.event_id < delivery.c.event_id,
    )
    token = secrets.token_hex(16)
    lease = dt.timedelta(seconds=limit * float(ctx.config["LOYALTY_WEBHOOK_TIMEOUT"]) + 60)
    with unit_of_work(ctx):
        order = [delivery.c.event_id, delivery.c.id]
        locked = _lock_free(ctx, delivery, due, order, limit, pick_only=(first_of_customer,))
        ids = locked.ids
        if not ids:
            return locked
        ctx.session.execute(
            sa.update(delivery)
            .where(delivery.c.id.in_(ids))
            .values(claim_token=token, claimed_until=now + lease)
        )
        rows = ctx.session.execute(
            sa.select(
                delivery.c.id,
                delivery.c.attempts,
                endpoint.c.url,
                endpoint.c.secret,
                event.c.event_id,
                event.c.payload,
                event.c.occurred_at,
            )
            .join(event, event.c.id == delivery.c.event_id)
            .join(endpoint, endpoint.c.id == delivery.c.endpoint_id)
            .where(delivery.c.id.in_(ids))
            .order_by(delivery.c.event_id, delivery.c.id)
        ).all()
    claims = [
        Claim(
            delivery_id=row.id,
            token=token,
            url=row.url,
            secret=row.secret,
            message_id=row.event_id,
            body=row.payload,
            attempts=row.attempts,
            event_at=row.occurred_at,
        )
        for row in rows
    ]
    return Taken(count=len(claims), taken=claims)


def send(client: httpx.Client, taken: Claim, *, now: Callable[[], float] = time.time) -> Answer:
    """POST one claimed delivery; never raises for what the network or the receiver does."""
    started = time.monotonic()
    sent_at = int(now())
    try:
        response = client.post(
            taken.url,
            content=taken.body.encode(),
            headers=headers(taken.secret, taken.message_id, sent_at, taken.body),
        )
    except httpx.TimeoutException as exc:
        return Answer(None, "", f"timeout: {type(exc).__name__}", _ms(started))
    except httpx.HTTPError as exc:
        return Answer(None, "", f"{type(exc).__name__}: {exc}"[:255], _ms(started))
    return Answer(response.status_code, response.text[:RESPONSE_KEPT], None, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def backoff(ctx: Context, attempts: int) -> dt.timedelta:
    """The wait after ``attempts`` failed attempts: doubling, capped, and jittered (50-100%)."""
    base = float(ctx.config["LOYALTY_WEBHOOK_BACKOFF_SECONDS"])
    cap = float(ctx.config["LOYALTY_WEBHOOK_BACKOFF_MAX_SECONDS"])
    wait = min(cap, base * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=wait * random.uniform(0.5, 1.0))


def finish(ctx: Context, answers: list[tuple[Claim, Answer]]) -> list[str]:
    """Record a batch's attempts and what follows from each, in one transaction.

    Returns each delivery's status. A delivery whose claim ran out meanwhile (another
    deliverer took it over) keeps its attempt but leaves the status to the new owner.
    """
    delivery = ctx.models.WebhookDelivery.__table__
    attempt = ctx.models.WebhookAttempt.__table__
    now = clock.now()
    max_age = dt.timedelta(seconds=float(ctx.config["LOYALTY_WEBHOOK_MAX_AGE_SECONDS"]))
    delivered: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    statuses = []
    for taken, answer in answers:
        attempts = taken.attempts + 1
        values: dict[str, Any] = {
            "b_id": taken.delivery_id,
            "b_token": taken.token,
            "b_attempts": attempts,
            "b_status_code": answer.status_code,
            "b_error": answer.error,
        }
        if answer.ok:
            status = DELIVERED
            delivered.append(values)
        else:
            retry_at = now + backoff(ctx, attempts)
            status = FAILED if retry_at - taken.event_at > max_age else PENDING
            failed.append({**values, "b_status": status, "b_retry_at": retry_at})
        statuses.append(status)
    mine = (
        delivery.c.id == sa.bindparam("b_id"),
        delivery.c.claim_token == sa.bindparam("b_token"),
    )
    released: dict[str, Any] = {
        "attempts": sa.bindparam("b_attempts"),
        "last_status_code": sa.bindparam("b_status_code"),
        "last_error": sa.bindparam("b_error"),
        "claim_token": None,
        "claimed_until": None,
    }
    with unit_of_work(ctx):
        ctx.session.execute(
            sa.insert(attempt),
            [
                {
                    "delivery_id": taken.delivery_id,
                    "attempted_at": now,
                    "duration_ms": answer.duration_ms,
                    "status_code": answer.status_code,
                    "response": answer.response,
                    "error": answer.error,
                }
                for taken, answer in answers
            ],
        )
        # One statement for each outcome, sent for all its rows at once (executemany).
        if delivered:
            done = sa.update(delivery).where(*mine).values(status=DELIVERED, delivered_at=now)
            ctx.session.execute(done.values(**released), delivered)
        if failed:
            again = (
                sa.update(delivery)
                .where(*mine)
                .values(status=sa.bindparam("b_status"), next_attempt_at=sa.bindparam("b_retry_at"))
            )
            ctx.session.execute(again.values(**released), failed)
    return statuses


# -- admin actions ------------------------------------------------------------------------------


def send_again(ctx: Context, delivery: Any) -> WebhookDeliveryMixin:
    """Put a delivery back in the queue, due now (a given-up or delivered one too)."""
    model = ctx.models.WebhookDelivery
    with unit_of_work(ctx):
        row = ctx.session.execute(
            ctx.locked(sa.select(model).where(model.id == _id(delivery, model)))
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("no such webhook delivery")
        row.status = PENDING
        row.next_attempt_at = clock.now()
        row.claim_token = None
        row.claimed_until = None
    return row


def send_test_event(ctx: Context, endpoint: Any, *, client: httpx.Client | None = None) -> Any:
    """Write a ``test`` event for one endpoint and send it now; returns its delivery."""
    model = ctx.models.WebhookEndpoint
    target = ctx.session.get(model, _id(endpoint, model))
    if target is None:
        raise NotFound("no such webhook endpoint")
    now = clock.now()
    event = ctx.models.Event
    delivery = ctx.models.WebhookDelivery
    with unit_of_work(ctx):
        values = events.row_values(
            EventType.TEST, None, now, {"message": "A test event sent from the admin."}
        )
        row = event(**values, dispatched_at=now)
        ctx.session.add(row)
        ctx.session.flush()
        test = delivery(
            event_id=row.id,
            endpoint_id=target.id,
            customer_id=None,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        ctx.session.add(test)
        ctx.session.flush()
        test_id = test.id
    own_client = client is None
    http = client or httpx.Client(timeout=timeout(ctx))
    try:
        for taken in claim(ctx, 1, delivery_id=test_id).taken:
            finish(ctx, [(taken, send(http, taken))])
    finally:
        if own_client:
            http.close()
    return ctx.session.get(delivery, test_id)


def _id(value: Any, model: type[Any]) -> int:
    return int(value.id if isinstance(value, model) else value)
