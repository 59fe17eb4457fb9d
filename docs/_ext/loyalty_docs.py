"""Directives that build reference pages from the code, so they cannot drift from it.

``.. loyalty-config::`` renders every ``LOYALTY_*`` key of ``flask_loyalty_rewards/config.py``
with its default and the comment above it. ``.. loyalty-openapi::`` renders the JSON API's
OpenAPI document as the running extension generates it (and writes it next to the HTML).
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "flask_loyalty_rewards" / "config.py"


def config_entries(path: Path = CONFIG) -> list[tuple[str, str, str]]:
    """(key, default as written, the comment lines just above it) for every DEFAULTS entry."""
    source = path.read_text(encoding="utf-8")
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    tree = ast.parse(source)
    entries: list[tuple[str, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
                    continue
                lines: list[str] = []
                line = key.lineno - 1
                while line in comments and not comments[line].startswith("--"):
                    lines.insert(0, comments[line])
                    line -= 1
                if not lines:  # a key sharing the comment of the key above it
                    lines = ["(see the key above)"] if not entries else [entries[-1][2]]
                default = ast.get_source_segment(source, value) or ""
                entries.append((key.value, default, " ".join(lines)))
    return entries


def as_rst(comment: str) -> str:
    """A plain-text comment as reStructuredText: `code` becomes literal, markup is escaped."""
    parts = re.split(r"(`[^`]+`)", comment)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"``{part.strip('`')}``")
        else:
            out.append(re.sub(r"([*|\\]|_(?=\W|$))", r"\\\1", part))
    return "".join(out)


class ConfigTable(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(CONFIG))
        rows = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 30 18 52",
            "   :width: 100%",
            "",
        ]
        rows += ["   * - Key", "     - Default", "     - Meaning"]
        for key, default, text in config_entries():
            rows += [f"   * - ``{key}``", f"     - ``{default}``", f"     - {as_rst(text)}"]
        return self.parse(rows)

    def parse(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="config.py"), 0, container)
        return list(container.children)


def openapi_document() -> dict[str, Any]:
    """The document of an app set up as in the quickstart (in-memory SQLite)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "loyalty_docs_quickstart_shop", ROOT / "docs" / "examples" / "quickstart" / "shop.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import os

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = "sqlite://"
    try:
        app = module.create_app()
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL")
        else:
            os.environ["DATABASE_URL"] = previous
    from flask_loyalty_rewards.client.openapi import openapi_document as build

    with app.app_context():
        document = build(app)
        for engine in module.db.engines.values():
            engine.dispose()
    return document


def _schema_name(schema: Any) -> str:
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return f":ref:`{name} <openapi-schema-{name.lower()}>`"
        if schema.get("type") == "array":
            return f"array of {_schema_name(schema.get('items', {}))}"
        return str(schema.get("type", "object"))
    return str(schema)


class OpenApiReference(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        for source in ("openapi.py", "schemas.py", "api.py"):
            self.env.note_dependency(str(ROOT / "flask_loyalty_rewards" / "client" / source))
        document = openapi_document()
        out = Path(self.env.app.outdir) / "openapi.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
        lines: list[str] = []
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                summary = operation.get("summary", "")
                lines += [f".. rubric:: {method.upper()} {path}", "", summary, ""]
                params = operation.get("parameters", [])
                if params:
                    lines += ["Parameters:", ""]
                    for param in params:
                        where = param.get("in", "")
                        desc = " ".join(str(param.get("description", "")).split())
                        req = "required" if param.get("required") else "optional"
                        lines.append(f"- ``{param.get('name')}`` ({where}, {req}) {desc}")
                    lines.append("")
                body = operation.get("requestBody", {}).get("content", {})
                for media, content in body.items():
                    lines += [f"Request body ({media}): {_schema_name(content.get('schema'))}", ""]
                lines += ["Responses:", ""]
                for status, response in operation.get("responses", {}).items():
                    schema = response.get("content", {}).get("application/json", {}).get("schema")
                    shape = f" {_schema_name(schema)}" if schema else ""
                    desc = " ".join(str(response.get("description", "")).split())
                    lines.append(f"- **{status}**{shape}: {desc}")
                lines.append("")
        lines += [".. rubric:: Schemas", ""]
        for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
            lines += [f".. _openapi-schema-{name.lower()}:", "", f"**{name}**", ""]
            required = set(schema.get("required", []))
            for prop, info in schema.get("properties", {}).items():
                kind = _schema_name(info)
                flags = ", required" if prop in required else ""
                flags += ", read-only" if info.get("readOnly") else ""
                desc = " ".join(str(info.get("description", "")).split())
                enum = info.get("enum")
                if enum:
                    desc += " One of " + ", ".join(f"``{v}``" for v in enum if v is not None) + "."
                lines.append(f"- ``{prop}`` ({kind}{flags}) {desc}".rstrip())
            lines.append("")
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="openapi.json"), 0, container)
        return list(container.children)


