"""Plain value objects the host hands us about its customers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    region: str = ""
    country: str = ""

    def lines(self) -> list[str]:
        """The address as printed on a parcel, empty parts left out."""
        city_line = " ".join(p for p in (self.postal_code, self.city) if p)
        parts = [self.line1, self.line2, city_line, self.region, self.country]
        return [p for p in parts if p]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def is_empty(self) -> bool:
        return not self.lines()


@dataclass(frozen=True)
class CustomerProfile:
    """What is copied onto a redeemed reward at redeem time, so later edits do not reroute it."""

    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    address: Address | None = None
