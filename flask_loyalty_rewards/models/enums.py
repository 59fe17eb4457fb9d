"""Enumerations stored as VARCHAR (``native_enum=False``) so adding a member needs no ALTER TYPE."""

from __future__ import annotations

import enum
from typing import Any

from ..i18n import N_, gettext, lazy_gettext

__all__ = [
    "CampaignEvent",
    "CodeSource",
    "CouponStatus",
    "DeliveryStatus",
    "EntryKind",
    "HistoryEvent",
    "RewardType",
]


class _Labelled(enum.Enum):
    @property
    def label(self) -> str:
        """The member's name for people, in the current locale."""
        return gettext(_LABELS[self])

    @property
    def lazy_label(self) -> Any:
        """The label translated where it is shown (for what is built before any request)."""
        return lazy_gettext(_LABELS[self])


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
    RewardType.PERCENTAGE_DISCOUNT_CODE: N_("Percentage discount code"),
    RewardType.CASHBACK: N_("Cashback"),
    RewardType.DISCOUNT_CODE: N_("Discount code"),
    RewardType.FREE_DELIVERY: N_("Free delivery"),
    RewardType.GIFT: N_("Gift"),
    RewardType.EVENT_INVITATION: N_("Invitation for the event"),
    RewardType.VALUE_CODE: N_("Value code"),
    RewardType.CUSTOM: N_("Custom campaign"),
    CouponStatus.INACTIVE: N_("Inactive"),
    CouponStatus.ACTIVE: N_("Active"),
    CouponStatus.EXPIRED: N_("Expired"),
    CouponStatus.CANCELED: N_("Canceled"),
    DeliveryStatus.ORDERED: N_("Ordered"),
    DeliveryStatus.SHIPPED: N_("Shipped"),
    DeliveryStatus.DELIVERED: N_("Delivered"),
    DeliveryStatus.CANCELED: N_("Canceled"),
    CodeSource.GENERATED: N_("Generated codes"),
    CodeSource.POOL: N_("Uploaded pool of codes"),
    CodeSource.SHARED: N_("One shared code"),
    CodeSource.NONE: N_("No code"),
    CampaignEvent.CREATED: N_("Created"),
    CampaignEvent.EDITED: N_("Edited"),
    CampaignEvent.ACTIVATED: N_("Activated"),
    CampaignEvent.DEACTIVATED: N_("Deactivated"),
    CampaignEvent.POOL_UPLOAD: N_("Codes uploaded"),
    EntryKind.EARN: N_("Earned"),
    EntryKind.SPEND: N_("Spent on a reward"),
    EntryKind.EXPIRE: N_("Expired"),
    EntryKind.REFUND: N_("Returned by a cancellation"),
    EntryKind.REVOKE: N_("Revoked (order refunded)"),
    EntryKind.ADJUST: N_("Adjusted by an admin"),
    HistoryEvent.REDEEMED: N_("Redeemed"),
    HistoryEvent.ACTIVATED: N_("Activated"),
    HistoryEvent.USED: N_("Marked used"),
    HistoryEvent.UNUSED: N_("Marked unused"),
    HistoryEvent.DELIVERY_STATUS: N_("Delivery status changed"),
    HistoryEvent.CANCELED: N_("Canceled"),
    HistoryEvent.EXPIRED: N_("Expired"),
}
