"""Form fields and forms the loyalty admin views share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import Enum
from typing import Any

from flask_admin.form import DateTimeField
from wtforms import DecimalField, IntegerField
from wtforms.fields.choices import SelectChoice

from ..bounds import parse_decimal, parse_whole
from ..i18n import N_, lazy_gettext


class UTCDateTimeField(DateTimeField):  # type: ignore[misc]
    """A date and time typed in UTC; the model gets an aware datetime (naive ones are refused)."""

    data: Any

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("description", lazy_gettext("UTC, as YYYY-MM-DD HH:MM:SS"))
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


class _ASCIINumberField:
    """Form data parsed by one of :mod:`..bounds`' parsers; what it refuses is a form error."""

    data: Any
    #: The parser (a staticmethod) and the error shown for text it refuses.
    parse: Callable[[Any], Any]
    invalid: str
    gettext: Callable[[str], str]  # the WTForms field's, this class is mixed into one

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = self.parse(valuelist[0])
        if self.data is None:
            raise ValueError(self.gettext(self.invalid))


class WholeNumberField(_ASCIINumberField, IntegerField):  # type: ignore[misc]
    """An integer field of ASCII digits only (``int()`` also takes other scripts' digits)."""

    parse = staticmethod(parse_whole)
    invalid = N_("Not a valid integer value.")


class AmountField(_ASCIINumberField, DecimalField):  # type: ignore[misc]
    """A decimal field that takes ASCII digits only: no exponent, NaN or Infinity."""

    parse = staticmethod(parse_decimal)
    invalid = N_("Not a valid decimal value.")


def whole_number(value: Any) -> int:
    """``coerce`` for a select of ids: ASCII digits only (a ValueError is "Not a valid choice")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = parse_whole(value)
    if number is None:
        raise ValueError("not a whole number")
    return number


def enum_select(enum_cls: type[Enum], label: Any) -> dict[str, Any]:
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
            SelectChoice(member.value, getattr(member, "lazy_label", member.value))
            for member in enum_cls
        ],
        "coerce": coerce,
    }
