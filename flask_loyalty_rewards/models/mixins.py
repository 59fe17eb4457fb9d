"""Public declarative mixins: the schema of every loyalty table.

:func:`~flask_loyalty_rewards.create_models` turns them into concrete classes on the host's
``db`` metadata. A host that needs more columns can subclass a concrete model's mixin itself.
Foreign keys and table names are read from class attributes the factory sets
(``__loyalty_prefix__``, ``__loyalty_customer_fk__``, ``__loyalty_customer_type__``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from .. import clock
from ..profile import Address
from .enums import (
    CampaignEvent,
    CodeSource,
    CouponStatus,
    DeliveryStatus,
    EntryKind,
    HistoryEvent,
    RewardType,
)
from .types import BIG_ID, ORDER_AMOUNT, Money, UTCDateTime, search_key_type


def _now() -> dt.datetime:
    """Column default: our clock (looked up at call time, so a frozen clock is seen)."""
    return clock.now()


def _enum(enum_cls: type[Any]) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


#: The condition of the partial indexes of open lots (see :func:`has_points_left`).
OPEN_LOTS = "remaining > 0"

#: The backends with partial indexes (``CREATE INDEX ... WHERE``).
PARTIAL_INDEXES = ("postgresql", "sqlite")


def _partial_indexes(
    ddl: Any, target: Any, bind: Any, tables: Any = None, state: Any = None, **kw: Any
) -> bool:
    """``ddl_if``: create an index where the backend has partial indexes."""
    return kw["dialect"].name in PARTIAL_INDEXES


def _no_partial_indexes(
    ddl: Any, target: Any, bind: Any, tables: Any = None, state: Any = None, **kw: Any
) -> bool:
    """``ddl_if``: create the plain variant of a partial index elsewhere."""
    return not _partial_indexes(ddl, target, bind, tables, state, **kw)


#: An index or constraint of a mixin's table, made for one table prefix (``__loyalty_args__``).
TableArg = Callable[[str], tuple[sa.schema.SchemaItem, ...]]


def index(
    name: str, *columns: str, where: str | None = None, elsewhere: tuple[str, ...] | None = None
) -> TableArg:
    """The index ``ix_<prefix><name>``; with ``where``, partial on :data:`PARTIAL_INDEXES`.

    On the other backends a partial index covers every row, or is made on the ``elsewhere``
    columns instead (none: no index there).
    """

    def make(prefix: str) -> tuple[sa.schema.SchemaItem, ...]:
        full_name = f"ix_{prefix}{name}"
        if where is None:
            return (sa.Index(full_name, *columns),)
        partial = sa.Index(
            full_name, *columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where)
        )
        if elsewhere is None:
            return (partial,)
        plain = sa.Index(full_name, *elsewhere).ddl_if(callable_=_no_partial_indexes)
        return (partial.ddl_if(callable_=_partial_indexes), *([plain] if elsewhere else []))

    return make


def unique(name: str, *columns: str) -> TableArg:
    """The unique constraint ``uq_<prefix><name>``."""
    return lambda prefix: (sa.UniqueConstraint(*columns, name=f"uq_{prefix}{name}"),)


def check(name: str, condition: str) -> TableArg:
    """The check constraint ``ck_<prefix><name>``."""
    return lambda prefix: (sa.CheckConstraint(condition, name=f"ck_{prefix}{name}"),)


def id_of(table: str, id_type: Any = sa.Integer, *, ondelete: str | None = None, **kw: Any) -> Any:
    """A mixin's column holding an id of the loyalty table ``table``; ``kw`` go to the column.

    A ``declared_attr``: the foreign key's target carries the concrete class's table prefix. A
    lambda, so that SQLAlchemy reads the type from the attribute's own ``Mapped`` annotation.
    """
    return declared_attr(
        lambda cls: mapped_column(id_type, cls._fk(table, ondelete=ondelete), **kw)
    )


class _LoyaltyTable:
    if TYPE_CHECKING:
        # What the concrete classes made by create_models() have; mixins alone are unmapped.
        __table__: ClassVar[sa.Table]

        def __init__(self, **kwargs: Any) -> None: ...

    __loyalty_prefix__: ClassVar[str] = "loyalty_"
    __loyalty_customer_fk__: ClassVar[str] = "customer.id"
    __loyalty_customer_type__: ClassVar[sa.types.TypeEngine[Any]] = sa.Integer()
    __loyalty_table__: ClassVar[str] = ""
    #: The table's indexes and constraints (:func:`index`, :func:`unique`, :func:`check`), which
    #: ``__table_args__`` makes with the class's prefix in their names (a table with none may set
    #: ``__table_args__`` to a dict of table options instead, as the rollups do).
    __loyalty_args__: ClassVar[tuple[TableArg, ...]] = ()

    @declared_attr.directive
    def __tablename__(cls) -> str:
        return cls.__loyalty_prefix__ + cls.__loyalty_table__

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...] | dict[str, Any]:
        return tuple(item for make in cls.__loyalty_args__ for item in make(cls.__loyalty_prefix__))

    @classmethod
    def _fk(cls, table: str, column: str = "id", **kw: Any) -> sa.ForeignKey:
        return sa.ForeignKey(f"{cls.__loyalty_prefix__}{table}.{column}", **kw)

    @classmethod
    def _customer_column(cls, **kw: Any) -> Mapped[Any]:
        return mapped_column(
            cls.__loyalty_customer_type__,
            sa.ForeignKey(cls.__loyalty_customer_fk__, ondelete="RESTRICT"),
            nullable=False,
            **kw,
        )


class _CustomerRow(_LoyaltyTable):
    """A row that belongs to one of the host's customers (never deleted with them)."""

    @declared_attr
    def customer_id(cls) -> Mapped[Any]:
        return cls._customer_column()


