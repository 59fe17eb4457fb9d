"""Enumerations stored as VARCHAR (``native_enum=False``) so adding a member needs no ALTER TYPE."""

from __future__ import annotations

import enum


class _Labelled(enum.Enum):
    @property
    def label(self) -> str:
        return _LABELS[self]


class RewardType(_Labelled):
    PERCENTAGE_DISCOUNT_CODE = "percentage_discount_code"
    CASHBACK = "cashback"
    DISCOUNT_CODE = "discount_code"
    FREE_DELIVERY = "free_delivery"
    GIFT = "gift"
    EVENT_INVITATION = "event_invitation"
    VALUE_CODE = "value_code"
    CUSTOM = "custom"


class CouponStatus(_Labelled):
    INACTIVE = "inactive"
    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELED = "canceled"


class DeliveryStatus(_Labelled):
    ORDERED = "ordered"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELED = "canceled"


class CodeSource(_Labelled):
    """Where a campaign's coupon codes come from."""

    GENERATED = "generated"
    POOL = "pool"
    SHARED = "shared"
    NONE = "none"


class EntryKind(_Labelled):
    EARN = "earn"
    SPEND = "spend"
    EXPIRE = "expire"
    REFUND = "refund"
    REVOKE = "revoke"
    ADJUST = "adjust"


class HistoryEvent(_Labelled):
    REDEEMED = "redeemed"
    ACTIVATED = "activated"
    USED = "used"
    UNUSED = "unused"
    DELIVERY_STATUS = "delivery_status"
    CANCELED = "canceled"
    EXPIRED = "expired"


class CampaignEvent(_Labelled):
    CREATED = "created"
    EDITED = "edited"
    ACTIVATED = "activated"
    DEACTIVATED = "deactivated"
    POOL_UPLOAD = "pool_upload"


_LABELS: dict[enum.Enum, str] = {
    RewardType.PERCENTAGE_DISCOUNT_CODE: "Percentage discount code",
    RewardType.CASHBACK: "Cashback",
    RewardType.DISCOUNT_CODE: "Discount code",
    RewardType.FREE_DELIVERY: "Free delivery",
    RewardType.GIFT: "Gift",
    RewardType.EVENT_INVITATION: "Invitation for the event",
    RewardType.VALUE_CODE: "Value code",
    RewardType.CUSTOM: "Custom campaign",
    CouponStatus.INACTIVE: "Inactive",
    CouponStatus.ACTIVE: "Active",
    CouponStatus.EXPIRED: "Expired",
    CouponStatus.CANCELED: "Canceled",
    DeliveryStatus.ORDERED: "Ordered",
    DeliveryStatus.SHIPPED: "Shipped",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.CANCELED: "Canceled",
    CodeSource.GENERATED: "Generated codes",
    CodeSource.POOL: "Uploaded pool of codes",
    CodeSource.SHARED: "One shared code",
    CodeSource.NONE: "No code",
    CampaignEvent.CREATED: "Created",
    CampaignEvent.EDITED: "Edited",
    CampaignEvent.ACTIVATED: "Activated",
    CampaignEvent.DEACTIVATED: "Deactivated",
    CampaignEvent.POOL_UPLOAD: "Codes uploaded",
    EntryKind.EARN: "Earned",
    EntryKind.SPEND: "Spent on a reward",
    EntryKind.EXPIRE: "Expired",
    EntryKind.REFUND: "Returned by a cancellation",
    EntryKind.REVOKE: "Revoked (order refunded)",
    EntryKind.ADJUST: "Adjusted by an admin",
    HistoryEvent.REDEEMED: "Redeemed",
    HistoryEvent.ACTIVATED: "Activated",
    HistoryEvent.USED: "Marked used",
    HistoryEvent.UNUSED: "Marked unused",
    HistoryEvent.DELIVERY_STATUS: "Delivery status changed",
    HistoryEvent.CANCELED: "Canceled",
    HistoryEvent.EXPIRED: "Expired",
}
