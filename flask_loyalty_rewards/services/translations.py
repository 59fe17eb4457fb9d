"""Campaign texts in the customer's locale: the admin's translation, else the campaign's own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from babel import Locale, UnknownLocaleError

from ..errors import InvalidInput
from ..i18n import gettext
from ..models.mixins import RewardCampaignMixin
from .context import Context


@dataclass(frozen=True)
class CampaignText:
    """What a customer reads of a campaign."""

    name: str
    description: str


def normalize_locale(value: object) -> str:
    """A locale identifier as Babel writes it (``pt-br`` -> ``pt_BR``); InvalidInput if none."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            gettext("A locale is a language code such as pl or pt_BR."), locale="missing"
        )
    try:
        return str(Locale.parse(value.strip().replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        raise InvalidInput(
            gettext("%(value)s is not a known locale.", value=value), locale="unknown"
        ) from None


def _candidates(locale: str) -> list[str]:
    """The locale, then its language alone: a ``pl`` translation serves ``pl_PL`` too."""
    language = locale.split("_")[0]
    return [locale] if language == locale else [locale, language]


def campaign_texts(
    ctx: Context, campaigns: Iterable[RewardCampaignMixin], locale: str
) -> dict[int, CampaignText]:
    """Each campaign's name and description in ``locale`` (one query for them all).

    A translation's blank field, and a campaign with no translation for the locale, fall back
    to the campaign's own text.
    """
    campaigns = list(campaigns)
    candidates = _candidates(locale)
    translation = ctx.models.CampaignTranslation
    found: dict[int, dict[str, tuple[str, str]]] = {}
    if campaigns:
        rows = ctx.session.execute(
            sa.select(
                translation.campaign_id,
                translation.locale,
                translation.name,
                translation.description,
            ).where(
                translation.campaign_id.in_([c.id for c in campaigns]),
                translation.locale.in_(candidates),
            )
        )
        for campaign_id, row_locale, name, description in rows:
            found.setdefault(campaign_id, {})[row_locale] = (name, description)
    texts = {}
    for campaign in campaigns:
        by_locale = found.get(campaign.id, {})
        ordered = [by_locale[c] for c in candidates if c in by_locale]
        name = next((n for n, _ in ordered if n.strip()), campaign.name)
        description = next((d for _, d in ordered if d.strip()), campaign.description)
        texts[campaign.id] = CampaignText(name=name, description=description)
    return texts
