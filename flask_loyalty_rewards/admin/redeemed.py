"""The Redeemed rewards grid: who redeemed and used what, with usage and delivery actions.

Every change goes through the core services; this view offers an action exactly when the rule
the service checks (:mod:`flask_loyalty_rewards.rules`) returns None, and reports the services'
refusals. Bulk actions work row by row: the allowed rows change, each refused
row is listed with its reason, and nothing else is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import flash, request
from flask_admin.contrib.sqla import ModelView
from flask_admin.model.template import macro
from markupsafe import Markup
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from .. import clock, rules
from ..bounds import parse_id
from ..cashback import payouts
from ..errors import InvalidStatusChange, LoyaltyError
from ..i18n import gettext, lazy_gettext, ngettext
from ..models import CouponStatus, DeliveryStatus, RewardType
from ..services import redemption
from ..services.search import reward_matches
from .access import LoyaltyAdminMixin, action, expose
from .forms import RowForm, text_cell, when
from .grid import ChoiceFilter, FastListMixin, UTCDateTimeBetweenFilter, safe_cell
from .rows import ReadOnlyMixin, RowButtonsMixin

#: The grid's columns, in the spec's order, with the spec's names.
COLUMNS: dict[str, Any] = {
    "redeemed_at": lazy_gettext("Redeem date and time"),
    "used_at": lazy_gettext("Usage date and time"),
    "cost_in_points": lazy_gettext("Cost in points"),
    "tax_value": lazy_gettext("Tax value"),
    "customer_email": lazy_gettext("Customer e-mail"),
    "customer_phone": lazy_gettext("Phone"),
    "reward_name": lazy_gettext("Reward"),
    "reward_type": lazy_gettext("Reward type"),
    "customer_first_name": lazy_gettext("First name"),
    "customer_last_name": lazy_gettext("Surname"),
    "active_points_after": lazy_gettext("Customer active points"),
    "delivery_status": lazy_gettext("Delivery status"),
    "cashback_status": lazy_gettext("Cashback status"),
    "used": lazy_gettext("Unused / Used"),
}
ACTION_COLUMN = "action"
MAX_REPORTED = 20


def refused_rows(refused: list[str]) -> str:
    """The flash message of a bulk action's refused rows (the first ``MAX_REPORTED`` shown)."""
    shown = "; ".join(refused[:MAX_REPORTED])
    if len(refused) > MAX_REPORTED:
        extra = len(refused) - MAX_REPORTED
        shown += ngettext(" (and %(num)s more)", " (and %(num)s more)", extra)
    return ngettext(
        "%(num)s reward(s) refused and left unchanged: %(rows)s",
        "%(num)s reward(s) refused and left unchanged: %(rows)s",
        len(refused),
        rows=shown,
    )


def cashback_text(row: Any) -> str:
    """The spec's cashback status for cashback rows, a dash for every other type."""
    if row.reward_type is not RewardType.CASHBACK:
        return "-"
    return row.cashback_status or ""


def _box(checked: bool, label: str) -> Markup:
    return Markup(
        f'<input type="checkbox" disabled{" checked" if checked else ""} title="{label}"'
        f' aria-label="{label}"> <span class="sr-only">{label}</span>'
    )


#: The Unused / Used cell: an empty box for "Delivered" (not used), a ticked one for "Used".
USED_BOX, UNUSED_BOX = _box(True, "Used"), _box(False, "Delivered")


def _used_box(view: Any, context: Any, model: Any, name: str) -> Markup:
    return USED_BOX if model.used else UNUSED_BOX


FORMATTERS: dict[str, Callable[..., Any]] = {
    "redeemed_at": text_cell(lambda r: when(r.redeemed_at)),
    "used_at": text_cell(lambda r: when(r.used_at)),
    "reward_name": text_cell(lambda r: r.display_name),
    "reward_type": text_cell(lambda r: r.reward_type.label),
    "delivery_status": text_cell(lambda r: r.delivery_status.label if r.delivery_status else ""),
    "cashback_status": text_cell(cashback_text),
}
EXPORT_FORMATTERS: dict[str, Callable[..., Any]] = {
    **FORMATTERS,
    "used": text_cell(lambda r: "Used" if r.used else "Delivered"),
}


