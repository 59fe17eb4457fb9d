"""Saved filters of the Redeemed rewards grid: one click to the rows an admin works through.

A preset is a name and a condition built at request time (so "expiring in 7 days" moves with
the clock), applied on top of the grid's own filters and search. The built-in ones are below;
``LOYALTY_ADMIN_PRESETS`` adds the host's, replaces a built-in one by key, or hides one with
``None``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..i18n import LazyString, lazy_gettext
from ..models import DeliveryStatus, RewardType

#: ``where(model, now)``: a SQL condition on the grid's model, built per request.
Condition = Callable[[Any, dt.datetime], Any]
KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class GridPreset:
    """A saved filter: its button's ``label`` and ``where(model, now)``, a SQL condition."""

    #: Text, or a lazy translation (``flask_babel.lazy_gettext``) shown in the admin's locale.
    label: str | LazyString
    where: Condition


def gifts_awaiting_shipment(rr: Any, now: dt.datetime) -> Any:
    """Used gifts whose delivery is Ordered: the ones to pack and ship."""
    return sa.and_(
        rr.reward_type == RewardType.GIFT,
        rr.used.is_(True),
        rr.delivery_status == DeliveryStatus.ORDERED,
        rr.canceled_at.is_(None),
    )


def expiring_within(days: int) -> Condition:
    """Active, unused coupons whose validity ends within ``days`` days from now."""

    def where(rr: Any, now: dt.datetime) -> Any:
        return rr.expiring_between(now, now + dt.timedelta(days=days))

    return where


def cashback_payouts_failing(models: Any) -> Condition:
    """Cashback rewards whose payout failed and waits for an admin (retry or cancel)."""
    from ..cashback.models import PayoutState

    payout = models.CashbackPayout

    def where(rr: Any, now: dt.datetime) -> Any:
        failed = sa.select(payout.redeemed_reward_id).where(payout.state == PayoutState.FAILURE)
        return sa.and_(rr.reward_type == RewardType.CASHBACK, rr.id.in_(failed))

    return where


def builtin_presets(models: Any) -> dict[str, GridPreset]:
    return {
        "gifts-awaiting-shipment": GridPreset(
            lazy_gettext("Gifts awaiting shipment"), gifts_awaiting_shipment
        ),
        "expiring-in-7-days": GridPreset(
            lazy_gettext("Active and unused, expiring in 7 days"), expiring_within(7)
        ),
        "cashback-failing": GridPreset(
            lazy_gettext("Cashback payouts failing"), cashback_payouts_failing(models)
        ),
    }


def grid_presets(models: Any, configured: Mapping[str, Any] | None) -> dict[str, GridPreset]:
    """The built-in presets with ``LOYALTY_ADMIN_PRESETS`` applied; raises ValueError if bad."""
    presets = builtin_presets(models)
    for key, value in (configured or {}).items():
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise ValueError(
                f"LOYALTY_ADMIN_PRESETS: key {key!r} must be lower-case letters, digits, - or _"
            )
        if value is None:
            presets.pop(key, None)
            continue
        if isinstance(value, tuple) and len(value) == 2:
            value = GridPreset(*value)
        if not (isinstance(value, GridPreset) and isinstance(value.label, (str, LazyString))):
            raise ValueError(
                f"LOYALTY_ADMIN_PRESETS[{key!r}]: a GridPreset, a (label, where) pair or None"
            )
        if not callable(value.where):
            raise ValueError(f"LOYALTY_ADMIN_PRESETS[{key!r}]: where must be callable")
        presets[key] = value
    return presets
