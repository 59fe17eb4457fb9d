"""The OpenAPI document is generated from the schemas and covers every API route."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from flask_loyalty_rewards.client import API_BLUEPRINT
from flask_loyalty_rewards.client.openapi import OPERATIONS


def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/loyalty/api/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def test_openapi_document_is_public_and_openapi_3(app: Flask) -> None:
    doc = document(app)
    assert doc["openapi"] == "3.0.3"
    assert doc["info"]["title"] == "Loyalty rewards API"


def test_every_api_route_and_method_is_documented(app: Flask) -> None:
    paths = document(app)["paths"]
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint.removeprefix(f"{API_BLUEPRINT}.")
        if not rule.endpoint.startswith(f"{API_BLUEPRINT}."):
            continue
        assert endpoint in OPERATIONS, f"{rule.rule} has no OpenAPI operation"
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        assert methods <= set(paths[path]), f"{path}: {methods} not all documented"


def test_schemas_come_from_the_marshmallow_schemas(app: Flask) -> None:
    schemas = document(app)["components"]["schemas"]
    request = schemas["RedeemRequest"]
    assert request["required"] == ["campaign_id"]
    assert request["properties"]["campaign_id"]["type"] == "integer"
    assert request["additionalProperties"] is False
    reward = schemas["Reward"]["properties"]
    assert {"points_needed", "can_redeem", "reason"} <= set(reward)
    assert reward["reward_type"]["enum"][:2] == ["percentage_discount_code", "cashback"]
    status = schemas["RedeemedReward"]["properties"]["coupon_status"]
    assert status["enum"] == ["inactive", "active", "expired", "canceled"]
    assert schemas["Error"]["properties"]["error"]["$ref"].endswith("/ErrorBody")


def test_redeem_operation_documents_idempotency_and_every_error(app: Flask) -> None:
    operation = document(app)["paths"]["/loyalty/api/redeemed-rewards"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    assert {"201", "400", "401", "404", "409", "415", "422"} <= set(operation["responses"])
    error = operation["responses"]["409"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


def test_page_parameters_are_documented_as_query_parameters(app: Flask) -> None:
    operation = document(app)["paths"]["/loyalty/api/redeemed-rewards"]["get"]
    names = {(p["name"], p["in"]) for p in operation["parameters"]}
    assert names == {("page", "query"), ("per_page", "query")}