class DeliveryForm(RowForm):
    status = SelectField(
        choices=[SelectChoice(s.value, s.lazy_label) for s in DeliveryStatus],
        validators=[InputRequired()],
    )


def _usage_action(used: bool, text: str, confirmation: str) -> Callable[[Any, list[str]], None]:
    """The bulk action marking the selected rewards used (``used``) or not used."""

    @action("mark_used" if used else "unmark_used", text, confirmation)
    def run(view: RedeemedRewardView, ids: list[str]) -> None:
        view._bulk(ids, used=used)

    return run


class RedeemedRewardView(
    ReadOnlyMixin,
    RowButtonsMixin,
    LoyaltyAdminMixin,
    FastListMixin,
    ModelView,  # type: ignore[misc]
):
    missing_row = lazy_gettext("That redeemed reward does not exist.")
    can_export = True
    export_types = ["csv"]
    can_set_page_size = True
    page_size_options = (20, 50, 100, 200)
    list_template = "loyalty_rewards/admin/redeemed_list.html"
    details_template = "loyalty_rewards/admin/redeemed_details.html"
    column_list = [*COLUMNS, ACTION_COLUMN]
    column_labels = {**COLUMNS, ACTION_COLUMN: "Action"}
    column_export_list = list(COLUMNS)
    #: Only columns an index serves (models/mixins.py): every sorted page stays fast.
    column_sortable_list = ["redeemed_at", "used_at", "delivery_status"]
    sort_tiebreaks = {"delivery_status": ("redeemed_at",)}
    column_default_sort = ("redeemed_at", True)
    search_hint = "E-mail, name, surname, phone or code (starts with)"
    column_formatters = {
        **FORMATTERS,
        "used": _used_box,
        ACTION_COLUMN: macro("loyalty_row_actions"),
    }
    column_formatters_export = EXPORT_FORMATTERS
    column_details_list = [
        *COLUMNS,
        "coupon_status",
        "active_from",
        "active_to",
        "redeemed_by",
        "charged",
        "used_order_reference",
        "canceled_at",
        "cancel_reason",
    ]
    column_type_formatters_detail: dict[type, Any] = {}

    def __init__(self, model: type[Any], db: Any, **kwargs: Any) -> None:
        # Filter instances hold their model's columns: build them per view (one per db).
        self.column_filters = [
            UTCDateTimeBetweenFilter(model.redeemed_at, COLUMNS["redeemed_at"]),
            UTCDateTimeBetweenFilter(model.used_at, COLUMNS["used_at"]),
            ChoiceFilter(
                model.used,
                COLUMNS["used"],
                {
                    "used": (lazy_gettext("Used"), True),
                    "unused": (lazy_gettext("Delivered (unused)"), False),
                },
            ),
            ChoiceFilter(
                model.delivery_status,
                COLUMNS["delivery_status"],
                {s.value: (s.lazy_label, s) for s in DeliveryStatus},
            ),
            ChoiceFilter(
                model.reward_type,
                COLUMNS["reward_type"],
                {t.value: (t.lazy_label, t) for t in RewardType},
            ),
            ChoiceFilter(
                model.coupon_status,
                lazy_gettext("Coupon status"),
                {s.value: (s.lazy_label, s) for s in CouponStatus},
            ),
        ]
        self.column_formatters_detail = {
            **FORMATTERS,
            "used": text_cell(lambda r: gettext("Used") if r.used else gettext("Delivered")),
            "coupon_status": text_cell(lambda r: r.status_at(clock.now()).label),
            "active_from": text_cell(lambda r: when(r.active_from)),
            "active_to": text_cell(lambda r: when(r.active_to) or gettext("never expires")),
            "canceled_at": text_cell(lambda r: when(r.canceled_at)),
        }
        super().__init__(model, db, **kwargs)

    def preset_url(self, key: str | None) -> str:
        """The grid with a preset applied (None: without one), keeping the page size."""
        args: dict[str, Any] = {} if key is None else {"preset": key}
        if request.args.get("page_size"):
            args["page_size"] = request.args["page_size"]
        url: str = self.get_url(".index_view", **args)
        return url

    # -- queries ------------------------------------------------------------------------------

    def get_query(self) -> Any:
        # The grid shows the copies taken at redeem time; the campaign join is not needed.
        return super().get_query().options(sa.orm.lazyload(self.model.campaign))

    def searched(self, query: Any, term: str) -> Any:
        condition = reward_matches(self.model, term)
        return query if condition is None else query.filter(condition)

    def get_export_value(self, model: Any, name: str) -> str:
        return safe_cell(super().get_export_value(model, name))

    # -- what the templates offer -------------------------------------------------------------

    def usage_refusal(self, row: Any) -> InvalidStatusChange | None:
        """Why Mark used / Unmark used is not offered (None: it is)."""
        return rules.usage_refusal(row, clock.now())

    def delivery_choices(self, row: Any) -> list[DeliveryStatus]:
        """The statuses the gift's delivery may move to now."""
        return rules.delivery_choices(row, clock.now())

    def cancel_refusal(self, row: Any) -> InvalidStatusChange | None:
        """Why Cancel redemption is not offered (None: it is)."""
        payout = payouts.payout_of(self.loyalty_state.current_context(), row)
        return rules.cancel_refusal(row, payout, clock.now())

    def value_label(self, value: str | None) -> str:
        """A history row's stored value (an enum's value) as people read it."""
        for enum_cls in (DeliveryStatus, CouponStatus):
            try:
                return str(enum_cls(value).label)
            except ValueError:
                continue
        return value or ""

    def history(self, row: Any) -> list[Any]:
        model = self.loyalty_state.models.RewardHistory
        stmt = (
            sa.select(model)
            .where(model.redeemed_reward_id == row.id)
            .order_by(model.created_at, model.id)
        )
        return list(self.db_session.execute(stmt).scalars())

    # -- single-row changes (POST, CSRF-checked) ----------------------------------------------

    @expose("/usage/", methods=("POST",))
    def usage_view(self) -> Any:
        used = request.form.get("used") == "1"
        return self.posted_change(
            RowForm(),
            self._usage_change(used),
            gettext("Marked as used.") if used else gettext("Marked as not used."),
        )

    @expose("/delivery/", methods=("POST",))
    def delivery_view(self) -> Any:
        form = DeliveryForm()
        return self.posted_change(
            form,
            lambda ctx, row: redemption.set_delivery_status(
                ctx, row, DeliveryStatus(form.status.data), actor=self.actor()
            ),
            lambda _: gettext(
                "Delivery status set to %(status)s.",
                status=DeliveryStatus(form.status.data).label,
            ),
        )

    @expose("/cancel/", methods=("POST",))
    def cancel_view(self) -> Any:
        return self.posted_cancel(
            redemption.cancel_redemption,
            gettext("Redemption cancelled; the points went back to the customer."),
        )

    # -- bulk actions -------------------------------------------------------------------------

    action_mark_used = _usage_action(
        True, lazy_gettext("Mark as used"), lazy_gettext("Mark the selected rewards as used?")
    )
    action_unmark_used = _usage_action(
        False, lazy_gettext("Unmark used"), lazy_gettext("Mark the selected rewards as not used?")
    )

    # -- helpers ------------------------------------------------------------------------------

    def _usage_change(self, used: bool) -> Callable[[Any, Any], Any]:
        change = redemption.mark_used if used else redemption.unmark_used
        return lambda ctx, row: change(ctx, row, actor=self.actor())

    def posted_row(self, raw_id: Any) -> Any:
        row_id = parse_id(raw_id)
        return None if row_id is None else self.db_session.get(self.model, row_id)

    def _bulk(self, ids: list[str], *, used: bool) -> None:
        """Mark the rewards ``ids`` used (or not), reporting the ones refused."""
        change = self._usage_change(used)
        ctx = self.loyalty_state.current_context()
        changed = 0
        refused: list[str] = []
        for raw_id in ids:
            row = self.posted_row(raw_id)
            if row is None:
                refused.append(gettext("#%(id)s: does not exist", id=raw_id))
                continue
            try:
                change(ctx, row)
            except LoyaltyError as exc:
                refused.append(f"#{row.id} {row.display_name}: {exc.message}")
                continue
            changed += 1
        if changed and used:
            done = ngettext(
                "%(num)s reward(s) marked as used.", "%(num)s reward(s) marked as used.", changed
            )
            flash(done, "success")
        elif changed:
            flash(
                ngettext("%(num)s reward(s) unmarked.", "%(num)s reward(s) unmarked.", changed),
                "success",
            )
        if refused:
            flash(refused_rows(refused), "error")
