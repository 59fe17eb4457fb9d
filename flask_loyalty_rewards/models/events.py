"""The outbox: one event row per state change, written in the change's own transaction.

Webhook endpoints, the deliveries of each event to each endpoint and every attempt live here
too. Events carry the customer's key and no personal data, so they may outlive the customer
(no foreign key to the host's customer table).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from .mixins import _LoyaltyTable
from .types import UTCDateTime

_BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class EventMixin(_LoyaltyTable):
    """Something that happened, as the JSON body webhooks send (append-only but for dispatch)."""

    __loyalty_table__ = "event"

    #: The order events were written in (per customer, the order of the changes).
    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    #: The event's stable id (a UUID), sent as ``webhook-id``: receivers deduplicate on it.
    event_id: Mapped[str] = mapped_column(sa.String(36), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    version: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)

    @declared_attr
    def customer_id(cls) -> Mapped[Any]:
        return mapped_column(cls.__loyalty_customer_type__)

    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    #: The whole JSON body, exactly as it is signed and sent.
    payload: Mapped[str] = mapped_column(sa.Text, nullable=False)
    #: Set for events that must happen once only (a reminder per lot and window).
    once_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    #: When the deliverer made this event's deliveries (one per endpoint that wants it).
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        p = cls.__loyalty_prefix__
        undispatched = sa.text("dispatched_at IS NULL")
        return (
            sa.Index(f"ix_{p}event_customer", "customer_id", "id"),
            sa.Index(
                f"ix_{p}event_undispatched",
                "dispatched_at",
                "id",
                postgresql_where=undispatched,
                sqlite_where=undispatched,
            ),
        )

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
