"""The transactional outbox: every state change writes its event in the change's transaction.

A service writes the event of its change here, next to the change itself, so the event commits
with the change or not at all: nothing is ever announced for a transaction that rolled back, and
nothing that committed goes unannounced. Webhooks (:mod:`.webhooks`) deliver the rows later.

Each event's body is the JSON a webhook sends::

    {"id": "<uuid>", "type": "reward_redeemed", "version": 1,
     "timestamp": "2026-01-31T12:00:00+00:00", "customer_id": "42", "data": {...}}

``data`` is defined by one marshmallow schema per type (:data:`SCHEMAS`); a change that breaks a
type's data gets a new ``version``. Bodies carry ids and amounts, never the customer's personal
data: receivers look the customer up by ``customer_id``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from marshmallow import Schema, fields

from ..models import CouponStatus, DeliveryStatus, RewardType
from ..models.events import EventType
from .context import Context

# -- payload schemas ----------------------------------------------------------------------------


class _Schema(Schema):
    """Every key of an event's body is always there (``null`` where a field allows none).

    So every field is made required here, once, and the OpenAPI document lists them all.
    """

    class Meta:
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        field_obj.required = True


#: Each type's data schema and current version, in the order the schemas are written below.
SCHEMAS: dict[EventType, tuple[type[Schema], int]] = {}

_DataSchema = TypeVar("_DataSchema", bound=type[Schema])


def _data_of(event_type: EventType, version: int = 1) -> Callable[[_DataSchema], _DataSchema]:
    """Register the decorated schema as ``event_type``'s data, at ``version``."""

    def register(schema: _DataSchema) -> _DataSchema:
        SCHEMAS[event_type] = (schema, version)
        return schema

    return register


@_data_of(EventType.POINTS_EARNED)
class PointsEarnedData(_Schema):
    """Points added: an earning (``points_earned``) or an admin's positive correction."""

    lot_id = fields.Integer(metadata={"description": "The lot holding them."})
    points = fields.Integer()
    expires_at = fields.AwareDateTime(allow_none=True)
    available_from = fields.AwareDateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)


@_data_of(EventType.POINTS_ADJUSTED)
class PointsAdjustedData(_Schema):
    """An admin's correction; ``points`` is signed (negative: taken, soonest-expiring first)."""

    points = fields.Integer()
    lot_id = fields.Integer(allow_none=True, metadata={"description": "The new lot (points > 0)."})
    expires_at = fields.AwareDateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)


@_data_of(EventType.POINTS_REVOKED)
class PointsRevokedData(_Schema):
    """A refunded order's points taken back (what was left of them)."""

    lot_id = fields.Integer()
    points = fields.Integer(metadata={"description": "Taken back now."})
    already_spent = fields.Integer()
    already_expired = fields.Integer()
    reason = fields.String()
    reference = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)


class ExpiredLotData(_Schema):
    """Points of one lot."""

    lot_id = fields.Integer()
    points = fields.Integer()
    expires_at = fields.AwareDateTime(allow_none=True)


@_data_of(EventType.POINTS_EXPIRED)
class PointsExpiredData(_Schema):
    """Points whose time ran out, per lot."""

    points = fields.Integer()
    lots = fields.List(fields.Nested(ExpiredLotData))


@_data_of(EventType.POINTS_EXPIRING_SOON)
class PointsExpiringSoonData(_Schema):
    """A reminder: points that expire on one date, sent once per lot and reminder window."""

    points = fields.Integer()
    expires_at = fields.AwareDateTime()
    days_before = fields.Integer(
        metadata={"description": "The reminder window (--days) that sent it."}
    )
    lots = fields.List(fields.Nested(ExpiredLotData))


class RewardData(_Schema):
    """What every event of a redeemed reward says about the reward."""

    redeemed_reward_id = fields.Integer()
    campaign_id = fields.Integer()
    reward_name = fields.String()
    reward_type = fields.Enum(RewardType, by_value=True)
    coupon_code = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)


