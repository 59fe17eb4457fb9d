"""Where a ``?next=`` or ``url=`` may send the browser: back into this site, never out of it.

Browsers are lenient with what they are told to follow: they drop tabs and newlines anywhere
in a URL, trim spaces and control characters at its ends, read ``\\`` as ``/`` and treat a
path starting with ``//`` (however many slashes) as another host. So a target is first put in
the form a browser would read it, and only a path on this site (no scheme, no host) passes;
the normalised text is what the redirect then sends, so what was checked is what is followed.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: Removed anywhere, as the WHATWG URL parser does.
_DROPPED = re.compile(r"[\t\n\r]")
#: Trimmed at both ends, as the WHATWG URL parser does (C0 controls and space).
_EDGES = "".join(chr(code) for code in range(0x21))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def local_url(target: object) -> str | None:
    """``target`` as a path on this site (``/orders?page=2``), or None to use a default.

    Refused: anything that is not text, is empty, names a scheme (``javascript:``, ``https:``)
    or a host (``//evil.example``, ``/\\evil.example``, ``/%09/evil.example`` once decoded),
    does not start with ``/``, or still holds a control character after normalising.
    """
    if not isinstance(target, str):
        return None
    text = _DROPPED.sub("", target).strip(_EDGES).replace("\\", "/")
    if not text.startswith("/") or text.startswith("//") or _CONTROL.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return text


__all__ = ["local_url"]
