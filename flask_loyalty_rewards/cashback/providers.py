"""The payout provider interface and the manual provider.

A provider turns a :class:`TransferRequest` into money in the customer's wallet or account. It
never raises for a transport problem: a timeout, a refused connection, a 5xx or an answer it
cannot read is an :attr:`Outcome.UNKNOWN` result, which the service keeps as a retryable
"pending" payout and settles by asking :meth:`PayoutProvider.query_status` before sending again.

:mod:`~flask_loyalty_rewards.cashback.registry` picks the provider a payout uses.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from .models import MANUAL_PROVIDER


class Outcome(enum.Enum):
    SUCCESS = "success"  # the money arrived
    FAILURE = "failure"  # definitely not paid; safe to retry (under the next attempt's order id)
    PENDING = "pending"  # accepted, not settled yet
    UNKNOWN = "unknown"  # we cannot tell whether the provider has the order
    NOT_FOUND = "not_found"  # status query only: the provider never got this order


@dataclass(frozen=True)
class PayoutDestination:
    """Where the customer's money goes: a wallet (phone) or a bank account (number and IFSC)."""

    phone: str | None = None
    account_number: str | None = None
    ifsc: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class TransferRequest:
    order_id: str
    amount: Decimal
    currency: str
    destination: PayoutDestination
    redeemed_reward_id: int


@dataclass(frozen=True)
class ProviderResult:
    """What the provider said, in its own words (``code``, ``message``) and in ours.

    A notification states the ``amount`` and ``currency`` it is about when the provider sends
    them; the service refuses one that does not match the payout.
    """

    outcome: Outcome
    code: str
    message: str
    order_id: str | None = None
    reference: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


class ProviderUnavailable(Exception):
    """The provider is misconfigured or does not take callbacks."""


class InvalidCallback(Exception):
    """A notification whose signature or content does not check out."""


@runtime_checkable
class PayoutProvider(Protocol):
    #: Stored on each payout; how a payout finds its provider again.
    name: str
    #: True when the provider works on its own (workers send and poll); False when a person
    #: settles each payout (manual).
    automatic: bool

    def refusal(self, request: TransferRequest) -> str | None:
        """Why this request can never be paid (bad currency, no destination), or None."""

    def create_transfer(self, request: TransferRequest) -> ProviderResult:
        """Ask for the transfer; the provider must treat a repeated ``order_id`` as the same one."""

    def query_status(self, request: TransferRequest) -> ProviderResult:
        """The order's status now; ``NOT_FOUND`` only when the provider surely never got it."""

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> ProviderResult:
        """Check a notification's signature and read it; raise :class:`InvalidCallback`.

        The result names the order id of the attempt it is about, and the amount (and currency,
        if the provider sends one) it says was paid or refused.
        """


class ManualProvider:
    """For shops without a payment partner: an admin pays by hand, then marks it paid or failed."""

    name = MANUAL_PROVIDER
    automatic = False
    CODE = "MANUAL"

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        pass

    def refusal(self, request: TransferRequest) -> str | None:
        return None

    def create_transfer(self, request: TransferRequest) -> ProviderResult:
        return ProviderResult(
            Outcome.PENDING, self.CODE, "Waiting for an admin to pay it out", request.order_id
        )

    def query_status(self, request: TransferRequest) -> ProviderResult:
        return self.create_transfer(request)

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> ProviderResult:
        raise ProviderUnavailable("the manual provider takes no callbacks")
