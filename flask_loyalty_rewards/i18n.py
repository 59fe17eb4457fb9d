"""Translations of everything the extension shows people, in a gettext domain of its own.

The catalogue is ``flask_loyalty_rewards`` under ``translations/`` beside this module, so a
host's own ``messages`` catalogue neither hides nor replaces ours. The locale (and the time zone)
is the host's: Flask-Babel's selector, on the host's ``Babel`` or on the one ``init_app`` sets
up for a host without one (:func:`ensure_babel`). Outside a request (a script, a CLI job, a
worker) everything is English; a job that writes to a customer in their language runs in
``app.test_request_context()`` with ``flask_babel.force_locale(...)``.

This module imports only Flask, Flask-Babel and Babel, so models, rules and services use it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import flask_babel
from babel import dates, numbers
from flask import current_app, has_request_context, request
from flask_babel import Babel, Domain
from flask_babel import LazyString as LazyString
from markupsafe import Markup, escape

#: The gettext domain of our catalogue (``translations/<locale>/LC_MESSAGES/<DOMAIN>.mo``).
DOMAIN = "flask_loyalty_rewards"
TRANSLATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "translations")
#: The locales we ship a catalogue for, besides English (the source language).
SHIPPED_LOCALES = ("pl",)

domain = Domain(translation_directories=[TRANSLATIONS_DIR], domain=DOMAIN)


def _babel_ready() -> bool:
    """Whether to ask Flask-Babel: in a request of an app that has it. Outside requests (CLI
    jobs, workers) a host's locale selector may read request state it does not have there."""
    return has_request_context() and "babel" in current_app.extensions


def gettext(string: str, **variables: Any) -> str:
    """``string`` in the current locale, ``%(name)s`` filled from ``variables``."""
    if not _babel_ready():
        return string % variables if variables else string
    return str(domain.gettext(string, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The plural form for ``num`` in the current locale, ``%(num)s`` being the number as the
    locale writes it (:func:`format_number`)."""
    variables.setdefault("num", format_number(num))
    return _plural(singular, plural, num) % variables


def _plural(singular: str, plural: str, num: int) -> str:
    if not _babel_ready():
        return singular if num == 1 else plural
    return str(domain.get_translations().ungettext(singular, plural, num))


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """A module-level text, translated each time it is shown (in that request's locale)."""
    return LazyString(gettext, string, **variables)


def N_(string: str) -> str:
    """Mark ``string`` for extraction only; :func:`gettext` translates it where it is shown."""
    return string


def locale_name() -> str:
    """The current locale's identifier (``"en"`` outside a request)."""
    locale = flask_babel.get_locale() if _babel_ready() else None
    return str(locale) if locale is not None else "en"


# -- dates and numbers -------------------------------------------------------------------------


def format_datetime(value: dt.datetime | None, *, seconds: bool = False) -> str:
    """A moment in the viewer's time zone and locale, with the zone's name ("… UTC").

    The pattern is a message of the catalogue (CLDR syntax), so each translation picks its
    locale's usual order; English keeps the ISO-like ``2026-03-01 12:00 UTC``.
    """
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    pattern = (
        # Translators: a CLDR date-time pattern (https://babel.pocoo.org/en/latest/dates.html).
        gettext("yyyy-MM-dd HH:mm:ss zzz") if seconds else gettext("yyyy-MM-dd HH:mm zzz")
    )
    if not _babel_ready():
        return dates.format_datetime(value, pattern, tzinfo=dt.timezone.utc, locale="en")
    return str(flask_babel.format_datetime(value, pattern))


def format_date(value: dt.date | dt.datetime) -> str:
    """A day (or a moment's day, in the viewer's zone) in the viewer's locale."""
    # Translators: a CLDR date pattern (https://babel.pocoo.org/en/latest/dates.html).
    pattern = gettext("yyyy-MM-dd")
    if not _babel_ready():
        return dates.format_date(value, pattern, locale="en")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        value = flask_babel.to_user_timezone(value)
    return str(flask_babel.format_date(value, pattern, rebase=False))


def format_number(value: int | Decimal | float | None) -> str:
    """A number in the viewer's locale (Polish ``12 345,5``); English keeps bare digits."""
    if value is None:
        return ""
    locale = locale_name()
    if locale.split("_")[0] == "en":
        return str(value)
    return numbers.format_decimal(value, locale=locale)


# -- set-up ------------------------------------------------------------------------------------


def accept_language_locale() -> str | None:
    """The default locale selector: the browser's preferred language among those shipped."""
    if not has_request_context():
        return None
    return request.accept_languages.best_match(("en", *SHIPPED_LOCALES))


def ensure_babel(app: Any) -> None:
    """Give a host without Flask-Babel one (our templates and Flask-Admin's need it).

    A host's own ``Babel`` (set up before or after ``init_app``) wins: its locale selector
    chooses our language too. Ours selects by the browser's Accept-Language.
    """
    if "babel" not in app.extensions:
        Babel(app, locale_selector=accept_language_locale)


def template_gettext(string: str, **variables: Any) -> Markup:
    """``_()`` and ``gettext()`` of our templates: our catalogue, then the host's.

    Our templates render inside the host's layout, whose own texts are in the host's catalogue:
    a text ours does not know is handed to the host's domain. Variables are escaped, the
    translation itself is trusted (as with Jinja's autoescaping ``{% trans %}``).
    """
    translated = gettext(string)
    if translated == string and _babel_ready():
        translated = str(flask_babel.gettext(string))
    return _fill(translated, variables)


def template_ngettext(singular: str, plural: str, num: int, **variables: Any) -> Markup:
    """``ngettext()`` of our templates: the plural form for ``num``, variables escaped."""
    variables.setdefault("num", format_number(num))
    return _fill(_plural(singular, plural, num), variables)


def _fill(text: str, variables: dict[str, Any]) -> Markup:
    markup = Markup(text)
    return markup % {k: escape(v) for k, v in variables.items()} if variables else markup


def template_globals() -> dict[str, Callable[..., Any]]:
    """What every loyalty template calls: gettext, and the locale's dates and numbers."""
    return {
        "_": template_gettext,
        "gettext": template_gettext,
        "ngettext": template_ngettext,
        "lr_datetime": format_datetime,
        "lr_date": format_date,
        "lr_number": format_number,
        "lr_locale": lambda: locale_name().replace("_", "-"),
    }
