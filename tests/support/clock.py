"""A clock the tests move by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from flask_loyalty_rewards import clock


class FakeClock:
    """A clock tests move by hand; services read it through ``clock.now``."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: Any) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current

    def set(self, moment: dt.datetime) -> None:
        self.current = moment


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc))
    monkeypatch.setattr(clock, "now", fake)
    return fake
