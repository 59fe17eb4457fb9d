"""Customer points: balances, a read-only ledger per customer, grant/deduct, redeem on behalf."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request
from flask_admin.contrib.sqla import ModelView
from flask_admin.model.template import macro
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..bounds import parse_whole
from ..errors import LoyaltyError
from ..forms import Form
from ..i18n import format_number, gettext, lazy_gettext, ngettext
from ..services import ledger, redemption
from .access import LoyaltyAdminMixin, expose
from .fields import UTCDateTimeField, WholeNumberField, whole_number
from .grid import FastListMixin

#: Rows of each ledger table shown on a customer's page (newest first).
LEDGER_ROWS = 200
#: The customer model's columns searched when ``LOYALTY_ADMIN_CUSTOMER_COLUMNS`` is None.
PROFILE_COLUMNS = ("email", "first_name", "last_name", "phone")
PROFILES_KEY = "loyalty_admin_profiles"


def customer_columns(app: Any, customer_model: type[Any]) -> list[Any]:
    """The host's customer columns the list searches (see ``LOYALTY_ADMIN_CUSTOMER_COLUMNS``)."""
    names = app.config["LOYALTY_ADMIN_CUSTOMER_COLUMNS"]
    mapper = sa.inspect(customer_model)
    if names is None:
        names = [n for n in PROFILE_COLUMNS if n in mapper.column_attrs]
    columns = []
    for name in names:
        if name not in mapper.column_attrs:
            raise ValueError(
                f"LOYALTY_ADMIN_CUSTOMER_COLUMNS: {customer_model.__name__} has no column {name!r}"
            )
        columns.append(getattr(customer_model, name))
    return columns


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AdjustForm(Form):
    delta = WholeNumberField(
        lazy_gettext("Points (positive to grant, negative to deduct)"),
        validators=[InputRequired(lazy_gettext("Enter a whole number of points."))],
    )
    reason = StringField(
        lazy_gettext("Reason"), validators=[DataRequired(lazy_gettext("Say why.")), Length(max=255)]
    )
    expires_at = UTCDateTimeField(lazy_gettext("Granted points expire at"), validators=[Optional()])


class RedeemForm(Form):
    campaign = SelectField(
        lazy_gettext("Reward"), coerce=whole_number, validators=[InputRequired()]
    )
    charge_points = BooleanField(lazy_gettext("Charge the customer's points"), default=True)


