"""Which provider a payout uses: the built-in ones by name, the host's own by class or path.

``LOYALTY_CASHBACK_PROVIDER`` names the provider new payouts use: ``"manual"`` (the default),
``"paytm"``, or the host's own as a class, an instance, or a dotted path
(``"shop.payouts:BankProvider"`` or ``"shop.payouts.BankProvider"``). A class is called with
the app's config. Each payout keeps the name of the provider it was created with, so switching
providers never moves payouts already under way.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .paytm import PaytmProvider
from .providers import ManualProvider, PayoutProvider, ProviderUnavailable


def _import(path: str) -> Any:
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ProviderUnavailable(f"LOYALTY_CASHBACK_PROVIDER {path!r} is not a dotted path")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ProviderUnavailable(f"cannot import payout provider {path!r}: {exc}") from exc


def configured_provider(config: Mapping[str, Any]) -> PayoutProvider:
    """The provider new payouts go to, from ``LOYALTY_CASHBACK_PROVIDER``."""
    spec = config.get("LOYALTY_CASHBACK_PROVIDER") or "manual"
    if spec == "manual":
        return ManualProvider(config)
    if spec == PaytmProvider.name:
        return PaytmProvider(config)
    if isinstance(spec, str):
        spec = _import(spec)
    provider = spec(config) if isinstance(spec, type) else spec
    if not isinstance(provider, PayoutProvider):
        raise ProviderUnavailable(
            f"{provider!r} is not a payout provider (see flask_loyalty_rewards.cashback."
            "providers.PayoutProvider)"
        )
    return provider


def provider_named(config: Mapping[str, Any], name: str) -> PayoutProvider:
    """The provider a payout was created with."""
    if name == ManualProvider.name:
        return ManualProvider(config)
    if name == PaytmProvider.name:
        return PaytmProvider(config)
    provider = configured_provider(config)
    if provider.name != name:
        raise ProviderUnavailable(
            f"payout provider {name!r} is not configured (LOYALTY_CASHBACK_PROVIDER names "
            f"{provider.name!r})"
        )
    return provider
