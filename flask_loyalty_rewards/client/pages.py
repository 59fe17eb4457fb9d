"""The customer's pages: rewards with Redeem buttons, confirmation, my rewards, one reward.

Thin: every rule (availability, spending, statuses) comes from the services. Redeeming is a POST
of a :class:`RedeemForm` carrying a CSRF token and a one-time token that the service uses as the
idempotency key, so a double click or a resubmitted form redeems once; success redirects
(Post/Redirect/Get) to the reward's page.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp

from .. import clock
from ..bounds import MAX_COUNT, parse_whole
from ..errors import LoyaltyError, NotFound
from ..forms import Form
from ..i18n import lazy_gettext, locale_name, template_globals
from ..services import catalog, ledger, redemption, translations
from .common import PAGES_BLUEPRINT, offers, path_id

if TYPE_CHECKING:
    from ..state import LoyaltyState

#: The one-time token's shape: what :func:`secrets.token_urlsafe` gives, with room to spare.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
FORM_EXPIRED = lazy_gettext("The form has expired; please confirm again.")


class RedeemForm(Form):
    """Confirms one redemption; the token makes every resubmission of this form a replay."""

    idempotency_key = HiddenField(
        validators=[
            DataRequired(FORM_EXPIRED),
            Regexp(TOKEN_PATTERN, message=FORM_EXPIRED),
        ]
    )


def new_token() -> str:
    return secrets.token_urlsafe(16)


def create_pages_blueprint(state: LoyaltyState) -> Blueprint:
    bp = Blueprint(PAGES_BLUEPRINT, __name__)

    @bp.before_request
    def require_customer() -> ResponseReturnValue | None:
        """Anonymous visitors go to the host's login (and come back), or get a 401."""
        customer = state.current_customer()
        if customer is None:
            endpoint = current_app.config["LOYALTY_LOGIN_ENDPOINT"]
            if endpoint:
                target = request.full_path if request.query_string else request.path
                return redirect(url_for(endpoint, next=target))
            abort(401)
        g.loyalty_customer = customer
        return None

    @bp.context_processor
    def layout() -> dict[str, Any]:
        return {
            "loyalty_base_template": current_app.config["LOYALTY_BASE_TEMPLATE"],
            "loyalty_csrf_token": generate_csrf,
            **template_globals(),
        }

    def points_summary() -> ledger.PointsSummary:
        ctx = state.current_context()
        return ledger.summary(ctx, ctx.customer_id(g.loyalty_customer), clock.now())

    @bp.get("/")
    def rewards() -> str:
        ctx = state.current_context()
        now = clock.now()
        summary = ledger.summary(ctx, ctx.customer_id(g.loyalty_customer), now)
        campaigns, availability = offers(ctx, now, summary.active)
        return render_template(
            "loyalty_rewards/rewards.html",
            campaigns=campaigns,
            texts=translations.campaign_texts(ctx, campaigns, locale_name()),
            availability=availability,
            summary=summary,
        )

    def confirm_page(
        campaign_id: int | None, form: RedeemForm, error: str | None = None, status: int = 200
    ) -> ResponseReturnValue:
        ctx = state.current_context()
        now = clock.now()
        try:
            campaign = catalog.visible_campaign(ctx, path_id(campaign_id, "reward"), now)
        except NotFound:
            abort(404)
        availability = redemption.availabilities(ctx, g.loyalty_customer, [campaign], now)
        page = render_template(
            "loyalty_rewards/confirm_redeem.html",
            campaign=campaign,
            text=translations.campaign_texts(ctx, [campaign], locale_name())[campaign.id],
            availability=availability[campaign.id],
            form=form,
            error=error,
            summary=points_summary(),
        )
        return page, status

    @bp.get("/rewards/<loyalty_id:campaign_id>/redeem")
    def confirm_redeem(campaign_id: int | None) -> ResponseReturnValue:
        form = RedeemForm(formdata=None)
        form.idempotency_key.data = new_token()
        return confirm_page(campaign_id, form)

    @bp.post("/rewards/<loyalty_id:campaign_id>/redeem")
    def redeem(campaign_id: int | None) -> ResponseReturnValue:
        form = RedeemForm()
        if not form.validate_on_submit():
            if form.errors.get("idempotency_key"):
                form.idempotency_key.data = new_token()
            messages = [str(m) for errors in form.errors.values() for m in errors]
            return confirm_page(campaign_id, form, error=" ".join(messages), status=400)
        ctx = state.current_context()
        campaign = ctx.session.get(ctx.models.RewardCampaign, path_id(campaign_id, "reward"))
        if campaign is None:
            abort(404)
        try:
            row = redemption.redeem(
                ctx, g.loyalty_customer, campaign, idempotency_key=form.idempotency_key.data
            )
        except LoyaltyError as exc:
            return confirm_page(campaign_id, form, error=exc.message, status=exc.http_status)
        return redirect(url_for(".redeemed_reward", redeemed_id=row.id, redeemed=1), 303)

    @bp.get("/my-rewards")
    def my_rewards() -> str:
        ctx = state.current_context()
        number = parse_whole(request.args.get("page")) or 1
        listing = catalog.redeemed_rewards(
            ctx,
            g.loyalty_customer,
            page=min(max(1, number), MAX_COUNT),
            per_page=current_app.config["LOYALTY_CLIENT_PAGE_SIZE"],
        )
        return render_template(
            "loyalty_rewards/my_rewards.html",
            listing=listing,
            now=clock.now(),
            summary=points_summary(),
            page_url=lambda n: f"{url_for('.my_rewards')}?{urlencode({'page': n})}",
        )

    @bp.get("/points-history")
    def points_history() -> str:
        from ..services.history import points_history as history

        ctx = state.current_context()
        return render_template(
            "loyalty_rewards/points_history.html",
            entries=history(ctx, ctx.customer_id(g.loyalty_customer)),
            summary=points_summary(),
        )

    @bp.get("/my-rewards/<loyalty_id:redeemed_id>")
    def redeemed_reward(redeemed_id: int | None) -> str:
        ctx = state.current_context()
        try:
            row = catalog.redeemed_reward(
                ctx, g.loyalty_customer, path_id(redeemed_id, "redeemed reward")
            )
        except NotFound:
            abort(404)
        return render_template(
            "loyalty_rewards/redeemed_reward.html",
            row=row,
            now=clock.now(),
            just_redeemed=request.args.get("redeemed") == "1",
            summary=points_summary(),
        )

    return bp
