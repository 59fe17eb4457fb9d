"""Concrete models on the host's ``db``: :func:`create_models`."""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, column_property, relationship

from .. import sqlite as sqlite_transactions
from ..cashback.models import CashbackPayoutMixin
from ..clock import ensure_aware
from ..services import dialect
from . import audit, enums
from .enums import *  # noqa: F403 (the enums list their public names in __all__)
from .events import (
    EventMixin,
    ExpiryReminderMixin,
    WebhookAttemptMixin,
    WebhookDeliveryMixin,
    WebhookEndpointMixin,
)
from .keys import fill_keys
from .mixins import (
    AccountMixin,
    AllocationMixin,
    CampaignAuditMixin,
    CampaignTranslationMixin,
    CouponCodeMixin,
    IdempotencyKeyMixin,
    LedgerEntryMixin,
    OrderPointsMixin,
    PointsLotMixin,
    RedeemedRewardMixin,
    RewardCampaignMixin,
    RewardHistoryMixin,
)
from .rollups import FlowDayMixin, RedemptionDayMixin, RollupMarkMixin
from .types import NEVER, UTCDateTime

__all__ = ["NEVER", "LoyaltyModels", "create_models"]
__all__ += enums.__all__


@dataclass(frozen=True)
class LoyaltyModels:
    """The concrete model classes of one ``db``; every service and view reads them from here."""

    Account: type[AccountMixin]
    PointsLot: type[PointsLotMixin]
    LedgerEntry: type[LedgerEntryMixin]
    Allocation: type[AllocationMixin]
    RewardCampaign: type[RewardCampaignMixin]
    CouponCode: type[CouponCodeMixin]
    RedeemedReward: type[RedeemedRewardMixin]
    RewardHistory: type[RewardHistoryMixin]
    IdempotencyKey: type[IdempotencyKeyMixin]
    OrderPoints: type[OrderPointsMixin]
    CashbackPayout: type[CashbackPayoutMixin]
    Event: type[EventMixin]
    WebhookEndpoint: type[WebhookEndpointMixin]
    WebhookDelivery: type[WebhookDeliveryMixin]
    WebhookAttempt: type[WebhookAttemptMixin]
    ExpiryReminder: type[ExpiryReminderMixin]
    CampaignAudit: type[CampaignAuditMixin]
    FlowDay: type[FlowDayMixin]
    RedemptionDay: type[RedemptionDayMixin]
    RollupMark: type[RollupMarkMixin]
    CampaignTranslation: type[CampaignTranslationMixin]
    customer_model: type[Any]
    customer_pk: str
    customer_pk_type: sa.types.TypeEngine[Any]
    table_prefix: str

    def tables(self) -> list[sa.Table]:
        """Our tables in dependency order (parents first)."""
        classes = [
            self.RewardCampaign,
            self.Account,
            self.PointsLot,
            self.RedeemedReward,
            self.CouponCode,
            self.LedgerEntry,
            self.Allocation,
            self.RewardHistory,
            self.IdempotencyKey,
            self.OrderPoints,
            self.CashbackPayout,
            self.Event,
            self.WebhookEndpoint,
            self.WebhookDelivery,
            self.WebhookAttempt,
            self.ExpiryReminder,
            self.CampaignAudit,
            self.FlowDay,
            self.RedemptionDay,
            self.RollupMark,
            self.CampaignTranslation,
        ]
        return [c.__table__ for c in classes]


_created: weakref.WeakKeyDictionary[Any, dict[str, LoyaltyModels]] = weakref.WeakKeyDictionary()


