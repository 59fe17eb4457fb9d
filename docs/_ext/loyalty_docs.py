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


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("loyalty-config", ConfigTable)
    app.add_directive("loyalty-openapi", OpenApiReference)
    return {"parallel_read_safe": True, "version": "1"}
