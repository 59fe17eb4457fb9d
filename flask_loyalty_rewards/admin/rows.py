"""What the loyalty admin views share about rows: logs nobody edits, and buttons that change one.

A row's button posts a CSRF-checked form naming the row; the service decides, and its refusal
is shown as it is. Every such view answers through :meth:`RowButtonsMixin.posted_change`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request

from ..bounds import parse_id
from ..errors import LoyaltyError
from ..redirects import local_url
from .forms import RowForm, form_error


class ReadOnlyMixin:
    """A log: rows are written by the services only, and each has a details page."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True


class RowButtonsMixin:
    """Row buttons: check the posted form, change the row it names, flash what happened."""

    #: What a row is called in "That ... does not exist."
    row_noun = "row"

    def posted_change(
        self, form: RowForm, change: Callable[[Any], Any], done: str | Callable[[Any], str]
    ) -> Any:
        """Run ``change`` on the row the valid ``form`` names; flash ``done`` (or ``done`` of
        what ``change`` returned) or the refusal; back to the page the button was on."""
        if not form.validate():
            flash(form_error(form), "error")
            return self.back()
        row = self.posted_row(form.id.data)
        if row is None:
            flash(f"That {self.row_noun} does not exist.", "error")
            return self.back()
        try:
            result = change(row)
        except LoyaltyError as exc:
            flash(f"Refused: {exc.message}", "error")
            return self.back()
        flash(done(result) if callable(done) else done, "success")
        return self.back()

    def posted_row(self, raw_id: Any) -> Any:
        """The row a button names: its id here (the service loads and locks it); None: no row
        can have it."""
        return parse_id(raw_id)

    def back(self) -> Any:
        """Back to the page the button was on (a local ``url``), else the list."""
        view: Any = self
        return redirect(local_url(request.values.get("url")) or view.get_url(".index_view"))
