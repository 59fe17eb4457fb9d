"""The JSON API: rewards, redeeming, my redeemed rewards, my points, and its OpenAPI document.

Every failure answers ``{"error": {"code", "message", "details"}}`` with the status the error
deserves; bad input of any shape is a 4xx, never a 500. The customer always comes from the host's
``customer_loader``, never from the request.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, validate_csrf
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from wtforms import ValidationError as FormValidationError

from .. import clock
from ..errors import LoyaltyError, RewardUnavailable
from ..errors import NotFound as LoyaltyNotFound
from ..i18n import locale_name
from ..rules import HIDDEN_REASONS
from ..services import catalog, ledger, redemption, translations
from . import schemas
from .common import API_BLUEPRINT, offers, path_id

if TYPE_CHECKING:
    from ..state import LoyaltyState

IDEMPOTENCY_KEY = re.compile(schemas.IDEMPOTENCY_KEY_PATTERN)
#: Refusals that answer 404: no such campaign, or one the customer may not see.
NO_SUCH_REWARD = HIDDEN_REASONS | {"not_found"}
#: Endpoints that answer without a logged-in customer.
PUBLIC_ENDPOINTS = frozenset({"openapi"})
#: Error codes of plain HTTP errors, by status.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


class ApiError(LoyaltyError):
    """A refusal of the API layer itself (authentication, request format)."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message, code=code, **details)
        self.http_status = status


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    response = jsonify(error={"code": code, "message": message, "details": details or {}})
    response.status_code = status
    return response


def json_body() -> Any:
    """The request's JSON document; anything that is not one is a 400 or a 415."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from exc


def load(schema: Schema, data: Any) -> dict[str, Any]:
    result: dict[str, Any] = schema.load(data)
    return result


def dump(schema: Schema, data: Any, status: int = 200) -> Response:
    response = jsonify(schema.dump(data))
    response.status_code = status
    return response


def exempt_from_host_csrf(app: Flask, api: Blueprint) -> None:
    """Exempt the API from the host's CSRFProtect, whether it was set up before or after us."""

    def exempt() -> None:
        csrf = current_app.extensions.get("csrf")
        if csrf is not None:
            csrf.exempt(api)

    with app.app_context():
        exempt()
    app.before_request(exempt)


