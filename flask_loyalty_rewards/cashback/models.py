"""The payout table: one row per cashback redemption, the provider order it stands for."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..models.mixins import _CustomerRow, _enum, check, id_of, index
from ..models.types import Money, UTCDateTime


class PayoutState(enum.Enum):
    """Where a payout stands; the grid's text (``cashback_status``) is derived from it.

    ``sending`` means a transfer request may have reached the provider: whoever picks the row up
    next asks the provider for the order's status before sending anything again.
    """

    INIT = "init"  # created with the redemption, nothing sent yet
    RETRY = "retry"  # failed, an admin asked to send it again (the next attempt's order id)
    SENDING = "sending"  # a transfer request is (or was, if the worker died) under way
    UNKNOWN = "unknown"  # the provider's answer was lost (timeout, 5xx, garbage)
    PENDING = "pending"  # the provider accepted it; the money is on its way
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELING = "canceling"  # an admin cancels it; the points are being returned
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def status_code(self) -> int:
        """The grid's leading number for a payout in this state (:data:`STATUS_INIT`...)."""
        return _STATUS_OF[self]


#: The provider name of payouts an admin settles by hand (the default provider's).
MANUAL_PROVIDER = "manual"

FINAL_STATES = frozenset(
    {PayoutState.SUCCESS, PayoutState.FAILURE, PayoutState.CANCELING, PayoutState.CANCELED}
)
#: States a worker may pick up (when the row is due and not claimed).
OPEN_STATES = frozenset(
    {
        PayoutState.INIT,
        PayoutState.RETRY,
        PayoutState.SENDING,
        PayoutState.UNKNOWN,
        PayoutState.PENDING,
    }
)


#: The grid's leading number (``status_code``): nothing sent yet, paid, failed, on its way.
STATUS_INIT = 0
STATUS_SUCCESS = 1
STATUS_FAILURE = 2
STATUS_PENDING = 3

_STATUS_OF = {
    PayoutState.INIT: STATUS_INIT,
    PayoutState.RETRY: STATUS_PENDING,
    PayoutState.SENDING: STATUS_INIT,
    PayoutState.UNKNOWN: STATUS_PENDING,
    PayoutState.PENDING: STATUS_PENDING,
    PayoutState.SUCCESS: STATUS_SUCCESS,
    PayoutState.FAILURE: STATUS_FAILURE,
    PayoutState.CANCELING: STATUS_FAILURE,
    PayoutState.CANCELED: STATUS_FAILURE,
}


def status_text(status_code: int, provider_code: str, message: str) -> str:
    """The grid's Cashback status, e.g. ``2: DE_602: Insufficient balance``.

    Here, beside the row it describes, so the model's :attr:`CashbackPayoutMixin.status_text`
    and the services that copy it onto the redeemed reward share one formatter.
    """

    def clean(value: str) -> str:
        return " ".join(str(value).split()) or "-"

    return f"{status_code}: {clean(provider_code)}: {clean(message)}"[:255]


class CashbackPayoutMixin(_CustomerRow):
    """Money owed to a customer for a cashback reward, and what the provider said about it.

    ``order_id`` is the current attempt's: generated at redeem time and sent on every request
    of that attempt (the provider deduplicates on it, so a lost answer never pays twice). An
    admin's retry of a failed payout starts the next attempt, ``<first order id>-R2``, ``-R3``...
    """

    __loyalty_table__ = "cashback_payout"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    redeemed_reward_id: Mapped[int] = id_of("redeemed_reward", nullable=False, unique=True)
    provider: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    order_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    destination_phone: Mapped[str | None] = mapped_column(sa.String(32))
    destination_account: Mapped[str | None] = mapped_column(sa.String(64))
    destination_ifsc: Mapped[str | None] = mapped_column(sa.String(16))
    destination_name: Mapped[str | None] = mapped_column(sa.String(120))
    state: Mapped[PayoutState] = mapped_column(_enum(PayoutState), nullable=False)
    #: The grid's leading number: 0 INIT, 1 success, 2 failure, 3 pending.
    status_code: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    provider_code: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    provider_message: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    #: The provider's own id of the transfer, once it told us.
    provider_reference: Mapped[str | None] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    #: When a worker should look at it next; NULL: only a person or a callback moves it on.
    next_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    __loyalty_args__ = (
        # The worker's scan: open payouts by when they are due.
        index("payout_due", "state", "next_check_at", "id"),
        check("payout_amount", "amount > 0"),
        check("payout_attempts", "attempts >= 0"),
        check("payout_status", "status_code IN (0, 1, 2, 3)"),
    )

    @property
    def status_text(self) -> str:
        return status_text(self.status_code, self.provider_code, self.provider_message)

    def __str__(self) -> str:
        return self.order_id
