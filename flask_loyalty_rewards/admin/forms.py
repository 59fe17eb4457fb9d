"""Forms and formatting shared by the loyalty admin views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..forms import Form
from ..i18n import format_datetime, gettext, lazy_gettext


def when(value: dt.datetime | None) -> str:
    """A datetime as the admin shows it: in the admin's zone and locale, to the second, saying
    which zone (UTC unless the host's Flask-Babel selects another)."""
    return format_datetime(value, seconds=True)


def text_cell(fn: Callable[[Any], Any]) -> Callable[..., Any]:
    """A Flask-Admin column formatter that shows ``fn(row)``."""
    return lambda view, context, model, name: fn(model)


class RowForm(Form):
    id = HiddenField(validators=[InputRequired()])


class CancelForm(RowForm):
    reason = TextAreaField(
        lazy_gettext("Reason"),
        validators=[
            DataRequired(lazy_gettext("Say why the redemption is cancelled.")),
            Length(max=2000),
        ],
    )


def form_error(form: Any) -> str:
    """The flash message for a refused admin form: what was wrong, and that nothing changed."""
    messages = [f"{error}" for errors in form.errors.values() for error in errors]
    return gettext(
        "Nothing changed: %(problems)s",
        problems="; ".join(messages) or gettext("the form was not valid."),
    )
