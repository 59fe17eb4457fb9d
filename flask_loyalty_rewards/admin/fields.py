"""Form fields and forms the loyalty admin views share."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from flask_admin.form import DateTimeField
from wtforms.fields.choices import SelectChoice


class UTCDateTimeField(DateTimeField):  # type: ignore[misc]
    """A date and time typed in UTC; the model gets an aware datetime (naive ones are refused)."""

    data: Any

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("description", "UTC, as YYYY-MM-DD HH:MM:SS")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        value: Any = self.data
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            self.data = value.replace(tzinfo=dt.timezone.utc)

    def _value(self) -> str:
        if isinstance(self.data, dt.datetime):
            return self.data.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return str(super()._value())


def enum_select(enum_cls: type[Enum], label: str) -> dict[str, Any]:
    """``form_args`` for a select of an enum's members, shown by their labels."""

    def coerce(value: Any) -> Any:
        if isinstance(value, enum_cls) or value is None or value == "":
            return value or None
        try:
            return enum_cls(value)
        except ValueError:
            return value

    return {
        "label": label,
        "choices": [
            SelectChoice(member.value, getattr(member, "label", member.value))
            for member in enum_cls
        ],
        "coerce": coerce,
    }
