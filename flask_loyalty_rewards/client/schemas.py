"""marshmallow 4 schemas of the JSON API: the contract, and the source of the OpenAPI document.

Every field is declared explicitly; request schemas refuse unknown fields (``RAISE``) and never
load a customer id, which always comes from the host's ``customer_loader``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, missing, pre_dump, validate

from .. import clock
from ..bounds import MAX_COUNT, MAX_ID, parse_whole
from ..models import CouponStatus, DeliveryStatus, RewardType
from ..services.catalog import MAX_PER_PAGE

_ID = validate.Range(min=1, max=MAX_ID)
#: Idempotency keys (the ``Idempotency-Key`` header): 1-255 visible ASCII characters (a UUID is
#: a good choice). The OpenAPI document states this very pattern (ECMA-262 and Python read it
#: alike).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class WholeNumber(fields.Integer):
    """An integer from a query string: ASCII digits only (``int()`` takes any script's digits)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and parse_whole(value) is None:
            raise self.make_error("invalid")
        number: int = super()._deserialize(value, attr, data, **kwargs)
        return number


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable, machine-readable."})
    message = fields.String(required=True, metadata={"description": "For people; may change."})
    details = fields.Dict(keys=fields.String(), required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class RewardTypeLabel(fields.String):
    """The label of the object's ``reward_type``, in the current locale."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        reward_type: Any = super().get_value(obj, "reward_type", accessor, default)
        return reward_type.label


class _RewardKindSchema(Schema):
    """What kind of reward it is: the type, and its label for people."""

    reward_type = fields.Enum(RewardType, by_value=True, required=True)
    reward_type_label = RewardTypeLabel(required=True)


class RewardSchema(_RewardKindSchema):
    """A reward campaign as one customer sees it now."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    cost_in_points = fields.Integer(required=True)
    points_needed = fields.Integer(
        required=True, metadata={"description": "cost - active points, at least 0"}
    )
    can_redeem = fields.Boolean(required=True)
    reason = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "The first reason it cannot be redeemed (not_started, ended, "
            "sold_out, customer_limit, no_codes_left, cashback_not_configured, "
            "cashback_unavailable, not_enough_points); null when it can."
        },
    )
    reasons = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "Every reason it cannot be redeemed, in that order; empty when it can."
        },
    )
    message = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": 'Every reason in words, for people; exactly "You must have '
            'N more points to get reward" when points are all that is missing.'
        },
    )
    active_from = fields.AwareDateTime(allow_none=True, required=True)
    active_to = fields.AwareDateTime(allow_none=True, required=True)


class RewardListSchema(Schema):
    items = fields.List(fields.Nested(RewardSchema), required=True)


class RedeemedRewardSchema(_RewardKindSchema):
    """One reward the customer redeemed, as it stands now."""

    id = fields.Integer(required=True)
    campaign_id = fields.Integer(required=True)
    reward_name = fields.String(required=True)
    coupon_code = fields.String(allow_none=True, required=True)
    cost_in_points = fields.Integer(required=True)
    active_points_after = fields.Integer(
        required=True, metadata={"description": "The customer's active points right after."}
    )
    redeemed_at = fields.AwareDateTime(required=True)
    active_from = fields.AwareDateTime(required=True)
    active_to = fields.AwareDateTime(allow_none=True, required=True)
    coupon_status = fields.Enum(CouponStatus, by_value=True, required=True)
    used = fields.Boolean(required=True)
    used_at = fields.AwareDateTime(allow_none=True, required=True)
    delivery_status = fields.Enum(DeliveryStatus, by_value=True, allow_none=True, required=True)
    cashback_status = fields.String(allow_none=True, required=True)

    @pre_dump
    def _as_of_now(self, row: Any, **kwargs: Any) -> dict[str, Any]:
        """Show the coupon status time has made, even before the expiry job has run."""
        return {name: getattr(row, name) for name in self.fields if name != "reward_type_label"} | {
            "coupon_status": row.status_at(clock.now())
        }


class RedeemedRewardPageSchema(Schema):
    items = fields.List(fields.Nested(RedeemedRewardSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class LotSchema(Schema):
    """Points earned together that still hold points."""

    id = fields.Integer(required=True)
    points = fields.Integer(required=True, attribute="remaining")
    earned_points = fields.Integer(required=True, attribute="amount")
    earned_at = fields.AwareDateTime(required=True)
    available_from = fields.AwareDateTime(allow_none=True, required=True)
    expires_at = fields.AwareDateTime(
        allow_none=True, required=True, metadata={"description": "null: never expires"}
    )
    pending = fields.Boolean(required=True, metadata={"description": "Not spendable yet."})
    reason = fields.String(allow_none=True, required=True)


class ExpirySchema(Schema):
    expires_at = fields.AwareDateTime(required=True)
    points = fields.Integer(required=True)


class PointsSchema(Schema):
    active = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    next_expiry = fields.Nested(ExpirySchema, allow_none=True, required=True)
    lots = fields.List(fields.Nested(LotSchema), required=True)


class RedeemRequestSchema(Schema):
    campaign_id = fields.Integer(required=True, strict=True, validate=_ID)


class PageQuerySchema(Schema):
    """Query string of paginated listings; other query parameters (cache busters) are ignored."""

    class Meta:
        unknown = EXCLUDE

    page = WholeNumber(load_default=1, validate=validate.Range(min=1, max=MAX_COUNT))
    per_page = WholeNumber(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))
