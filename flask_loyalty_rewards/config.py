"""``LOYALTY_*`` configuration keys and their defaults (set with ``setdefault`` in ``init_app``)."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # URL prefix of the client pages (rewards, my rewards).
    "LOYALTY_URL_PREFIX": "/loyalty",
    # URL prefix of the JSON API.
    "LOYALTY_API_PREFIX": "/loyalty/api",
    # Register the client pages and the JSON API at all.
    "LOYALTY_CLIENT_ENABLED": True,
    # Template the client pages extend; the host's own layout, or our minimal one.
    "LOYALTY_BASE_TEMPLATE": "loyalty_rewards/base.html",
    # Endpoint anonymous visitors are sent to (with ?next=); None answers 401.
    "LOYALTY_LOGIN_ENDPOINT": None,
    # Exempt the JSON API from the host's CSRFProtect (for hosts that authenticate it by token).
    "LOYALTY_API_CSRF_EXEMPT": False,
    # Redeemed rewards per page on the client's "My rewards" page (the API takes ?per_page=).
    "LOYALTY_CLIENT_PAGE_SIZE": 20,
    # Callable returning True when the current user may use the admin views; None denies all.
    "LOYALTY_ADMIN_ACCESS": None,
    # Callable returning a name for the history ("who did it"); default: the access hook's user.
    "LOYALTY_ADMIN_ACTOR": None,
    # Flask-Admin menu category of the loyalty views.
    "LOYALTY_ADMIN_CATEGORY": "Reward campaigns",
    # Default rows per page of the admin grid, and the page sizes offered.
    "LOYALTY_ADMIN_PAGE_SIZE": 50,
    # The admin grid counts matching rows up to this many, then shows "more than" (or, for an
    # unfiltered list, the database's estimate of the table size): counting millions is slow.
    "LOYALTY_ADMIN_COUNT_CAP": 100_000,
    # Most rows a CSV export may hold.
    "LOYALTY_ADMIN_EXPORT_MAX_ROWS": 50_000,
    # Name of the CLI group (`flask loyalty ...`); None registers no commands.
    "LOYALTY_CLI_GROUP": "loyalty",
    # On SQLite, begin every transaction with BEGIN IMMEDIATE (see docs: SQLite).
    "LOYALTY_SQLITE_BEGIN_IMMEDIATE": True,
}
