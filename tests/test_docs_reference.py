"""The generated reference pages read the code right (the Sphinx build itself is `make docs`)."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from flask_loyalty_rewards.config import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def docs_extension() -> ModuleType:
    name = "loyalty_docs_under_test"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, DOCS / "_ext" / "loyalty_docs.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_configuration_reference_lists_every_key_with_its_default() -> None:
    entries = docs_extension().config_entries()
    assert [key for key, _, _ in entries] == list(DEFAULTS)
    for key, default, _ in entries:
        assert ast.literal_eval(default) == DEFAULTS[key], key


def test_every_configuration_key_is_explained() -> None:
    for key, _, text in docs_extension().config_entries():
        assert len(text) > 10, key


def test_openapi_reference_covers_every_api_route() -> None:
    document = docs_extension().openapi_document()
    paths = set(document["paths"])
    assert {"/loyalty/api/rewards", "/loyalty/api/redeemed-rewards", "/loyalty/api/points"} <= (
        paths
    )


def test_every_guide_is_in_the_table_of_contents() -> None:
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   (\S+)$", index, flags=re.M))
    pages = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.glob("guides/*.rst")}
    assert pages <= listed


def test_signals_guide_lists_every_signal() -> None:
    from blinker import NamedSignal

    from flask_loyalty_rewards import signals

    defined = {name for name, value in vars(signals).items() if isinstance(value, NamedSignal)}
    guide = (DOCS / "guides" / "signals.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^   \* - ``(\w+)``$", guide, flags=re.M))
    assert documented == defined


def test_cli_guide_explains_every_command() -> None:
    from flask_loyalty_rewards.cli import create_cli

    guide = (DOCS / "guides" / "cli.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^``flask loyalty ([\w-]+)``$", guide, flags=re.M))
    assert documented == set(create_cli().commands)


def test_screenshots_in_the_docs_are_the_ones_the_script_makes() -> None:
    script = (DOCS.parent / "scripts" / "screenshots.py").read_text(encoding="utf-8")
    made = set(re.findall(r'out / "([\w-]+\.png)"', script))
    shown = set()
    for page in DOCS.rglob("*.rst"):
        shown.update(re.findall(r"_static/screenshots/([\w-]+\.png)", page.read_text("utf-8")))
    assert shown == made
    for name in made:
        size = (DOCS / "_static" / "screenshots" / name).stat().st_size
        assert 10_000 < size < 400_000, name


def test_events_reference_has_a_valid_example_of_every_event_type() -> None:
    from flask_loyalty_rewards.models.events import EventType
    from flask_loyalty_rewards.services import events

    examples = docs_extension().EVENT_EXAMPLES
    assert set(events.SCHEMAS) == set(EventType)
    assert set(examples) == {event_type.value for event_type in EventType}
    for event_type, (schema, _) in events.SCHEMAS.items():
        assert schema().validate(examples[event_type.value]) == {}, event_type
