"""The outbox: one event row per state change, written in the change's own transaction.

Webhook endpoints, the deliveries of each event to each endpoint and every attempt live here
too. Events carry the customer's key and no personal data, so they may outlive the customer
(no foreign key to the host's customer table).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, validates

from .. import clock
from ..bounds import required_text
from ..errors import InvalidInput
from .mixins import _LoyaltyTable, id_of, index, unique
from .types import BIG_ID, UTCDateTime

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


class EventType(str, enum.Enum):
    """Every event the outbox writes."""

    POINTS_EARNED = "points_earned"
    POINTS_ADJUSTED = "points_adjusted"
    POINTS_REVOKED = "points_revoked"
    POINTS_EXPIRED = "points_expired"
    POINTS_EXPIRING_SOON = "points_expiring_soon"
    REWARD_REDEEMED = "reward_redeemed"
    REWARD_USED = "reward_used"
    REWARD_UNUSED = "reward_unused"
    DELIVERY_STATUS_CHANGED = "delivery_status_changed"
    REDEMPTION_CANCELLED = "redemption_cancelled"
    REWARD_EXPIRED = "reward_expired"
    CASHBACK_STATUS_CHANGED = "cashback_status_changed"
    #: Sent by an admin's "send test event" to one endpoint; never written by a change.
    TEST = "test"


# -- what an endpoint may hold (checked on every assignment, by services and plain ORM code) ----


def check_url(value: Any) -> str:
    url = required_text(value, "url", 2000).strip()
    if not url.startswith(("https://", "http://")):
        raise InvalidInput("the webhook URL must start with https:// (or http://)")
    return url


def check_secret(value: Any) -> str:
    """A ``whsec_`` secret whose key is base64 of at least 16 bytes."""
    secret = required_text(value, "secret")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError as exc:
        raise InvalidInput("the secret must be whsec_ followed by base64") from exc
    if not secret.startswith(SECRET_PREFIX) or len(key) < 16:
        raise InvalidInput("the secret must be whsec_ followed by base64 of 16 bytes or more")
    return secret


def check_event_types(value: Any) -> str:
    """Space- or comma-separated event types, each one we write; empty means every type."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = " ".join(value)
    names = value.replace(",", " ").split()
    known = {t.value for t in EventType}
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidInput(f"unknown event types: {', '.join(unknown)}")
    return " ".join(dict.fromkeys(names))


class EventMixin(_LoyaltyTable):
    """Something that happened, as the JSON body webhooks send (append-only but for dispatch)."""

    __loyalty_table__ = "event"

    #: The order events were written in (per customer, the order of the changes).
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    #: The event's stable id (a UUID), sent as ``webhook-id``: receivers deduplicate on it.
    event_id: Mapped[str] = mapped_column(sa.String(36), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    version: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)

    @declared_attr
    def customer_id(cls) -> Mapped[Any]:
        return mapped_column(cls.__loyalty_customer_type__, nullable=True)

    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    #: The whole JSON body, exactly as it is signed and sent.
    payload: Mapped[str] = mapped_column(sa.Text, nullable=False)
    #: Set for events that must happen once only (a reminder per lot and window).
    once_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    #: When the deliverer made this event's deliveries (one per endpoint that wants it).
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __loyalty_args__ = (
        index("event_customer", "customer_id", "id"),
        index("event_undispatched", "dispatched_at", "id", where="dispatched_at IS NULL"),
    )

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookEndpointMixin(_LoyaltyTable):
    """A URL that receives events, signed with its own secret."""

    __loyalty_table__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000), nullable=False)
    #: ``whsec_`` and the base64 of the key (the Standard Webhooks form); made when not given.
    secret: Mapped[str] = mapped_column(sa.String(255), nullable=False, default=new_secret)
    #: Space-separated event types it wants; empty: every type.
    event_types: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    description: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, nullable=False, default=lambda: clock.now()
    )

    @validates("url")
    def _check_url(self, key: str, value: Any) -> str:
        return check_url(value)

    @validates("event_types")
    def _check_event_types(self, key: str, value: Any) -> str:
        return check_event_types(value)

    @validates("secret")
    def _check_secret(self, key: str, value: Any) -> str:
        return check_secret(value)

    def wants(self, event_type: str) -> bool:
        types = self.event_types.split()
        return not types or event_type in types

    def __str__(self) -> str:
        return self.url


class WebhookDeliveryMixin(_LoyaltyTable):
    """One event on its way to one endpoint: pending until answered 2xx or given up."""

    __loyalty_table__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    event_id: Mapped[int] = id_of("event", BIG_ID, nullable=False)
    endpoint_id: Mapped[int] = id_of("webhook_endpoint", ondelete="CASCADE", nullable=False)

    @declared_attr
    def customer_id(cls) -> Mapped[Any]:
        return mapped_column(cls.__loyalty_customer_type__, nullable=True)

    #: pending, delivered or failed (given up).
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.String(255))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    @declared_attr
    def event(cls) -> Mapped[Any]:
        return relationship("Event", lazy="joined", innerjoin=True)

    @declared_attr
    def endpoint(cls) -> Mapped[Any]:
        return relationship("WebhookEndpoint", lazy="joined", innerjoin=True)

    __loyalty_args__ = (
        unique("delivery_event", "event_id", "endpoint_id"),
        index("delivery_due", "status", "next_attempt_at", "id"),
        index("delivery_order", "endpoint_id", "customer_id", "status", "event_id"),
    )

    def __str__(self) -> str:
        return f"delivery {self.id}"


class WebhookAttemptMixin(_LoyaltyTable):
    """One POST of a delivery and what came back (append-only)."""

    __loyalty_table__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    delivery_id: Mapped[int] = id_of(
        "webhook_delivery", BIG_ID, ondelete="CASCADE", nullable=False, index=True
    )

    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    duration_ms: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    #: The HTTP status; NULL when no answer came (timeout, refused connection).
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    #: The start of the answer's body, or what went wrong.
    response: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    error: Mapped[str | None] = mapped_column(sa.String(255))


class ExpiryReminderMixin(_LoyaltyTable):
    """A lot already announced as expiring soon in one reminder window (never twice)."""

    __loyalty_table__ = "expiry_reminder"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    lot_id: Mapped[int] = id_of("points_lot", BIG_ID, nullable=False)
    #: The window (``--days``) the reminder was sent for.
    days: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    __loyalty_args__ = (unique("reminder_lot", "lot_id", "days"),)
