"""What the pages and the JSON API share: blueprint names and ids in URLs."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import BaseConverter

from ..bounds import parse_id
from ..errors import NotFound

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