def create_models(
    db: Any, *, customer_model: type[Any], table_prefix: str = "loyalty_"
) -> LoyaltyModels:
    """Create the loyalty models on ``db``'s metadata, linked to the host's customer model.

    The classes use their own declarative registry over ``db.metadata``: the host's migrations
    and foreign keys see our tables, yet nothing the host's ``db.Model`` base adds (columns,
    ``__init__``, reserved names) leaks into them. Calling it again with the same arguments
    returns the same classes.
    """
    if not table_prefix or not table_prefix.replace("_", "").isalnum():
        raise ValueError("table_prefix must be letters, digits and underscores")
    mapper = sa.inspect(customer_model, raiseerr=False)
    if mapper is None or not hasattr(mapper, "primary_key"):
        raise TypeError(f"customer_model must be a mapped class, not {customer_model!r}")
    if len(mapper.primary_key) != 1:
        raise TypeError("customer_model must have a single-column primary key")
    pk_column = mapper.primary_key[0]
    pk_attr = mapper.get_property_by_column(pk_column).key

    per_db = _created.setdefault(db, {})
    cached = per_db.get(table_prefix)
    if cached is not None:
        if cached.customer_model is not customer_model:
            raise RuntimeError(
                f"create_models() was already called for this db with prefix {table_prefix!r} "
                f"and customer model {cached.customer_model.__name__}"
            )
        return cached

    pk_type = pk_column.type.copy() if hasattr(pk_column.type, "copy") else pk_column.type
    fk_target = f"{pk_column.table.fullname}.{pk_column.name}"

    class Base(DeclarativeBase):
        metadata = db.metadata

    attrs: dict[str, Any] = {
        "__loyalty_prefix__": table_prefix,
        "__loyalty_customer_fk__": fk_target,
        "__loyalty_customer_type__": pk_type,
    }

    def concrete(name: str, mixin: type[Any]) -> type[Any]:
        return type(name, (mixin, Base), {"__module__": __name__, **attrs})

    models = LoyaltyModels(
        RewardCampaign=concrete("RewardCampaign", RewardCampaignMixin),
        Account=concrete("Account", AccountMixin),
        PointsLot=concrete("PointsLot", PointsLotMixin),
        RedeemedReward=concrete("RedeemedReward", RedeemedRewardMixin),
        CouponCode=concrete("CouponCode", CouponCodeMixin),
        LedgerEntry=concrete("LedgerEntry", LedgerEntryMixin),
        Allocation=concrete("Allocation", AllocationMixin),
        RewardHistory=concrete("RewardHistory", RewardHistoryMixin),
        IdempotencyKey=concrete("IdempotencyKey", IdempotencyKeyMixin),
        OrderPoints=concrete("OrderPoints", OrderPointsMixin),
        CashbackPayout=concrete("CashbackPayout", CashbackPayoutMixin),
        Event=concrete("Event", EventMixin),
        WebhookEndpoint=concrete("WebhookEndpoint", WebhookEndpointMixin),
        WebhookDelivery=concrete("WebhookDelivery", WebhookDeliveryMixin),
        WebhookAttempt=concrete("WebhookAttempt", WebhookAttemptMixin),
        ExpiryReminder=concrete("ExpiryReminder", ExpiryReminderMixin),
        CampaignAudit=concrete("CampaignAudit", CampaignAuditMixin),
        FlowDay=concrete("FlowDay", FlowDayMixin),
        RedemptionDay=concrete("RedemptionDay", RedemptionDayMixin),
        RollupMark=concrete("RollupMark", RollupMarkMixin),
        CampaignTranslation=concrete("CampaignTranslation", CampaignTranslationMixin),
        customer_model=customer_model,
        customer_pk=pk_attr,
        customer_pk_type=pk_type,
        table_prefix=table_prefix,
    )
    for f in fields(models):
        cls = getattr(models, f.name)
        if isinstance(cls, type) and hasattr(cls, "__table__"):
            _refuse_naive_datetimes(cls)
    _count_redemptions(models)
    _keep_search_keys(models)
    _audit_campaigns(models)
    _translate_campaigns(models)
    per_db[table_prefix] = models
    return models