@_data_of(EventType.REWARD_REDEEMED)
class RewardRedeemedData(RewardData):
    """A reward bought with points (the only way points are spent)."""

    points_spent = fields.Integer()
    active_points_after = fields.Integer()
    coupon_status = fields.Enum(CouponStatus, by_value=True)
    active_from = fields.AwareDateTime()
    active_to = fields.AwareDateTime(allow_none=True)
    redeemed_at = fields.AwareDateTime()


@_data_of(EventType.REWARD_USED)
class RewardUsedData(RewardData):
    """A reward marked used (at the checkout or by an admin); gifts go to Ordered."""

    used_at = fields.AwareDateTime()
    order_reference = fields.String(allow_none=True)


@_data_of(EventType.REWARD_UNUSED)
class RewardUnusedData(RewardData):
    """A use undone; ``coupon_status`` is the status it went back to."""

    coupon_status = fields.Enum(CouponStatus, by_value=True)


@_data_of(EventType.DELIVERY_STATUS_CHANGED)
class DeliveryStatusChangedData(RewardData):
    """A gift's delivery moved on (Ordered, Shipped, Delivered, Canceled)."""

    from_status = fields.Enum(DeliveryStatus, by_value=True)
    to_status = fields.Enum(DeliveryStatus, by_value=True)


@_data_of(EventType.REDEMPTION_CANCELLED)
class RedemptionCancelledData(RewardData):
    """A redemption undone: its points went back to the lots they came from."""

    points_returned = fields.Integer()
    reason = fields.String()


@_data_of(EventType.REWARD_EXPIRED)
class RewardExpiredData(RewardData):
    """An unused coupon whose validity ended."""

    active_to = fields.AwareDateTime(allow_none=True)


@_data_of(EventType.CASHBACK_STATUS_CHANGED)
class CashbackStatusChangedData(RewardData):
    """A cashback payout's status, as the admin grid shows it, changed."""

    cashback_status = fields.String(
        metadata={"description": "As the grid shows it: `code: provider code: text`"}
    )


@_data_of(EventType.TEST)
class TestData(_Schema):
    """Sent to one endpoint by an admin's "Send test event"; no change behind it."""

    message = fields.String()


_DUMPERS = {event_type: schema() for event_type, (schema, _) in SCHEMAS.items()}


class EventSchema(_Schema):
    """The envelope of every event: the body a webhook POSTs."""

    id = fields.String(metadata={"description": "Stable UUID; = webhook-id."})
    type = fields.Enum(EventType, by_value=True)
    version = fields.Integer(metadata={"description": "Of the type's data."})
    timestamp = fields.AwareDateTime(metadata={"description": "When it happened."})
    customer_id = fields.String(
        allow_none=True, metadata={"description": "The customer's key, as text."}
    )
    data = fields.Dict(metadata={"description": "The type's data (the <Type>Data schemas)."})


_ENVELOPE = EventSchema()


# -- writing ------------------------------------------------------------------------------------


def enabled(ctx: Context) -> bool:
    return bool(ctx.config["LOYALTY_EVENTS"])