_REWARD = {
    "redeemed_reward_id": 318,
    "campaign_id": 4,
    "reward_name": "10% off your next order",
    "reward_type": "percentage_discount_code",
    "coupon_code": "7KQ2-M9XD-4RTB-WZ3P",
    "actor": None,
}
_WHEN = "2026-03-01T09:30:00+00:00"
#: One example ``data`` per event type (a test checks each against the type's schema).
EVENT_EXAMPLES: dict[str, dict[str, Any]] = {
    "points_earned": {
        "lot_id": 812,
        "points": 120,
        "expires_at": "2027-03-01T09:30:00+00:00",
        "available_from": None,
        "reason": "Order 1043",
        "reference": "order-1043",
        "actor": None,
    },
    "points_adjusted": {
        "points": -50,
        "lot_id": None,
        "expires_at": None,
        "reason": "Duplicate order booked twice",
        "actor": "ann@shop.example",
    },
    "points_revoked": {
        "lot_id": 812,
        "points": 70,
        "already_spent": 50,
        "already_expired": 0,
        "reason": "Order 1043 refunded",
        "reference": "order-1043",
        "actor": None,
    },
    "points_expired": {
        "points": 30,
        "lots": [{"lot_id": 640, "points": 30, "expires_at": _WHEN}],
    },
    "points_expiring_soon": {
        "points": 30,
        "expires_at": "2026-03-15T00:00:00+00:00",
        "days_before": 14,
        "lots": [{"lot_id": 640, "points": 30, "expires_at": "2026-03-15T00:00:00+00:00"}],
    },
    "reward_redeemed": {
        **_REWARD,
        "points_spent": 500,
        "active_points_after": 740,
        "coupon_status": "active",
        "active_from": _WHEN,
        "active_to": "2026-03-31T09:30:00+00:00",
        "redeemed_at": _WHEN,
    },
    "reward_used": {**_REWARD, "used_at": _WHEN, "order_reference": "order-1051"},
    "reward_unused": {**_REWARD, "actor": "ann@shop.example", "coupon_status": "active"},
    "delivery_status_changed": {
        **_REWARD,
        "reward_type": "gift",
        "coupon_code": None,
        "actor": "ann@shop.example",
        "from_status": "ordered",
        "to_status": "shipped",
    },
    "redemption_cancelled": {
        **_REWARD,
        "actor": "ann@shop.example",
        "points_returned": 500,
        "reason": "Customer asked",
    },
    "reward_expired": {**_REWARD, "active_to": _WHEN},
    "cashback_status_changed": {
        **_REWARD,
        "reward_type": "cashback",
        "coupon_code": None,
        "cashback_status": "1: DE_001: Successful disbursal to Wallet is done.",
    },
    "test": {"message": "A test event sent from the admin."},
}


class EventsReference(SphinxDirective):
    """Every event type: what it means, its data schema, its version and an example body."""

    def run(self) -> list[nodes.Node]:
        from flask_loyalty_rewards.services import events

        self.env.note_dependency(str(ROOT / "flask_loyalty_rewards" / "services" / "events.py"))
        lines: list[str] = []
        for event_type, (schema, version) in events.SCHEMAS.items():
            doc = " ".join((schema.__doc__ or "").split())
            example = {
                "id": "5f0c2a5e-8d0b-4a47-9a64-1f1c2b3d4e5f",
                "type": event_type.value,
                "version": version,
                "timestamp": _WHEN,
                "customer_id": "42",
                "data": EVENT_EXAMPLES[event_type.value],
            }
            name = schema.__name__
            lines += [
                f".. _event-{event_type.value}:",
                "",
                f".. rubric:: {event_type.value}",
                "",
                f"{doc} Version {version}; data: :ref:`{name} <openapi-schema-{name.lower()}>`.",
                "",
                ".. code-block:: json",
                "",
                *("   " + line for line in json.dumps(example, indent=2).splitlines()),
                "",
            ]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="events.py"), 0, container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("loyalty-events", EventsReference)
    app.add_directive("loyalty-config", ConfigTable)
    app.add_directive("loyalty-openapi", OpenApiReference)
    return {"parallel_read_safe": True, "version": "1"}