def _count_redemptions(models: LoyaltyModels) -> None:
    """``times_redeemed``, and the total-limit count kept right whenever a limit is set."""
    campaign, rewards = models.RewardCampaign, models.RedeemedReward.__table__
    campaign.times_redeemed = column_property(
        slots_held(rewards, campaign.id).correlate_except(rewards).scalar_subquery(),
        deferred=True,
    )

    def before_update(mapper: Any, connection: sa.Connection, target: Any) -> None:
        count_slots_when_limited(connection, target, rewards)

    event.listen(campaign, "before_update", before_update)


def slots_held(rewards: sa.Table, campaign_id: Any) -> sa.Select[Any]:
    """How many of a campaign's redemptions hold a slot: those not cancelled (Times redeemed)."""
    return sa.select(sa.func.count()).where(
        rewards.c.campaign_id == campaign_id, rewards.c.canceled_at.is_(None)
    )


def _translate_campaigns(models: LoyaltyModels) -> None:
    """``campaign.translations``: what the admin edits inline on the campaign's form."""
    models.RewardCampaign.translations = relationship(  # type: ignore[attr-defined]
        models.CampaignTranslation,
        back_populates="campaign",
        cascade="all, delete-orphan",
        order_by=models.CampaignTranslation.locale,
    )
    models.CampaignTranslation.campaign = relationship(  # type: ignore[attr-defined]
        models.RewardCampaign, back_populates="translations"
    )


def count_slots_when_limited(connection: sa.Connection, campaign: Any, rewards: sa.Table) -> None:
    """Before a campaign's new total limit is written, count the redemptions that hold a slot.

    Runs on every flush that sets a limit (a mapper event), however the limit is changed.
    Without a limit nothing is counted, so the count starts from the rewards themselves. The
    row lock waits for redemptions in flight (they share-lock the row) and holds back new ones;
    on MariaDB the count is a locking read, to see past the transaction's snapshot.
    """
    history = sa.inspect(campaign).attrs.total_limit.history
    if not history.added or campaign.total_limit is None:
        return
    table = campaign.__table__
    sqlite_transactions.take_write_lock(connection)  # SQLite: the count must not go stale
    connection.execute(
        sa.select(table.c.id).where(table.c.id == campaign.id).with_for_update()
    ).all()
    held = slots_held(rewards, campaign.id)
    campaign.redeemed_count = connection.execute(
        dialect.current_read(connection.dialect.name, held)
    ).scalar_one()


def _audit_campaigns(models: LoyaltyModels) -> None:
    audit.listen(models)


#: The redeemed reward columns its search keys are made from.
SEARCHED_COLUMNS = (
    "customer_email",
    "customer_first_name",
    "customer_last_name",
    "customer_phone",
    "coupon_code",
)


def _keep_search_keys(models: LoyaltyModels) -> None:
    """The ``search_*`` columns follow the snapshot columns, from services and plain ORM code."""

    def before_insert(mapper: Any, connection: sa.Connection, target: Any) -> None:
        fill_keys(target)

    def before_update(mapper: Any, connection: sa.Connection, target: Any) -> None:
        attrs = sa.inspect(target).attrs
        if any(attrs[name].history.has_changes() for name in SEARCHED_COLUMNS):
            fill_keys(target)

    event.listen(models.RedeemedReward, "before_insert", before_insert)
    event.listen(models.RedeemedReward, "before_update", before_update)


def _refuse_naive_datetimes(cls: type[Any]) -> None:
    """Assigning a naive datetime raises ``ValueError`` at once, not at flush time."""

    def check(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
        if value is None or not isinstance(value, dt.datetime):
            if value is not None:
                raise TypeError(f"{initiator.key} must be a datetime")
            return value
        return ensure_aware(value, initiator.key)

    for column in cls.__table__.columns:
        if isinstance(column.type, UTCDateTime):
            event.listen(getattr(cls, column.key), "set", check, retval=True)