class AccountMixin(_LoyaltyTable):
    """One row per customer: the lock every ledger change takes first, and the cached balance.

    ``balance`` is the sum of ``remaining`` over the customer's lots (pending and not-yet-expired
    included); ``flask loyalty verify`` proves it.
    """

    __loyalty_table__ = "account"

    @declared_attr
    def customer_id(cls) -> Mapped[Any]:
        return cls._customer_column(primary_key=True, autoincrement=False)

    balance: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    __loyalty_args__ = (check("account_balance", "balance >= 0"),)


def has_points_left(remaining: Any) -> sa.ColumnElement[bool]:
    """``remaining > 0``, the condition of the lot indexes, with a literal 0.

    A literal, not a parameter: a prepared statement's generic plan can use a partial index only
    when the query's condition matches the index's own, and PostgreSQL switches to generic plans
    after a few executions.
    """
    condition: sa.ColumnElement[bool] = remaining > sa.literal_column("0")
    return condition


class PointsLotMixin(_CustomerRow):
    """Points earned together, spent and expired together."""

    __loyalty_table__ = "points_lot"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)

    amount: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    remaining: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    earned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    available_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: ``expires_at`` or a date after every real one: the spending order, servable by an index.
    spend_order_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(sa.String(255))
    reference: Mapped[str | None] = mapped_column(sa.String(255))

    __loyalty_args__ = (
        check("lot_amount", "amount > 0"),
        check("lot_remaining", "remaining >= 0 AND remaining <= amount"),
        index("lot_spend", "customer_id", "spend_order_at", "earned_at", "id", where=OPEN_LOTS),
        index("lot_pending", "customer_id", "available_from", where=OPEN_LOTS),
        # Open lots by due date (the expiry job, the dashboard's "expiring soon"), with the
        # points left, so the dashboard's sums read the index alone. The index changes with
        # ``remaining`` anyway where it is partial; MariaDB's is not, and leaves it out so
        # that spending points does not rewrite it.
        index(
            "lot_due", "spend_order_at", "remaining", where=OPEN_LOTS, elsewhere=("spend_order_at",)
        ),
    )

    @property
    def is_closed(self) -> bool:
        """Expired or revoked: points returned to it are taken away again at once."""
        return self.expired_at is not None or self.revoked_at is not None


