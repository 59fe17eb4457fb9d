"""The one place "now" comes from.

Services never ask the database for the time, so hosts and tests can freeze or move the clock by
replacing :func:`now` (``monkeypatch.setattr(clock, "now", ...)``) or with freezegun.
"""

from __future__ import annotations

import datetime as _dt


def now() -> _dt.datetime:
    """The current time as an aware UTC datetime."""
    return _dt.datetime.now(_dt.timezone.utc)


def ensure_aware(value: _dt.datetime, name: str = "datetime") -> _dt.datetime:
    """Return ``value`` in UTC; naive datetimes are refused because their zone is a guess."""
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(_dt.timezone.utc)


def optional_aware(value: _dt.datetime | None, name: str) -> _dt.datetime | None:
    return None if value is None else ensure_aware(value, name)
