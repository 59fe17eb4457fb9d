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
from ..models import CodeSource, RewardType, audit
from ..services import campaigns, codes
from .access import LoyaltyAdminMixin, action, expose
from .fields import AmountField, UTCDateTimeField, WholeNumberField, enum_select

NOT_UTF8 = "The file is not UTF-8 text; save it as UTF-8 CSV and upload it again."
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
    file = FileField("CSV file (one code per line, or codes in the first column)")
    text = TextAreaField("...or paste the codes")


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
        "reward_type": "Reward type",
        "cost_in_points": "Cost in points",
        "tax_value": "Tax value",
        "reward_value": "Reward value",
        "cashback_point_value": "Cashback per point",
        "active_from": "Active from (UTC)",
        "active_to": "Active to (UTC)",
        "visible_from": "Visible from (UTC)",
        "visible_to": "Visible to (UTC)",
        "total_limit": "Total limit",
        "per_customer_limit": "Limit per customer",
        "days_inactive": "Days inactive after redemption",
        "days_valid": "Days valid (0: never expires)",
        "fulfillment_tracking": "Track gift delivery",
        "code_source": "Coupon codes",
        "shared_code": "Shared code",
        "codes_left": "Codes left",
        "times_redeemed": "Times redeemed",
        "pool": "Code pool",
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
        "reward_type": enum_select(RewardType, "Reward type"),
        "code_source": enum_select(CodeSource, "Coupon codes"),
    }
    column_formatters = {
        "reward_type": lambda v, c, m, n: m.reward_type.label,
        "code_source": lambda v, c, m, n: m.code_source.label,
        "codes_left": lambda v, c, m, n: v.codes_left(m),
        "pool": macro("pool_link"),
    }

    def validate_form(self, form: Any) -> bool:
        valid = bool(super().validate_form(form))
        campaign_forms = (self._create_form_class, self._edit_form_class)
        if not valid or request.method != "POST" or not isinstance(form, campaign_forms):
            return valid
        problems = campaigns.campaign_problems(
            {name: field.data for name, field in form._fields.items()}
        )
        for name, message in problems.items():
            target = form._fields.get(name)
            if target is not None:
                target.errors = [*target.errors, message]
            else:
                flash(message, "error")
        return not problems

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

    @action("deactivate", "Deactivate", "Deactivate the selected campaigns?")
    def action_deactivate(self, ids: list[str]) -> None:
        self._set_active(ids, False)

    @action("activate", "Activate", "Activate the selected campaigns?")
    def action_activate(self, ids: list[str]) -> None:
        self._set_active(ids, True)

    def _set_active(self, ids: list[str], active: bool) -> None:
        campaign_ids = [parse_id(i) for i in ids]
        if None in campaign_ids:
            flash("Nothing changed: the selection holds something that is not a campaign.", "error")
            return
        try:
            changed = campaigns.set_active(
                self.loyalty_state.current_context(), campaign_ids, active, actor=self.actor()
            )
        except LoyaltyError as exc:
            flash(f"Refused: {exc.message}", "error")
            return
        flash(f"{changed} campaign(s) {'activated' if active else 'deactivated'}.", "success")

    @expose("/pool/", methods=("GET", "POST"))
    def pool_view(self) -> Any:
        campaign = self._campaign()
        if campaign is None:
            flash("That reward campaign does not exist.", "error")
            return self.redirect_to_list()
        form = PoolForm()
        report = None
        if campaign.code_source is not CodeSource.POOL:
            flash(
                "This campaign does not take codes from a pool; change its coupon codes first.",
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
                        flash(f"Refused: {exc.message}", "error")
                    except UnicodeDecodeError:
                        flash(NOT_UTF8, "error")
            else:
                flash(
                    "Nothing uploaded: "
                    + "; ".join(str(e) for errors in form.errors.values() for e in errors),
                    "error",
                )
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
        flash("Choose a CSV file or paste the codes.", "error")
        return None