def create_api_blueprint(state: LoyaltyState) -> Blueprint:
    api = Blueprint(API_BLUEPRINT, __name__)
    reward_list = schemas.RewardListSchema()
    redeemed_schema = schemas.RedeemedRewardSchema()
    redeemed_page = schemas.RedeemedRewardPageSchema()
    points_schema = schemas.PointsSchema()
    redeem_request = schemas.RedeemRequestSchema()
    page_query = schemas.PageQuerySchema()

    @api.before_app_request
    def unrouted() -> ResponseReturnValue | None:
        """A URL under the API's prefix that no route takes (unknown path, or a method such as
        TRACE or DELETE that it does not have) answers in the API's error shape; routing
        errors never reach a blueprint's error handlers, so this runs before Flask raises them.
        """
        exc = request.routing_exception
        prefix = current_app.config["LOYALTY_API_PREFIX"].rstrip("/")
        if not prefix or not isinstance(exc, (NotFound, MethodNotAllowed, RequestRedirect)):
            return None  # an API mounted at the root leaves the host's own 404s alone
        if not (request.path == prefix or request.path.startswith(prefix + "/")):
            return None
        if isinstance(exc, RequestRedirect):  # e.g. doubled slashes: the URL it stands for
            response = error_response(exc.code, "moved", "Use the URL in Location.")
            response.headers["Location"] = exc.new_url
            return response
        if isinstance(exc, NotFound):
            return error_response(404, "not_found", "There is no such API URL.")
        return http_error(exc)

    @api.before_request
    def authenticate() -> ResponseReturnValue | None:
        endpoint = (request.endpoint or "").rpartition(".")[2]
        if request.method == "OPTIONS":
            return options_response()
        if endpoint in PUBLIC_ENDPOINTS:
            return None
        customer = state.current_customer()
        if customer is None:
            raise ApiError(401, "unauthorized", "Log in to use the loyalty API.")
        check_csrf()
        g.loyalty_customer = customer
        return None

    def options_response() -> Response:
        """The methods this URL's routes have, with no body (not Flask's empty HTML 200)."""
        adapter = current_app.url_map.bind_to_environ(request.environ)
        response = Response(status=204)
        response.headers["Allow"] = ", ".join(sorted(adapter.allowed_methods()))
        del response.headers["Content-Type"]
        return response

    def check_csrf() -> None:
        """Session-cookie clients prove the request is theirs with the X-CSRFToken header.

        A host whose CSRFProtect checks every request has checked it already; otherwise we check
        it ourselves, so the API is never less protected than the pages. LOYALTY_API_CSRF_EXEMPT
        turns this off for hosts that authenticate the API by token.
        """
        config = current_app.config
        if (
            request.method not in config.get("WTF_CSRF_METHODS", ["POST", "PUT", "PATCH", "DELETE"])
            or config["LOYALTY_API_CSRF_EXEMPT"]
            or not config.get("WTF_CSRF_ENABLED", True)
            or ("csrf" in current_app.extensions and config.get("WTF_CSRF_CHECK_DEFAULT", True))
        ):
            return
        headers = config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
        token = next((request.headers[h] for h in headers if request.headers.get(h)), None)
        try:
            validate_csrf(token)
        except FormValidationError as exc:
            raise CSRFError(exc.args[0]) from exc

    @api.errorhandler(LoyaltyError)
    def loyalty_error(exc: LoyaltyError) -> ResponseReturnValue:
        return error_response(exc.http_status, exc.code, exc.message, exc.details)

    @api.errorhandler(ValidationError)
    def validation_error(exc: ValidationError) -> ResponseReturnValue:
        return error_response(
            422, "validation_error", "The request has invalid fields.", {"fields": exc.messages}
        )

    @api.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        code = "csrf_failed" if isinstance(exc, CSRFError) else HTTP_CODES.get(status, "error")
        response = error_response(status, code, exc.description or code)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response

    @api.get("/rewards")
    def rewards() -> ResponseReturnValue:
        ctx = state.current_context()
        now = clock.now()
        campaigns, availability = offers(ctx, now)
        texts = translations.campaign_texts(ctx, campaigns, locale_name())
        items = []
        for campaign in campaigns:
            found = availability[campaign.id]
            items.append(
                {
                    "id": campaign.id,
                    "name": texts[campaign.id].name,
                    "description": texts[campaign.id].description,
                    "reward_type": campaign.reward_type,
                    "cost_in_points": campaign.cost_in_points,
                    "points_needed": found.points_needed,
                    "can_redeem": found.can_redeem,
                    "reason": found.reason,
                    "reasons": list(found.reasons),
                    "message": found.message,
                    "active_from": campaign.active_from,
                    "active_to": campaign.active_to,
                }
            )
        return dump(reward_list, {"items": items})

    @api.post("/redeemed-rewards")
    def redeem() -> ResponseReturnValue:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
            raise ApiError(
                400,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            )
        campaign_id = load(redeem_request, json_body())["campaign_id"]
        # What the request did so far only read (the customer loader): the redemption may take
        # the transaction as its own, with no savepoint to set and release around it.
        ctx = state.current_context(may_own_transaction=True, after_reads=True)
        try:
            outcome = redemption.redeem_once(
                ctx, g.loyalty_customer, campaign_id, idempotency_key=key
            )
        except RewardUnavailable as exc:
            if exc.reason in NO_SUCH_REWARD:  # as if it did not exist: hidden ones stay hidden
                raise LoyaltyNotFound("no such reward", campaign_id=campaign_id) from None
            raise
        row = outcome.value
        response = dump(redeemed_schema, row, 201)
        response.headers["Location"] = url_for(".redeemed_reward", redeemed_id=row.id)
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    @api.get("/redeemed-rewards")
    def redeemed_rewards() -> ResponseReturnValue:
        query = load(page_query, request.args.to_dict())
        listing = catalog.redeemed_rewards(state.current_context(), g.loyalty_customer, **query)
        return dump(
            redeemed_page,
            {
                "items": listing.items,
                "page": listing.page,
                "per_page": listing.per_page,
                "total": listing.total,
                "pages": listing.pages,
            },
        )

    @api.get("/redeemed-rewards/<loyalty_id:redeemed_id>")
    def redeemed_reward(redeemed_id: int | None) -> ResponseReturnValue:
        row = catalog.redeemed_reward(
            state.current_context(),
            g.loyalty_customer,
            path_id(redeemed_id, "redeemed reward"),
        )
        return dump(redeemed_schema, row)

    @api.get("/points")
    def points() -> ResponseReturnValue:
        ctx = state.current_context()
        now = clock.now()
        customer_id = ctx.customer_id(g.loyalty_customer)
        summary = ledger.summary(ctx, customer_id, now)
        lots = catalog.open_lots(ctx, customer_id, now)
        nxt = summary.next_expiry
        return dump(
            points_schema,
            {
                "active": summary.active,
                "pending": summary.pending,
                "next_expiry": {"expires_at": nxt[0], "points": nxt[1]} if nxt else None,
                "lots": [
                    {
                        "id": lot.id,
                        "remaining": lot.remaining,
                        "amount": lot.amount,
                        "earned_at": lot.earned_at,
                        "available_from": lot.available_from,
                        "expires_at": lot.expires_at,
                        "pending": lot.available_from is not None and lot.available_from > now,
                        "reason": lot.reason,
                    }
                    for lot in lots
                ],
            },
        )

    @api.get("/openapi.json")
    def openapi() -> ResponseReturnValue:
        from .openapi import openapi_document

        return jsonify(openapi_document(current_app._get_current_object()))  # type: ignore[attr-defined]

    return api
