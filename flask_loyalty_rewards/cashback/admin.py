"""The "Cashback payouts" admin view: see each payout, retry, cancel, settle manual ones.

Thin: every change is a call into :mod:`.actions`, whose refusals
are shown as they are; a button shows exactly when the rule the service checks
(:mod:`flask_loyalty_rewards.rules`) returns None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_admin.contrib.sqla import ModelView
from flask_admin.model.template import macro
from markupsafe import Markup
from werkzeug.routing import BuildError
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from .. import clock, rules
from ..admin.access import LoyaltyAdminMixin, expose
from ..admin.forms import RowForm, text_cell, when
from ..admin.grid import ChoiceFilter
from ..admin.rows import ReadOnlyMixin, RowButtonsMixin
from ..errors import InvalidStatusChange
from ..i18n import gettext, lazy_gettext
from . import actions
from .models import PayoutState

COLUMNS: dict[str, Any] = {
    "created_at": lazy_gettext("Created (UTC)"),
    "order_id": lazy_gettext("Provider order id"),
    "redeemed_reward_id": lazy_gettext("Redeemed reward"),
    "customer_id": lazy_gettext("Customer"),
    "amount": lazy_gettext("Amount"),
    "currency": lazy_gettext("Currency"),
    "provider": lazy_gettext("Provider"),
    "status_text": lazy_gettext("Cashback status"),
    "attempts": lazy_gettext("Attempts"),
    "updated_at": lazy_gettext("Updated (UTC)"),
}
ACTION_COLUMN = "action"


DETAIL_LABELS: dict[str, Any] = {
    "state": lazy_gettext("State"),
    "provider_reference": lazy_gettext("Provider's reference"),
    "destination_phone": lazy_gettext("Wallet phone"),
    "destination_account": lazy_gettext("Bank account"),
    "destination_ifsc": lazy_gettext("IFSC"),
    "destination_name": lazy_gettext("Account holder"),
    "last_attempt_at": lazy_gettext("Last attempt (UTC)"),
    "next_check_at": lazy_gettext("Next check (UTC)"),
    "completed_at": lazy_gettext("Settled (UTC)"),
}


def _redeemed_link(view: Any, context: Any, model: Any, name: str) -> Markup:
    """The redeemed reward's number, linked to its page in the Redeemed rewards grid."""
    try:
        url = url_for("loyalty_redeemed.details_view", id=model.redeemed_reward_id)
    except BuildError:  # the host mounted no Redeemed rewards grid
        return Markup("{}").format(model.redeemed_reward_id)
    return Markup('<a href="{}">{}</a>').format(url, model.redeemed_reward_id)


class SettleForm(RowForm):
    outcome = RadioField(
        choices=[
            SelectChoice("paid", lazy_gettext("Paid")),
            SelectChoice("failed", lazy_gettext("Failed")),
        ],
        validators=[InputRequired()],
    )
    note = TextAreaField(lazy_gettext("Note"), validators=[Length(max=200)])


FORMATTERS: dict[str, Callable[..., Any]] = {
    "created_at": text_cell(lambda r: when(r.created_at)),
    "updated_at": text_cell(lambda r: when(r.updated_at)),
    "last_attempt_at": text_cell(lambda r: when(r.last_attempt_at)),
    "completed_at": text_cell(lambda r: when(r.completed_at)),
    "next_check_at": text_cell(lambda r: when(r.next_check_at)),
    "state": text_cell(lambda r: r.state.value),
    "redeemed_reward_id": _redeemed_link,
}


class CashbackPayoutView(ReadOnlyMixin, RowButtonsMixin, LoyaltyAdminMixin, ModelView):  # type: ignore[misc]
    missing_row = lazy_gettext("That payout does not exist.")
    list_template = "loyalty_rewards/admin/cashback_list.html"
    details_template = "loyalty_rewards/admin/cashback_details.html"
    column_list = [*COLUMNS, ACTION_COLUMN]
    column_labels = {**COLUMNS, **DETAIL_LABELS, ACTION_COLUMN: lazy_gettext("Action")}
    column_sortable_list = ["created_at", "updated_at", "amount", "attempts"]
    column_default_sort = ("created_at", True)
    column_formatters = {**FORMATTERS, ACTION_COLUMN: macro("loyalty_payout_actions")}
    column_details_list = [
        *COLUMNS,
        "state",
        "provider_reference",
        "destination_phone",
        "destination_account",
        "destination_ifsc",
        "destination_name",
        "last_attempt_at",
        "next_check_at",
        "completed_at",
    ]
    column_formatters_detail = FORMATTERS

    def __init__(self, model: type[Any], db: Any, **kwargs: Any) -> None:
        self.column_filters = [
            ChoiceFilter(
                model.state, lazy_gettext("State"), {s.value: (s.value, s) for s in PayoutState}
            ),
        ]
        super().__init__(model, db, **kwargs)

    # -- what the templates offer -------------------------------------------------------------

    def get_list(self, *args: Any, **kwargs: Any) -> tuple[int | None, Any]:
        count, rows = super().get_list(*args, **kwargs)
        if isinstance(rows, list) and rows:
            # The page's redemptions, in the session's identity map for the Retry rule.
            model = self.loyalty_state.models.RedeemedReward
            ids = {row.redeemed_reward_id for row in rows}
            self.db_session.scalars(sa.select(model).where(model.id.in_(ids))).all()
        return count, rows

    def _reward(self, row: Any) -> Any:
        return self.db_session.get(self.loyalty_state.models.RedeemedReward, row.redeemed_reward_id)

    def retry_refusal(self, row: Any) -> InvalidStatusChange | None:
        return rules.retry_refusal(row, self._reward(row))

    def cancel_refusal(self, row: Any) -> InvalidStatusChange | None:
        return rules.payout_cancel_refusal(row, self._reward(row), clock.now())

    def settle_refusal(self, row: Any) -> InvalidStatusChange | None:
        return rules.settle_refusal(row)

    # -- changes (POST, CSRF-checked) ---------------------------------------------------------

    @expose("/retry/", methods=("POST",))
    def retry_view(self) -> Any:
        return self.posted_change(
            RowForm(),
            lambda ctx, pid: actions.retry(ctx, pid, actor=self.actor()),
            gettext("The payout is sent again, as a new attempt with its own order id."),
        )

    @expose("/cancel/", methods=("POST",))
    def cancel_view(self) -> Any:
        return self.posted_cancel(
            actions.cancel, gettext("Payout cancelled; the points went back to the customer.")
        )

    @expose("/settle/", methods=("POST",))
    def settle_view(self) -> Any:
        form = SettleForm()
        paid = form.outcome.data == "paid"
        return self.posted_change(
            form,
            lambda ctx, pid: actions.settle_manually(
                ctx,
                pid,
                paid=paid,
                note=(form.note.data or "").strip() or None,
                actor=self.actor(),
            ),
            gettext("Marked as paid.") if paid else gettext("Marked as failed."),
        )