class LedgerEntryMixin(_CustomerRow):
    """Append-only: one signed change of a customer's balance, with why and who."""

    __loyalty_table__ = "ledger_entry"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)

    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind), nullable=False)
    delta: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    reason: Mapped[str | None] = mapped_column(sa.String(255))
    reference: Mapped[str | None] = mapped_column(sa.String(255))
    actor: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    lot_id: Mapped[int | None] = id_of("points_lot", BIG_ID)
    redeemed_reward_id: Mapped[int | None] = id_of("redeemed_reward")
    reverses_entry_id: Mapped[int | None] = id_of("ledger_entry", BIG_ID, unique=True)

    __loyalty_args__ = (
        index("entry_customer", "customer_id", "created_at", "id"),
        # One spend, one refund, ... per redeemed reward: a second one is a double charge.
        unique("entry_reward_kind", "redeemed_reward_id", "kind"),
    )


class AllocationMixin(_LoyaltyTable):
    """How many points an entry took from (spend, expire, revoke) or gave back to (refund) a lot."""

    __loyalty_table__ = "allocation"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    entry_id: Mapped[int] = id_of("ledger_entry", BIG_ID, nullable=False, index=True)
    lot_id: Mapped[int] = id_of("points_lot", BIG_ID, nullable=False, index=True)
    points: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    __loyalty_args__ = (check("allocation_points", "points > 0"),)


class RewardCampaignMixin(_LoyaltyTable):
    """A reward customers buy with points."""

    __loyalty_table__ = "campaign"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    reward_type: Mapped[RewardType] = mapped_column(_enum(RewardType), nullable=False)
    cost_in_points: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    tax_value: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0.00"))
    reward_value: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    #: Cashback worth ``cost_in_points`` times this (when ``reward_value`` is not set); six places,
    #: since a point is often worth a fraction of the smallest coin (see docs: cashback).
    cashback_point_value: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 6, asdecimal=True))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    active_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    active_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    visible_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    visible_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    total_limit: Mapped[int | None] = mapped_column(sa.Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(sa.Integer)
    days_inactive: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    days_valid: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    fulfillment_tracking: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    code_source: Mapped[CodeSource] = mapped_column(
        _enum(CodeSource), nullable=False, default=CodeSource.GENERATED
    )
    shared_code: Mapped[str | None] = mapped_column(sa.String(64))
    #: Slots of the total limit taken (cancelled redemptions give theirs back); counted only
    #: while the campaign has a limit, and counted afresh whenever one is set.
    redeemed_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    if TYPE_CHECKING:
        #: Redemptions not cancelled, counted from the rewards (deferred: loaded when read).
        times_redeemed: Mapped[int]
    #: Set from our clock on insert; ``updated_at`` again by every ORM flush that changes the row
    #: (a Core UPDATE, such as a redemption counting its slot, leaves it alone).
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=_now)

    __loyalty_args__ = (
        check("campaign_cost", "cost_in_points > 0"),
        check("campaign_count", "redeemed_count >= 0"),
        check("campaign_days", "days_inactive >= 0 AND days_valid >= 0"),
    )

    def __str__(self) -> str:
        return self.name


class CouponCodeMixin(_LoyaltyTable):
    """A code of an uploaded pool; handed out once, never put back."""

    __loyalty_table__ = "coupon_code"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    campaign_id: Mapped[int] = id_of("campaign", ondelete="CASCADE", nullable=False)
    code: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    redeemed_reward_id: Mapped[int | None] = id_of("redeemed_reward", unique=True)
    handed_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=_now)

    __loyalty_args__ = (index("code_free", "campaign_id", "handed_out_at", "id"),)


#: Where a redeemed reward keeps each field of its delivery :class:`Address`.
ADDRESS_COLUMNS = {field.name: f"address_{field.name}" for field in dataclasses.fields(Address)}


def address_values(address: Address) -> dict[str, str]:
    """The address columns' values of a reward delivered to ``address``."""
    return {column: getattr(address, name) for name, column in ADDRESS_COLUMNS.items()}


