"""Forms and formatting shared by the loyalty admin views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..forms import Form


def when(value: dt.datetime | None) -> str:
    """A datetime as the admin shows it: UTC, to the second, saying so."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def text_cell(fn: Callable[[Any], Any]) -> Callable[..., Any]:
    """A Flask-Admin column formatter that shows ``fn(row)``."""
    return lambda view, context, model, name: fn(model)


class RowForm(Form):
    id = HiddenField(validators=[InputRequired()])


class CancelForm(RowForm):
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired("Say why the redemption is cancelled."), Length(max=2000)],
    )


def form_error(form: Any) -> str:
    """The flash message for a refused admin form: what was wrong, and that nothing changed."""
    messages = [f"{error}" for errors in form.errors.values() for error in errors]
    return "Nothing changed: " + ("; ".join(messages) or "the form was not valid.")
