"""The OpenAPI 3 document of the JSON API, generated from the marshmallow schemas by apispec.

Paths come from the app's URL map, so the document follows ``LOYALTY_API_PREFIX``; every API
route must have an entry in :data:`OPERATIONS` (a test holds us to it).
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from ..bounds import MAX_ID
from ..services import events
from . import schemas
from .common import API_BLUEPRINT


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": "Error"}}}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_COMMON_ERRORS = {
    "401": _error("No customer is logged in."),
}
_PAGE_PARAMETERS = [{"in": "query", "schema": schemas.PageQuerySchema}]

#: endpoint -> {method: operation}
OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "rewards": {
        "get": {
            "summary": "Rewards the customer can see now, with whether each can be redeemed",
            "operationId": "listRewards",
            "responses": {"200": _ok("RewardList", "The rewards, cheapest first.")},
        }
    },
    "redeem": {
        "post": {
            "summary": "Redeem a reward with points",
            "operationId": "redeemReward",
            "parameters": [
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": schemas.IDEMPOTENCY_KEY_PATTERN,
                    },
                    "description": "1 to 255 visible ASCII characters (a UUID is a good "
                    "choice). Retries with the same key and body return the first result "
                    "(with `Idempotent-Replayed: true`); another body with the key is a 409.",
                },
                {
                    "in": "header",
                    "name": "X-CSRFToken",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Needed by session-cookie clients unless the host exempts "
                    "the API (LOYALTY_API_CSRF_EXEMPT).",
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": "RedeemRequest"}},
            },
            "responses": {
                "201": _ok("RedeemedReward", "Redeemed (or replayed: see Idempotent-Replayed)."),
                "400": _error("Invalid JSON, Idempotency-Key or CSRF token."),
                "404": _error("No such reward (or one the customer may not see now)."),
                "409": _error(
                    "Refused: not_enough_points, reward_unavailable (details.reason) or "
                    "idempotency_conflict."
                ),
                "415": _error("The body is not application/json."),
                "422": _error("Unknown, missing or wrongly typed fields."),
            },
        }
    },
    "redeemed_rewards": {
        "get": {
            "summary": "The customer's redeemed rewards, newest first",
            "operationId": "listRedeemedRewards",
            "parameters": _PAGE_PARAMETERS,
            "responses": {
                "200": _ok("RedeemedRewardPage", "One page."),
                "422": _error("Invalid page or per_page."),
            },
        }
    },
    "redeemed_reward": {
        "get": {
            "summary": "One of the customer's redeemed rewards",
            "operationId": "getRedeemedReward",
            "parameters": [
                {
                    "in": "path",
                    "name": "redeemed_id",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                }
            ],
            "responses": {
                "200": _ok("RedeemedReward", "The reward."),
                "404": _error("No such reward of this customer."),
            },
        }
    },
    "points": {
        "get": {
            "summary": "The customer's points: active, pending, and the lots that hold them",
            "operationId": "getPoints",
            "responses": {"200": _ok("Points", "The points.")},
        }
    },
    "openapi": {
        "get": {
            "summary": "This document",
            "operationId": "getOpenAPI",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3 document."}},
        }
    },
}

_SCHEMAS = {
    "Error": schemas.ErrorSchema,
    "Reward": schemas.RewardSchema,
    "RewardList": schemas.RewardListSchema,
    "RedeemedReward": schemas.RedeemedRewardSchema,
    "RedeemedRewardPage": schemas.RedeemedRewardPageSchema,
    "Points": schemas.PointsSchema,
    "RedeemRequest": schemas.RedeemRequestSchema,
}


def _package_version() -> str:
    try:
        return version("flask-loyalty-rewards")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def openapi_document(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="Loyalty rewards API",
        version=_package_version(),
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Every failure answers "
            '`{"error": {"code": ..., "message": ..., "details": {...}}}`.'
        },
    )
    for name, schema in _SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    # Not served by the API: the bodies webhooks POST (see docs: events).
    for name, schema in events.json_schemas().items():
        spec.components.schema(name, schema=schema)
    prefix = f"{API_BLUEPRINT}."
    paths: dict[str, dict[str, dict[str, Any]]] = {}
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint.removeprefix(prefix)
        if rule.endpoint.startswith(prefix) and endpoint in OPERATIONS:
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            paths.setdefault(path, {}).update(OPERATIONS[endpoint])
    for path, operations in paths.items():
        with_errors = {
            method: {
                **operation,
                "responses": operation["responses"]
                | ({} if "security" in operation else _COMMON_ERRORS),
            }
            for method, operation in operations.items()
        }
        spec.path(path=path, operations=with_errors)
    return spec.to_dict()
