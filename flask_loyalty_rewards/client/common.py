"""What the pages and the JSON API share: blueprint names, ids in URLs, the rewards on offer."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask import g
from werkzeug.routing import BaseConverter

from ..bounds import parse_id
from ..errors import NotFound
from ..services import catalog, redemption

if TYPE_CHECKING:
    from ..models.mixins import RewardCampaignMixin
    from ..services.context import Context

#: Endpoint prefix of the client pages and of the JSON API.
PAGES_BLUEPRINT = "loyalty_rewards"
API_BLUEPRINT = "loyalty_api"
#: The URL converter of row ids in our routes (``<loyalty_id:name>``).
ID_CONVERTER = "loyalty_id"


class IdConverter(BaseConverter):
    """A row id in a URL: ASCII digits only (Flask's ``int`` takes any script's digits).

    An id no row can have converts to None, which :func:`path_id` answers "not found" (refusing
    it here would skip the API's own JSON answer for unknown URLs).
    """

    regex = r"[0-9]+"
    part_isolating = True

    def to_python(self, value: str) -> int | None:
        return parse_id(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def path_id(value: int | None, what: str) -> int:
    """An id taken from the URL; one no row can have is simply "not found"."""
    if value is None:
        raise NotFound(f"no such {what}")
    return value


def offers(
    ctx: Context, now: dt.datetime, active_points: int | None = None
) -> tuple[list[RewardCampaignMixin], dict[int, redemption.Availability]]:
    """The campaigns the signed-in customer sees now, and whether each can be redeemed by them
    (``active_points``: theirs, when already read)."""
    campaigns = catalog.visible_campaigns(ctx, now)
    found = redemption.availabilities(
        ctx, g.loyalty_customer, campaigns, now, active_points=active_points
    )
    return campaigns, found
