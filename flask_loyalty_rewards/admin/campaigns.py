"""Reward campaigns: list, create, edit, (de)activate, and upload a pool of coupon codes."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import flash, request
from flask_admin.contrib.sqla import ModelView
from flask_admin.model.template import macro
from flask_wtf.file import FileField
from wtforms import SelectField, TextAreaField

from ..bounds import parse_id
from ..errors import LoyaltyError
from ..forms import Form
from ..i18n import gettext, lazy_gettext, ngettext
from ..models import CodeSource, RewardType, audit
from ..services import campaigns, codes, translations
from .access import LoyaltyAdminMixin, action, expose
from .fields import AmountField, UTCDateTimeField, WholeNumberField, enum_select

NOT_UTF8 = lazy_gettext("The file is not UTF-8 text; save it as UTF-8 CSV and upload it again.")
DATETIME_FIELDS = ("active_from", "active_to", "visible_from", "visible_to")
WHOLE_FIELDS = (
    "cost_in_points",
    "total_limit",
    "per_customer_limit",
    "days_inactive",
    "days_valid",
)
AMOUNT_FIELDS = ("tax_value", "reward_value", "cashback_point_value")


class PoolForm(Form):
    file = FileField(lazy_gettext("CSV file (one code per line, or codes in the first column)"))
    text = TextAreaField(lazy_gettext("...or paste the codes"))


def translations_valid(form: Any) -> bool:
    """Each kept translation names a known locale, once; the locale is stored as Babel writes it."""
    entries = form._fields.get("translations")
    if entries is None:
        return True
    seen: set[str] = set()
    valid = True
    for entry in entries.entries:
        if entries.should_delete(entry):
            continue
        field = entry.form.locale
        try:
            locale = translations.normalize_locale(field.data)
        except LoyaltyError as exc:
            field.errors = [*field.errors, exc.message]
            valid = False
            continue
        if locale in seen:
            field.errors = [*field.errors, gettext("This locale is already translated above.")]
            valid = False
        seen.add(locale)
        field.data = locale
    return valid


class RewardCampaignView(LoyaltyAdminMixin, ModelView):  # type: ignore[misc]
    can_delete = False
    can_view_details = True
    list_template = "loyalty_rewards/admin/campaign_list.html"
    edit_template = "loyalty_rewards/admin/campaign_edit.html"
    details_template = "loyalty_rewards/admin/campaign_details.html"
    column_list = [
        "name",
        "reward_type",
        "cost_in_points",
        "tax_value",
        "active",
        "active_from",
        "active_to",
        "code_source",
        "codes_left",
        "times_redeemed",
        "pool",
    ]
    column_labels = {
        "reward_type": lazy_gettext("Reward type"),
        "cost_in_points": lazy_gettext("Cost in points"),
        "tax_value": lazy_gettext("Tax value"),
        "reward_value": lazy_gettext("Reward value"),
        "cashback_point_value": lazy_gettext("Cashback per point"),
        "active_from": lazy_gettext("Active from (UTC)"),
        "active_to": lazy_gettext("Active to (UTC)"),
        "visible_from": lazy_gettext("Visible from (UTC)"),
        "visible_to": lazy_gettext("Visible to (UTC)"),
        "total_limit": lazy_gettext("Total limit"),
        "per_customer_limit": lazy_gettext("Limit per customer"),
        "days_inactive": lazy_gettext("Days inactive after redemption"),
        "days_valid": lazy_gettext("Days valid (0: never expires)"),
        "fulfillment_tracking": lazy_gettext("Track gift delivery"),
        "code_source": lazy_gettext("Coupon codes"),
        "shared_code": lazy_gettext("Shared code"),
        "codes_left": lazy_gettext("Codes left"),
        "times_redeemed": lazy_gettext("Times redeemed"),
        "pool": lazy_gettext("Code pool"),
    }
    column_sortable_list = ["name", "cost_in_points", "active", "active_from", "times_redeemed"]
    column_default_sort = ("id", True)
    column_searchable_list = ["name"]
    form_columns = [
        "name",
        "description",
        "reward_type",
        "cost_in_points",
        "tax_value",
        "reward_value",
        "currency",
        "cashback_point_value",
        "active",
        "active_from",
        "active_to",
        "visible_from",
        "visible_to",
        "total_limit",
        "per_customer_limit",
        "days_inactive",
        "days_valid",
        "fulfillment_tracking",
        "code_source",
        "shared_code",
    ]
    form_overrides = {
        "reward_type": SelectField,
        "code_source": SelectField,
        **{name: UTCDateTimeField for name in DATETIME_FIELDS},
        **{name: WholeNumberField for name in WHOLE_FIELDS},
        **{name: AmountField for name in AMOUNT_FIELDS},
    }
    form_args = {
        "reward_type": enum_select(RewardType, lazy_gettext("Reward type")),
        "code_source": enum_select(CodeSource, lazy_gettext("Coupon codes")),
    }
    column_formatters = {
        "reward_type": lambda v, c, m, n: m.reward_type.label,
        "code_source": lambda v, c, m, n: m.code_source.label,
        "codes_left": lambda v, c, m, n: v.codes_left(m),
        "pool": macro("pool_link"),
    }

    def __init__(self, model: type[Any], db: Any, **kwargs: Any) -> None:
        # The campaign's texts per locale, edited on its own form (see services/translations).
        translation = sa.inspect(model).relationships["translations"].mapper.class_
        self.inline_models = [
            (
                translation,
                {
                    "form_columns": ["id", "locale", "name", "description"],
                    "form_label": lazy_gettext("Translations"),
                    "column_labels": {
                        "locale": lazy_gettext("Locale (such as pl or pt_BR)"),
                        "name": lazy_gettext("Name (blank: the campaign's own)"),
                        "description": lazy_gettext("Description (blank: the campaign's own)"),
                    },
                },
            )
        ]
        super().__init__(model, db, **kwargs)

    def validate_form(self, form: Any) -> bool:
        valid = bool(super().validate_form(form))
        campaign_forms = (self._create_form_class, self._edit_form_class)
        if not valid or request.method != "POST" or not isinstance(form, campaign_forms):
            return valid
        problems = campaigns.campaign_problems(
            {name: field.data for name, field in form._fields.items() if name != "translations"}
        )
        for name, message in problems.items():
            target = form._fields.get(name)
            if target is not None:
                target.errors = [*target.errors, message]
            else:
                flash(message, "error")
        return translations_valid(form) and not problems

    def audit_trail(self, campaign: Any) -> list[Any]:
        """The campaign's audit entries, newest first (shown on its edit and details pages)."""
        return audit.trail(self.db_session, self.loyalty_state.models, campaign.id)

    def get_query(self) -> Any:
        return super().get_query().options(sa.orm.undefer(self.model.times_redeemed))

    def codes_left(self, campaign: Any) -> str:
        if campaign.code_source is not CodeSource.POOL:
            return "-"
        ctx = self.loyalty_state.current_context()
        return str(codes.codes_left(ctx, [campaign.id]).get(campaign.id, 0))

    @action(
        "deactivate", lazy_gettext("Deactivate"), lazy_gettext("Deactivate the selected campaigns?")
    )
    def action_deactivate(self, ids: list[str]) -> None:
        self._set_active(ids, False)

    @action("activate", lazy_gettext("Activate"), lazy_gettext("Activate the selected campaigns?"))
    def action_activate(self, ids: list[str]) -> None:
        self._set_active(ids, True)

    def _set_active(self, ids: list[str], active: bool) -> None:
        campaign_ids = [parse_id(i) for i in ids]
        if None in campaign_ids:
            flash(
                gettext("Nothing changed: the selection holds something that is not a campaign."),
                "error",
            )
            return
        try:
            changed = campaigns.set_active(
                self.loyalty_state.current_context(), campaign_ids, active, actor=self.actor()
            )
        except LoyaltyError as exc:
            flash(gettext("Refused: %(message)s", message=exc.message), "error")
            return
        if active:
            done = ngettext(
                "%(num)s campaign(s) activated.", "%(num)s campaign(s) activated.", changed
            )
        else:
            done = ngettext(
                "%(num)s campaign(s) deactivated.", "%(num)s campaign(s) deactivated.", changed
            )
        flash(done, "success")

    @expose("/pool/", methods=("GET", "POST"))
    def pool_view(self) -> Any:
        campaign = self._campaign()
        if campaign is None:
            flash(gettext("That reward campaign does not exist."), "error")
            return self.redirect_to_list()
        form = PoolForm()
        report = None
        if campaign.code_source is not CodeSource.POOL:
            flash(
                gettext(
                    "This campaign does not take codes from a pool; change its coupon codes first."
                ),
                "error",
            )
        elif request.method == "POST":
            if form.validate():
                lines = self._uploaded_lines(form)
                if lines is not None:
                    try:
                        report = codes.upload_pool_codes(
                            self.loyalty_state.current_context(),
                            campaign,
                            lines,
                            actor=self.actor(),
                        )
                    except LoyaltyError as exc:
                        flash(gettext("Refused: %(message)s", message=exc.message), "error")
                    except UnicodeDecodeError:
                        flash(str(NOT_UTF8), "error")
            else:
                problems = "; ".join(str(e) for errors in form.errors.values() for e in errors)
                flash(gettext("Nothing uploaded: %(problems)s", problems=problems), "error")
        left = codes.codes_left(self.loyalty_state.current_context(), [campaign.id]).get(
            campaign.id, 0
        )
        return self.render(
            "loyalty_rewards/admin/campaign_pool.html",
            campaign=campaign,
            form=form,
            report=report,
            codes_left=left,
            return_url=self.get_url(".index_view"),
        )

    def redirect_to_list(self) -> Any:
        from flask import redirect

        return redirect(self.get_url(".index_view"))

    def _campaign(self) -> Any:
        campaign_id = parse_id(request.args.get("id"))
        return None if campaign_id is None else self.db_session.get(self.model, campaign_id)

    def _uploaded_lines(self, form: PoolForm) -> Iterable[str] | None:
        """The upload's lines, read from the file as they are stored (never all at once)."""
        upload = form.file.data
        if upload is not None and getattr(upload, "filename", None):
            return io.TextIOWrapper(upload.stream, encoding="utf-8-sig")
        if form.text.data and form.text.data.strip():
            return str(form.text.data).splitlines()
        flash(gettext("Choose a CSV file or paste the codes."), "error")
        return None
