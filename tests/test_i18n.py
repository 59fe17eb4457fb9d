"""Translations: every text people read is in the catalogue, Polish is complete, the host's
Flask-Babel locale selector chooses the language, and English stays word for word."""

from __future__ import annotations

import ast
import html.parser
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from jinja2 import Environment

import flask_loyalty_rewards
from flask_loyalty_rewards.i18n import DOMAIN, TRANSLATIONS_DIR
from tests.support.clients import log_in
from tests.support.factories import Rows as Shop

PACKAGE = Path(flask_loyalty_rewards.__file__).parent
ROOT = PACKAGE.parent
TEMPLATES = PACKAGE / "templates"
POLISH_PO = Path(TRANSLATIONS_DIR) / "pl" / "LC_MESSAGES" / f"{DOMAIN}.po"
POLISH_MO = POLISH_PO.with_suffix(".mo")
#: What `make messages` passes to pybabel extract (besides babel.cfg's method map).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None}
GETTEXT_CALLS = frozenset(KEYWORDS)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
LETTER = re.compile(r"[^\W\d_]")


def extracted() -> dict[Any, set[str]]:
    """Every message pybabel extracts with the project's babel.cfg, with its file names."""
    method_map = [
        ("flask_loyalty_rewards/**.py", "python"),
        ("flask_loyalty_rewards/templates/**.html", "jinja2"),
    ]
    found: dict[Any, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        found.setdefault(message, set()).add(filename)
    return found


def polish() -> Any:
    with POLISH_PO.open("rb") as f:
        return read_po(f, locale="pl")


def test_babel_cfg_extracts_what_the_test_extracts() -> None:
    assert (ROOT / "babel.cfg").read_text().count("[") == 2
    assert "[python: flask_loyalty_rewards/**.py]" in (ROOT / "babel.cfg").read_text()
    assert "[jinja2: flask_loyalty_rewards/templates/**.html]" in (ROOT / "babel.cfg").read_text()


def test_every_extracted_text_has_a_complete_polish_translation() -> None:
    catalogue = polish()
    problems = []
    for message_id, files in sorted(extracted().items(), key=str):
        key = message_id[0] if isinstance(message_id, tuple) else message_id
        entry = catalogue.get(key)
        where = ", ".join(sorted(files))
        if entry is None:
            problems.append(f"not in the Polish catalogue: {message_id!r} ({where})")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(s.strip() for s in strings):
            problems.append(f"untranslated or fuzzy: {key!r}")
        if isinstance(message_id, tuple) and len(strings) != catalogue.num_plurals:
            problems.append(f"needs {catalogue.num_plurals} plural forms: {key!r}")
        wanted = set(PLACEHOLDER.findall(key))
        for translated in strings:
            if set(PLACEHOLDER.findall(translated)) - wanted - {"num"}:
                problems.append(f"a placeholder the English lacks: {translated!r}")
            if wanted - {"num"} - set(PLACEHOLDER.findall(translated)):
                problems.append(f"a placeholder lost: {translated!r}")
    assert problems == []


def test_the_polish_catalogue_has_three_plural_forms() -> None:
    catalogue = polish()
    assert catalogue.num_plurals == 3
    assert [catalogue.plural_expr.count("?")] == [2]


def test_the_compiled_catalogue_is_the_po_file_compiled() -> None:
    """The .mo we ship is up to date: run `make messages` after editing the .po."""
    with POLISH_MO.open("rb") as f:
        compiled = {_strings(m.id): _strings(m.string) for m in read_mo(f) if m.id}
    source = {_strings(m.id): _strings(m.string) for m in polish() if m.id and not m.fuzzy}
    assert compiled == source


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def test_the_catalogue_ships_inside_the_package() -> None:
    assert POLISH_MO.is_relative_to(PACKAGE)
    assert POLISH_MO.stat().st_size > 0


# -- no text outside gettext -------------------------------------------------------------------


class _TextFinder(html.parser.HTMLParser):
    """Words in an HTML page's text and in the attributes people read (Jinja code removed)."""

    READ_ATTRIBUTES = frozenset({"title", "aria-label", "placeholder", "alt"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self._skipped: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skipped.append(tag)
        for name, value in attrs:
            if name in self.READ_ATTRIBUTES and value and LETTER.search(value):
                self.words.append(f"{name}={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if self._skipped and self._skipped[-1] == tag:
            self._skipped.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipped and LETTER.search(data):
            self.words.append(data.strip())


def _bare_texts(source: str) -> list[str]:
    """What a template shows people that is not a gettext call.

    Jinja's lexer splits the template into text (``data``) and code; the text, with every
    ``{{ }}`` replaced by a placeholder and every tag dropped, is parsed as HTML. Inside the code,
    a string literal with a space or a capital letter (a sentence, not an identifier or a CSS
    class) counts unless it is an argument of ``_``, ``gettext`` or ``ngettext``.
    """
    env = Environment(extensions=["jinja2.ext.i18n"])
    html_text: list[str] = []
    found: list[str] = []
    depth = 0
    call_stack: list[bool] = []
    previous = ""
    for _line, kind, value in env.lex(source):
        if kind == "data":
            html_text.append(value)
        elif kind == "variable_begin":
            html_text.append("0")
        elif kind == "operator" and value == "(":
            call_stack.append(previous in GETTEXT_CALLS)
            depth += 1
        elif kind == "operator" and value == ")":
            call_stack.pop()
            depth -= 1
        elif kind == "string" and not any(call_stack):
            literal = ast.literal_eval(value)
            if LETTER.search(literal) and (" " in literal.strip() or literal[:1].isupper()):
                found.append(f"string {value}")
        if kind not in ("whitespace",):
            previous = value
    finder = _TextFinder()
    finder.feed("".join(html_text))
    return found + finder.words


def templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("template", templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_a_template_shows_no_text_outside_gettext(template: Path) -> None:
    assert _bare_texts(template.read_text()) == []


def test_the_bare_text_check_finds_text_outside_gettext() -> None:
    assert _bare_texts("<p>{{ _('Fine') }}</p><p>Not fine</p>") == ["Not fine"]
    assert _bare_texts('<a title="Hover me">{{ _("x") }}</a>') == ["title='Hover me'"]
    assert _bare_texts("{{ x or 'Not ordered yet' }}") == ["string 'Not ordered yet'"]
    assert _bare_texts("{{ url_for('loyalty.rewards') }}<style>p { color: red }</style>") == []
    assert _bare_texts("{{ ngettext('%(num)s point', '%(num)s points', n) }}") == []


MESSAGE_CALLS = {"flash"}
#: Where refusals are made: every sentence there is a gettext call's argument.
REFUSAL_MODULES = ("rules", "errors.py", "i18n.py")


def _python_sources(*parts: str) -> list[Path]:
    paths: list[Path] = []
    for part in parts:
        path = PACKAGE / part
        paths.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return paths


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def test_gettext_is_called_with_literal_texts_that_pybabel_can_extract() -> None:
    problems = []
    for path in _python_sources("."):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and _name(node.func) in GETTEXT_CALLS - {"_"}:
                texts = node.args[:2] if _name(node.func) == "ngettext" else node.args[:1]
                # A module marking its texts with N_ translates them by lookup (enums, errors).
                if "N_(" not in source and not all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in texts
                ):
                    problems.append(f"{path.name}:{node.lineno}")
    assert problems == []


def test_flash_messages_are_translated() -> None:
    problems = []
    for path in _python_sources("."):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _name(node.func) in MESSAGE_CALLS and node.args:
                first = node.args[0]
                if isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    problems.append(f"{path.name}:{node.lineno}")
    assert problems == []


def test_refusal_messages_are_translated() -> None:
    """A sentence in the rules is a gettext argument (docstrings and codes are not sentences)."""
    problems = []
    for path in _python_sources(*REFUSAL_MODULES):
        tree = ast.parse(path.read_text())
        inside_gettext: set[int] = set()
        docstrings: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in GETTEXT_CALLS:
                inside_gettext.update(id(n) for n in ast.walk(node))
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                docstrings.add(id(body[0].value))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and " " in node.value.strip()
                and id(node) not in inside_gettext | docstrings
                and path.name != "i18n.py"
            ):
                problems.append(f"{path.name}:{node.lineno}: {node.value!r}")
            if isinstance(node, ast.JoinedStr) and id(node) not in docstrings:
                problems.append(f"{path.name}:{node.lineno}: an f-string")
    assert problems == []


# -- the pages in Polish ------------------------------------------------------------------------


def visible(body: str) -> str:
    """The page's text as people read it (tags dropped, spaces folded)."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", body))


def tooltip(body: str, campaign_id: int) -> str:
    card = body[body.index(f'id="lr-reward-{campaign_id}"') :]
    found = re.search(r'class="lr-tip__bubble"[^>]*>([^<]*)<', card)
    assert found is not None
    return found.group(1)


def test_a_polish_customer_reads_the_rewards_page_in_polish(babel_host: Flask, shop: Shop) -> None:
    customer = shop.customer(locale="pl")
    shop.earn(customer, 40)
    campaign = shop.campaign(cost_in_points=125)
    client = babel_host.test_client()
    log_in(client, customer)
    body = client.get("/loyalty/").get_data(as_text=True)
    assert '<html lang="pl">' in body
    assert "<h1>Nagrody</h1>" in body
    assert "Twoje punkty" in body and "Aktywne punkty" in body
    assert "<strong>125</strong> punktów" in body
    assert ">Odbierz</button>" in body
    assert tooltip(body, campaign) == "Musisz mieć jeszcze 85 punktów, aby otrzymać nagrodę"


@pytest.mark.parametrize(
    ("short_by", "words"),
    [
        (1, "Musisz mieć jeszcze 1 punkt, aby otrzymać nagrodę"),
        (3, "Musisz mieć jeszcze 3 punkty, aby otrzymać nagrodę"),
        (12, "Musisz mieć jeszcze 12 punktów, aby otrzymać nagrodę"),
        (22, "Musisz mieć jeszcze 22 punkty, aby otrzymać nagrodę"),
        (25, "Musisz mieć jeszcze 25 punktów, aby otrzymać nagrodę"),
    ],
)
def test_the_polish_tooltip_takes_the_plural_form_of_its_number(
    babel_host: Flask, shop: Shop, short_by: int, words: str
) -> None:
    customer = shop.customer(locale="pl")
    shop.earn(customer, 100)
    campaign = shop.campaign(cost_in_points=100 + short_by)
    client = babel_host.test_client()
    log_in(client, customer)
    assert tooltip(client.get("/loyalty/").get_data(as_text=True), campaign) == words


@pytest.mark.parametrize("short_by", [1, 2, 5, 22])
def test_the_english_tooltip_keeps_the_specs_words_for_every_number(
    babel_host: Flask, shop: Shop, short_by: int
) -> None:
    customer = shop.customer(locale="en")
    shop.earn(customer, 100)
    campaign = shop.campaign(cost_in_points=100 + short_by)
    client = babel_host.test_client()
    log_in(client, customer)
    body = client.get("/loyalty/").get_data(as_text=True)
    assert tooltip(body, campaign) == f"You must have {short_by} more points to get reward"


def test_polish_dates_and_numbers_are_written_the_polish_way_with_their_zone(
    babel_host: Flask, shop: Shop, frozen_clock: Any
) -> None:
    import datetime as dt

    frozen_clock.set(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc))
    customer = shop.customer(locale="pl")
    shop.earn(customer, 12345, expires_at=dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.timezone.utc))
    client = babel_host.test_client()
    log_in(client, customer)
    page = visible(client.get("/loyalty/points-history").get_data(as_text=True))
    assert "Najbliżej wygaśnięcia 12\xa0345 punktów 11 mar 2026, 12:00 UTC" in page


def test_the_api_answers_in_the_customers_language(babel_host: Flask, shop: Shop) -> None:
    customer = shop.customer(locale="pl")
    shop.campaign(cost_in_points=2)
    client = babel_host.test_client()
    log_in(client, customer)
    item = client.get("/loyalty/api/rewards").get_json()["items"][0]
    assert item["message"] == "Musisz mieć jeszcze 2 punkty, aby otrzymać nagrodę"
    assert item["reward_type_label"] == "Kod rabatowy"
    assert item["reason"] == "not_enough_points"


def test_without_a_babel_of_its_own_the_host_gets_the_browsers_language(
    app: Flask, shop: Shop
) -> None:
    customer = shop.customer()
    campaign = shop.campaign(cost_in_points=5)
    client = app.test_client()
    log_in(client, customer)
    polish_page = client.get("/loyalty/", headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"})
    assert tooltip(polish_page.get_data(as_text=True), campaign) == (
        "Musisz mieć jeszcze 5 punktów, aby otrzymać nagrodę"
    )
    english_page = client.get("/loyalty/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert tooltip(english_page.get_data(as_text=True), campaign) == (
        "You must have 5 more points to get reward"
    )


def test_the_hosts_own_catalogue_keeps_translating_the_hosts_layout(
    tmp_path: Path, babel_host: Flask, shop: Shop
) -> None:
    """Our templates render in the host's layout; its texts come from the host's domain."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    folder = tmp_path / "pl" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalog = Catalog(locale="pl")
    catalog.add("Our shop", "Nasz sklep")
    with (folder / "messages.mo").open("wb") as f:
        write_mo(f, catalog)
    layout = tmp_path / "layouts"
    layout.mkdir()
    (layout / "shop_layout.html").write_text(
        "<header>{{ _('Our shop') }}</header>{% block title %}{% endblock %}"
        "{% block content %}{% endblock %}"
    )
    from jinja2 import ChoiceLoader, FileSystemLoader

    own_loader = babel_host.jinja_loader
    assert own_loader is not None
    babel_host.jinja_loader = ChoiceLoader(  # type: ignore[method-assign]
        [FileSystemLoader(str(layout)), own_loader]
    )
    babel_host.jinja_env.cache.clear()  # type: ignore[union-attr]
    babel_host.config["LOYALTY_BASE_TEMPLATE"] = "shop_layout.html"
    babel_host.extensions["babel"].translation_directories.append(str(tmp_path))
    customer = shop.customer(locale="pl")
    client = babel_host.test_client()
    log_in(client, customer)
    body = client.get("/loyalty/").get_data(as_text=True)
    assert "<header>Nasz sklep</header>" in body
    assert "<h1>Nagrody</h1>" in body


# -- campaign texts per locale -----------------------------------------------------------------


def translate(shop: Shop, campaign_id: int, locale: str, **texts: str) -> None:
    def add(session: Any, models: Any) -> None:
        session.add(models.CampaignTranslation(campaign_id=campaign_id, locale=locale, **texts))
        session.commit()

    shop.run(add)


def test_a_customer_reads_the_campaign_in_their_locale(babel_host: Flask, shop: Shop) -> None:
    campaign = shop.campaign(name="Free delivery", description="On your next order")
    translate(shop, campaign, "pl", name="Darmowa dostawa", description="Przy kolejnym zamówieniu")
    client = babel_host.test_client()
    polish, english = shop.customer(locale="pl"), shop.customer(locale="en")
    log_in(client, polish)
    body = client.get("/loyalty/").get_data(as_text=True)
    assert "Darmowa dostawa</h2>" in body and "Przy kolejnym zamówieniu" in body
    confirm = client.get(f"/loyalty/rewards/{campaign}/redeem").get_data(as_text=True)
    assert "Odebrać nagrodę Darmowa dostawa?" in confirm
    item = client.get("/loyalty/api/rewards").get_json()["items"][0]
    assert (item["name"], item["description"]) == ("Darmowa dostawa", "Przy kolejnym zamówieniu")
    log_in(client, english)
    assert "Free delivery</h2>" in client.get("/loyalty/").get_data(as_text=True)


def test_a_blank_translated_text_falls_back_to_the_campaigns_own(
    babel_host: Flask, shop: Shop
) -> None:
    campaign = shop.campaign(name="Free delivery", description="On your next order")
    translate(shop, campaign, "pl", name="Darmowa dostawa", description="")
    client = babel_host.test_client()
    log_in(client, shop.customer(locale="pl_PL"))  # a regional locale finds the language's text
    item = client.get("/loyalty/api/rewards").get_json()["items"][0]
    assert (item["name"], item["description"]) == ("Darmowa dostawa", "On your next order")


# -- the admin in Polish ------------------------------------------------------------------------


def test_a_polish_admin_reads_the_grid_its_presets_and_the_menu_in_polish(
    babel_host: Flask, shop: Shop
) -> None:
    admin = shop.customer(locale="pl", is_admin=True)
    client = babel_host.test_client()
    log_in(client, admin)
    body = client.get("/admin/loyalty/redeemed/").get_data(as_text=True)
    for words in (
        "Data i godzina odebrania",  # a column
        "Zapisane filtry:",  # the presets' bar
        "Prezenty czekające na wysyłkę",  # a preset
        "Odebrane nagrody",  # the menu
    ):
        assert words in body, words


def test_a_polish_admins_flash_message_is_polish(babel_host: Flask, shop: Shop) -> None:
    admin = shop.customer(locale="pl", is_admin=True)
    client = babel_host.test_client()
    log_in(client, admin)
    page = client.get("/admin/loyalty/points/customer/?customer_id=999999", follow_redirects=True)
    assert "Nie ma klienta o takim id." in page.get_data(as_text=True)


def test_outside_a_request_texts_are_english_and_the_hosts_selector_is_not_asked(
    app: Flask,
) -> None:
    """A CLI job: the host's selector would need a request; our refusals never call it."""
    from flask_babel import Babel

    from flask_loyalty_rewards.errors import NotEnoughPoints

    def needs_a_request() -> str:
        raise RuntimeError("the selector ran outside a request")

    Babel(app, locale_selector=needs_a_request)
    with app.app_context():
        refusal = NotEnoughPoints(3, cost=5, active_points=2)
    assert refusal.message == "You must have 3 more points to get reward"


def test_a_job_writes_in_a_forced_locale_inside_a_request_context(app: Flask) -> None:
    from flask_babel import force_locale

    from flask_loyalty_rewards.errors import NotEnoughPoints

    with app.test_request_context(), force_locale("pl"):
        refusal = NotEnoughPoints(3, cost=5, active_points=2)
    assert refusal.message == "Musisz mieć jeszcze 3 punkty, aby otrzymać nagrodę"