class CustomerPointsView(LoyaltyAdminMixin, FastListMixin, ModelView):  # type: ignore[misc]
    """Customers holding points, named by the host's ``customer_profile``, found by its columns."""

    can_create = False
    can_edit = False
    can_delete = False
    list_template = "loyalty_rewards/admin/points_list.html"
    column_list = ["customer_id", "email", "name", "balance", "updated_at"]
    column_labels = {
        "customer_id": lazy_gettext("Customer"),
        "email": lazy_gettext("E-mail"),
        "name": lazy_gettext("Name"),
        "balance": lazy_gettext("Points held (pending included)"),
        "updated_at": lazy_gettext("Last change"),
    }
    column_sortable_list = ["customer_id", "balance", "updated_at"]
    column_default_sort = ("updated_at", True)
    column_formatters = {
        "customer_id": macro("customer_link"),
        "email": lambda view, context, model, name: view.profile(model).email,
        "name": lambda view, context, model, name: view.full_name(model),
    }
    search_hint = lazy_gettext("Customer id, or the start of an e-mail or name")
    #: Set by init_admin: the customer model's columns the search compares.
    searched_columns: list[Any] = []

    def searched(self, query: Any, term: str) -> Any:
        """Each word starts one of the searched columns (any case); a whole term may be an id."""
        ctx = self.loyalty_state.current_context()
        models = ctx.models
        customer = models.customer_model
        words = term.split()
        if not words:
            return query
        key = sa.inspect(customer).primary_key[0]
        query = query.join(customer, key == self.model.customer_id)
        by_id = self._as_key(ctx, term.strip())
        conditions = [
            sa.or_(
                *(
                    sa.func.lower(column).like(_escape_like(word.lower()) + "%", escape="\\")
                    for column in self.searched_columns
                )
            )
            for word in words
        ]
        matches = sa.and_(*conditions) if self.searched_columns else sa.false()
        if by_id is not None:
            matches = sa.or_(matches, self.model.customer_id == by_id)
        return query.filter(matches)

    def get_list(self, *args: Any, **kwargs: Any) -> tuple[int | None, Any]:
        count, rows = super().get_list(*args, **kwargs)
        self._load_profiles(rows)
        return count, rows

    def profile(self, account: Any) -> Any:
        """The page's customer as the host's ``customer_profile`` describes them."""
        from ..profile import CustomerProfile

        return g.get(PROFILES_KEY, {}).get(account.customer_id) or CustomerProfile()

    def full_name(self, account: Any) -> str:
        profile = self.profile(account)
        return f"{profile.first_name} {profile.last_name}".strip()

    def _load_profiles(self, rows: list[Any]) -> None:
        """One query for the page's customers, then the host's callback for each."""
        ctx = self.loyalty_state.current_context()
        customer = ctx.models.customer_model
        key = sa.inspect(customer).primary_key[0]
        ids = [row.customer_id for row in rows]
        found = list(ctx.session.scalars(sa.select(customer).where(key.in_(ids)))) if ids else []
        setattr(g, PROFILES_KEY, {ctx.customer_id(c): ctx.profile_of(c) for c in found})

    def _as_key(self, ctx: Any, raw: str) -> Any:
        """``raw`` as a customer key, or None when it cannot be one."""
        try:
            return ctx._customer_key(parse_whole(raw) if _int_keys(ctx) else raw)
        except LoyaltyError:
            return None

    @expose("/customer/", methods=("GET",))
    def customer_view(self) -> Any:
        ctx = self.loyalty_state.current_context()
        customer = self._customer(ctx)
        models = ctx.models
        customer_id = ctx.customer_id(customer)

        def latest(model: Any, at: Any) -> Any:
            """The customer's newest rows of ``model`` by ``at``, as many as the page shows."""
            return ctx.session.execute(
                sa.select(model)
                .where(model.customer_id == customer_id)
                .order_by(at.desc(), model.id.desc())
                .limit(LEDGER_ROWS)
            ).scalars()

        lots = latest(models.PointsLot, models.PointsLot.earned_at)
        entries = latest(models.LedgerEntry, models.LedgerEntry.created_at)
        return self.render(
            "loyalty_rewards/admin/points_customer.html",
            customer_id=customer_id,
            profile=ctx.profile_of(customer),
            summary=ledger.summary(ctx, customer_id),
            lots=list(lots),
            entries=list(entries),
            adjust_form=AdjustForm(formdata=None),
            redeem_form=self._redeem_form(ctx, formdata=None),
            limit=LEDGER_ROWS,
            return_url=self.get_url(".index_view"),
        )

    @expose("/customer/adjust/", methods=("POST",))
    def adjust_view(self) -> Any:
        ctx = self.loyalty_state.current_context()
        customer = self._customer(ctx)
        form = AdjustForm()
        if not form.validate():
            flash(gettext("No points changed: %(problems)s", problems=_problems(form)), "error")
        elif form.delta.data == 0:
            flash(gettext("No points changed: enter a number other than 0."), "error")
        else:
            try:
                active = ledger.adjust_points(
                    ctx,
                    customer,
                    form.delta.data,
                    reason=form.reason.data.strip(),
                    actor=self.actor(),
                    expires_at=form.expires_at.data,
                )
            except LoyaltyError as exc:
                flash(gettext("Refused: %(message)s", message=exc.message), "error")
            else:
                flash(adjusted(form.delta.data, active), "success")
        return self._back(ctx, customer)

    @expose("/customer/redeem/", methods=("POST",))
    def redeem_view(self) -> Any:
        ctx = self.loyalty_state.current_context()
        customer = self._customer(ctx)
        form = self._redeem_form(ctx)
        if not form.validate():
            flash(gettext("Nothing redeemed: %(problems)s", problems=_problems(form)), "error")
        else:
            try:
                redeemed = redemption.redeem(
                    ctx,
                    customer,
                    form.campaign.data,
                    actor=self.actor(),
                    charge_points=bool(form.charge_points.data),
                )
            except LoyaltyError as exc:
                flash(gettext("Refused: %(message)s", message=exc.message), "error")
            else:
                name = redeemed.display_name
                if form.charge_points.data:
                    flash(gettext("Redeemed %(name)s.", name=name), "success")
                else:
                    flash(gettext("Redeemed %(name)s free of charge.", name=name), "success")
        return self._back(ctx, customer)

    # -- helpers ------------------------------------------------------------------------------

    def _redeem_form(self, ctx: Any, **kwargs: Any) -> RedeemForm:
        form = RedeemForm(**kwargs)
        campaign = ctx.models.RewardCampaign
        rows = ctx.session.execute(
            sa.select(campaign.id, campaign.name, campaign.cost_in_points)
            .where(campaign.active.is_(True))
            .order_by(campaign.name, campaign.id)
        ).all()
        form.campaign.choices = [
            SelectChoice(
                str(cid),
                ngettext("%(name)s (%(num)s points)", "%(name)s (%(num)s points)", cost, name=name),
            )
            for cid, name, cost in rows
        ]
        return form

    def _customer(self, ctx: Any) -> Any:
        raw = request.values.get("customer_id", "").strip()
        value: Any = raw
        if _int_keys(ctx):
            value = parse_whole(raw)
        try:
            customer = ctx.customer_object(value)
        except LoyaltyError:
            customer = None
        if customer is None:
            flash(gettext("No customer with that id."), "error")
            abort(redirect(self.get_url(".index_view")))
        return customer

    def _back(self, ctx: Any, customer: Any) -> Any:
        return redirect(self.get_url(".customer_view", customer_id=ctx.customer_id(customer)))


def _int_keys(ctx: Any) -> bool:
    python_type = getattr(ctx.models.customer_pk_type, "python_type", None)
    return python_type is int


def adjusted(delta: int, active: int) -> str:
    """The flash message of a grant or a deduction."""
    if delta > 0:
        return ngettext(
            "Granted %(num)s points; active points now %(active)s.",
            "Granted %(num)s points; active points now %(active)s.",
            delta,
            active=format_number(active),
        )
    return ngettext(
        "Deducted %(num)s points; active points now %(active)s.",
        "Deducted %(num)s points; active points now %(active)s.",
        -delta,
        active=format_number(active),
    )


def _problems(form: Any) -> str:
    return "; ".join(str(e) for errors in form.errors.values() for e in errors)
