"""What the loyalty admin views share about rows: logs nobody edits, and buttons that change one.

A row's button posts a CSRF-checked form naming the row; the service decides, and its refusal
is shown as it is. Every such view answers through :meth:`RowButtonsMixin.posted_change` (a
Cancel button with its reason through :meth:`RowButtonsMixin.posted_cancel`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request

from ..bounds import parse_id
from ..errors import LoyaltyError
from ..i18n import gettext, lazy_gettext
from ..redirects import local_url
from .forms import CancelForm, RowForm, form_error


class ReadOnlyMixin:
    """A log: rows are written by the services only, and each has a details page."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True


class RowButtonsMixin:
    """Row buttons: check the posted form, change the row it names, flash what happened."""

    #: The flash message for a button naming no row (lazy: shown in the admin's language).
    missing_row: Any = lazy_gettext("That row does not exist.")

    def posted_change(
        self, form: RowForm, change: Callable[[Any, Any], Any], done: str | Callable[[Any], str]
    ) -> Any:
        """Run ``change(context, row)`` on the row the valid ``form`` names; flash ``done`` (or
        ``done`` of what ``change`` returned) or the refusal; back to the page the button was on.
        """
        if not form.validate():
            flash(form_error(form), "error")
            return self.back()
        row = self.posted_row(form.id.data)
        if row is None:
            flash(str(self.missing_row), "error")
            return self.back()
        view: Any = self
        try:
            result = change(view.loyalty_state.current_context(), row)
        except LoyaltyError as exc:
            flash(gettext("Refused: %(message)s", message=exc.message), "error")
            return self.back()
        flash(done(result) if callable(done) else done, "success")
        return self.back()

    def posted_cancel(self, cancel: Callable[..., Any], done: str) -> Any:
        """A Cancel button: ``cancel(context, row, reason=..., actor=...)`` with the reason typed
        in its form."""
        form = CancelForm()
        view: Any = self
        return self.posted_change(
            form,
            lambda ctx, row: cancel(ctx, row, reason=form.reason.data.strip(), actor=view.actor()),
            done,
        )

    def posted_row(self, raw_id: Any) -> Any:
        """The row a button names: its id here (the service loads and locks it); None: no row
        can have it."""
        return parse_id(raw_id)

    def back(self) -> Any:
        """Back to the page the button was on (a local ``url``), else the list."""
        view: Any = self
        return redirect(local_url(request.values.get("url")) or view.get_url(".index_view"))