class RedeemedRewardMixin(_CustomerRow):
    """One reward a customer got, with everything copied as it was at redeem time."""

    __loyalty_table__ = "redeemed_reward"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    campaign_id: Mapped[int] = id_of("campaign", nullable=False)

    @declared_attr
    def campaign(cls) -> Mapped[Any]:
        return relationship("RewardCampaign", lazy="joined", innerjoin=True)

    coupon_code: Mapped[str | None] = mapped_column(sa.String(64))
    #: The code again when it belongs to this reward alone (generated or pool); NULL for shared.
    unique_code: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    reward_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    reward_type: Mapped[RewardType] = mapped_column(_enum(RewardType), nullable=False)
    cost_in_points: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    tax_value: Mapped[Decimal] = mapped_column(Money, nullable=False)
    reward_value: Mapped[Decimal | None] = mapped_column(Money)
    customer_email: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    customer_phone: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    customer_first_name: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    customer_last_name: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    address_line1: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    address_line2: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    address_postal_code: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    address_city: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    address_region: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    address_country: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    active_points_after: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    redeemed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    redeemed_by: Mapped[str | None] = mapped_column(sa.String(255))
    #: Whether points were taken (an admin may grant a reward for free).
    charged: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    active_from: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    active_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_order_reference: Mapped[str | None] = mapped_column(sa.String(255))
    coupon_status: Mapped[CouponStatus] = mapped_column(_enum(CouponStatus), nullable=False)
    delivery_status: Mapped[DeliveryStatus | None] = mapped_column(_enum(DeliveryStatus))
    cashback_status: Mapped[str | None] = mapped_column(sa.String(255))
    canceled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: Case-folded copies of the customer data and the code, searched by prefix (the admin
    #: grid's search, services/search.py); set from the columns above on every insert.
    search_email: Mapped[str] = mapped_column(search_key_type(255), nullable=False, default="")
    search_name: Mapped[str] = mapped_column(search_key_type(241), nullable=False, default="")
    search_surname: Mapped[str] = mapped_column(search_key_type(120), nullable=False, default="")
    search_phone: Mapped[str] = mapped_column(search_key_type(64), nullable=False, default="")
    search_code: Mapped[str] = mapped_column(search_key_type(64), nullable=False, default="")

    __loyalty_args__ = (
        index("rr_redeemed", "redeemed_at", "id"),
        *(
            index(f"rr_{key}", f"search_{key}")
            for key in ("email", "name", "surname", "phone", "code")
        ),
        index("rr_used_at", "used_at", "id"),
        index("rr_used", "used", "redeemed_at", "id"),
        index("rr_delivery", "delivery_status", "redeemed_at", "id"),
        # The reward type filter, alone or with a delivery status, newest first; with used
        # and cancelled, so the gifts awaiting shipment are counted from the index alone.
        index(
            "rr_type", "reward_type", "delivery_status", "redeemed_at", "id", "used", "canceled_at"
        ),
        # Cancelled rewards (the dashboard takes them off its rollup): partial, so a redemption
        # adds nothing to it. MariaDB finds them through ix_rr_status (coupon status).
        index("rr_canceled", "redeemed_at", where="canceled_at IS NOT NULL", elsewhere=()),
        index("rr_customer", "customer_id", "redeemed_at", "id"),
        index("rr_limit", "campaign_id", "customer_id", "canceled_at"),
        index("rr_status", "coupon_status", "active_to"),
        check("rr_cost", "cost_in_points >= 0"),
    )

    @property
    def delivery_address(self) -> Address:
        return Address(**{name: getattr(self, column) for name, column in ADDRESS_COLUMNS.items()})

    @property
    def display_name(self) -> str:
        """The grid's Reward column: the name with the coupon code in round brackets."""
        return f"{self.reward_name} ({self.coupon_code})" if self.coupon_code else self.reward_name

    def status_at(self, moment: dt.datetime) -> CouponStatus:
        """The coupon status as time has made it, whether or not the expiry job has run yet."""
        if self.canceled_at is not None:
            return CouponStatus.CANCELED
        if moment < self.active_from:
            return CouponStatus.INACTIVE
        if self.used:
            return CouponStatus.ACTIVE
        if self.active_to is not None and moment >= self.active_to:
            return CouponStatus.EXPIRED
        return CouponStatus.ACTIVE

    @classmethod
    def active_at(cls, moment: dt.datetime) -> sa.ColumnElement[bool]:
        """SQL for ``status_at(moment) is ACTIVE`` (an index serves it: coupon status, active to).

        The stored ``coupon_status`` may lag the clock (the expiry job moves it), so it narrows
        the range only: not cancelled, active from, and used or not yet past active to.
        """
        condition: sa.ColumnElement[bool] = sa.and_(
            cls.coupon_status.in_([CouponStatus.INACTIVE, CouponStatus.ACTIVE]),
            cls.canceled_at.is_(None),
            cls.active_from <= moment,
            sa.or_(cls.used.is_(True), cls.active_to.is_(None), cls.active_to > moment),
        )
        return condition

    @classmethod
    def expiring_between(cls, moment: dt.datetime, until: dt.datetime) -> sa.ColumnElement[bool]:
        """SQL for coupons Active and unused at ``moment`` whose validity ends by ``until``.

        :meth:`active_at` with ``used`` false and ``active_to`` in ``(moment, until]``, written
        as one range of the (coupon status, active to) index.
        """
        condition: sa.ColumnElement[bool] = sa.and_(
            cls.coupon_status.in_([CouponStatus.INACTIVE, CouponStatus.ACTIVE]),
            cls.active_to > moment,
            cls.active_to <= until,
            cls.canceled_at.is_(None),
            cls.active_from <= moment,
            cls.used.is_(False),
        )
        return condition

    def __str__(self) -> str:
        return self.display_name


class RewardHistoryMixin(_LoyaltyTable):
    """Append-only: every change of a redeemed reward, with who and when."""

    __loyalty_table__ = "reward_history"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    redeemed_reward_id: Mapped[int] = id_of("redeemed_reward", nullable=False, index=True)
    event: Mapped[HistoryEvent] = mapped_column(_enum(HistoryEvent), nullable=False)
    from_value: Mapped[str | None] = mapped_column(sa.String(32))
    to_value: Mapped[str | None] = mapped_column(sa.String(32))
    actor: Mapped[str | None] = mapped_column(sa.String(255))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class CampaignTranslationMixin(_LoyaltyTable):
    """A campaign's name and description in one locale; a blank one falls back to the
    campaign's own (services/translations.py picks the customer's)."""

    __loyalty_table__ = "campaign_translation"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    campaign_id: Mapped[int] = id_of("campaign", ondelete="CASCADE", nullable=False)
    #: A locale identifier as Babel writes it: ``pl``, ``pt_BR``.
    locale: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")

    __loyalty_args__ = (unique("translation_locale", "campaign_id", "locale"),)

    def __str__(self) -> str:
        return self.locale


class CampaignAuditMixin(_LoyaltyTable):
    """Append-only: a campaign's creation, each field edited (old, new), (de)activation and
    pool upload, with who and when (models/audit.py records them)."""

    __loyalty_table__ = "campaign_audit"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    campaign_id: Mapped[int] = id_of("campaign", nullable=False)
    event: Mapped[CampaignEvent] = mapped_column(_enum(CampaignEvent), nullable=False)
    field: Mapped[str | None] = mapped_column(sa.String(64))
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)
    actor: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    __loyalty_args__ = (index("audit_campaign", "campaign_id", "created_at", "id"),)


class IdempotencyKeyMixin(_CustomerRow):
    """A request already carried out: the same key replays it, a different request is refused."""

    __loyalty_table__ = "idempotency_key"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)

    scope: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    result_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    result_json: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    __loyalty_args__ = (unique("idempotency", "customer_id", "scope", "key"),)


class OrderPointsMixin(_CustomerRow):
    """The points a host's order earned, and how much of the order was refunded since.

    One row per customer and order id: booking an order twice finds it, so it earns once.
    """

    __loyalty_table__ = "order_points"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)

    order_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    amount: Mapped[Decimal] = mapped_column(ORDER_AMOUNT, nullable=False)
    points: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    lot_id: Mapped[int | None] = id_of("points_lot", BIG_ID)
    refunded_amount: Mapped[Decimal] = mapped_column(
        ORDER_AMOUNT, nullable=False, default=Decimal("0")
    )
    #: Points :func:`reverse_order` took back from the order's lot so far.
    reversed_points: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    ordered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=_now)

    __loyalty_args__ = (
        unique("order_points", "customer_id", "order_id"),
        check("order_points", "points >= 0 AND reversed_points >= 0"),
        check("order_amount", "amount >= 0 AND refunded_amount >= 0 AND refunded_amount <= amount"),
    )