def body(
    event_type: EventType, event_id: str, customer_id: Any, now: dt.datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """The event's JSON body (as a dict), ``data`` checked and dumped by the type's schema."""
    envelope: dict[str, Any] = _ENVELOPE.dump(
        {
            "id": event_id,
            "type": event_type,
            "version": SCHEMAS[event_type][1],
            "timestamp": now,
            "customer_id": None if customer_id is None else str(customer_id),
            "data": {},
        }
    )
    envelope["data"] = _DUMPERS[event_type].dump(data)
    return envelope


def encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def row_values(
    event_type: EventType, customer_id: Any, now: dt.datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """The event table's columns for one event (a new id each time)."""
    event_id = str(uuid.uuid4())
    return {
        "event_id": event_id,
        "type": event_type.value,
        "version": SCHEMAS[event_type][1],
        "customer_id": customer_id,
        "occurred_at": now,
        "payload": encode(body(event_type, event_id, customer_id, now, data)),
    }


def record(
    ctx: Context,
    event_type: EventType,
    customer_id: Any,
    now: dt.datetime,
    data: dict[str, Any],
    *,
    once_key: str | None = None,
) -> bool:
    """Write one event in the current transaction; returns whether it was written.

    With ``once_key``, an event already written under that key is not written again (the
    unique key decides, so two runners at once write it once).
    """
    if not enabled(ctx):
        return False
    values = row_values(event_type, customer_id, now, data)
    table = ctx.models.Event.__table__
    if once_key is None:
        ctx.session.execute(sa.insert(table).values(**values))
        return True
    return bool(ctx.insert_ignore(table, {**values, "once_key": once_key}))


def reward_data(row: Any, *, actor: str | None) -> dict[str, Any]:
    """The part every redeemed reward's event shares, from the reward (row or column values)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        "redeemed_reward_id": get("id"),
        "campaign_id": get("campaign_id"),
        "reward_name": get("reward_name"),
        "reward_type": get("reward_type"),
        "coupon_code": get("coupon_code"),
        "actor": actor,
    }


def redeemed_data(values: dict[str, Any], reward_id: int, active_after: int) -> dict[str, Any]:
    """``reward_redeemed``'s data from the reward's column values (both redemption paths)."""
    return {
        **reward_data({**values, "id": reward_id}, actor=values["redeemed_by"]),
        "points_spent": values["cost_in_points"],
        "active_points_after": active_after,
        "coupon_status": values["coupon_status"],
        "active_from": values["active_from"],
        "active_to": values["active_to"],
        "redeemed_at": values["redeemed_at"],
    }


#: The two values of ``reward_redeemed`` only the one-statement redemption knows (PostgreSQL).
_LATE_KEYS = ('"redeemed_reward_id":', '"active_points_after":')


def redeemed_template(values: dict[str, Any]) -> dict[str, Any]:
    """``reward_redeemed``'s row for a statement that fills in the reward's id and points after.

    The body is cut around those two numbers (``payload_0`` id ``payload_1`` points
    ``payload_2``), so the statement joins text and the body reads exactly as on the step path.
    A key followed by ``:`` cannot occur inside a JSON string, where its quote is escaped.
    """
    event_id = str(uuid.uuid4())
    payload = encode(_redeemed_body(event_id, values))
    head, id_key, rest = payload.partition(_LATE_KEYS[0] + "0")
    middle, after_key, tail = rest.partition(_LATE_KEYS[1] + "0")
    assert id_key and after_key, "reward_redeemed's body lost a key"
    return {
        "event_id": event_id,
        "type": EventType.REWARD_REDEEMED.value,
        "version": SCHEMAS[EventType.REWARD_REDEEMED][1],
        "payload_0": head + _LATE_KEYS[0],
        "payload_1": middle + _LATE_KEYS[1],
        "payload_2": tail,
    }


def _redeemed_body(event_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """What :func:`body` makes of :func:`redeemed_data` (id and points after 0), written out:
    the schemas' dump costs more than the rest of a redemption's Python. Test_events holds the
    two equal."""
    now, actor, active_to = values["redeemed_at"], values["redeemed_by"], values["active_to"]
    return {
        "id": event_id,
        "type": EventType.REWARD_REDEEMED.value,
        "version": SCHEMAS[EventType.REWARD_REDEEMED][1],
        "timestamp": now.isoformat(),
        "customer_id": str(values["customer_id"]),
        "data": {
            "redeemed_reward_id": 0,
            "campaign_id": int(values["campaign_id"]),
            "reward_name": str(values["reward_name"]),
            "reward_type": values["reward_type"].value,
            "coupon_code": None if values["coupon_code"] is None else str(values["coupon_code"]),
            "actor": None if actor is None else str(actor),
            "points_spent": int(values["cost_in_points"]),
            "active_points_after": 0,
            "coupon_status": values["coupon_status"].value,
            "active_from": values["active_from"].isoformat(),
            "active_to": None if active_to is None else active_to.isoformat(),
            "redeemed_at": now.isoformat(),
        },
    }


def json_schemas() -> dict[str, type[Schema]]:
    """The schemas by component name, for the OpenAPI document."""
    names: dict[str, type[Schema]] = {"Event": EventSchema, "ExpiredLotData": ExpiredLotData}
    names.update({schema.__name__: schema for schema, _ in SCHEMAS.values()})
    return names
