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
    # With no admin= passed to init_app, create a Flask-Admin ourselves (fluid layout, its index
    # behind the same access rules) to hold the loyalty views.
    "LOYALTY_ADMIN_CREATE": False,
    # Title and URL of that Flask-Admin.
    "LOYALTY_ADMIN_NAME": "Admin",
    "LOYALTY_ADMIN_URL": "/admin",
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
    "LOYALTY_ADMIN_COUNT_CAP": 10_000,
    # Saved filters of the Redeemed rewards grid added to the built-in ones, by URL key:
    # {"key": GridPreset(label, where) or (label, where)}, where(model, now) returning a SQL
    # condition; None as a value hides the built-in preset of that key (admin/presets.py).
    "LOYALTY_ADMIN_PRESETS": {},
    # Columns of the host's customer model the Customer points list searches (each word of the
    # search starts one of them, any case); None: whichever of email, first_name, last_name and
    # phone the model has. What the list shows comes from the customer_profile callback.
    "LOYALTY_ADMIN_CUSTOMER_COLUMNS": None,
    # Most rows a CSV export may hold.
    "LOYALTY_ADMIN_EXPORT_MAX_ROWS": 50_000,
    # Most codes one pool upload may hold (it is read and stored in batches); above it the
    # upload is refused as a whole with a message. Limit the request size with Flask's
    # MAX_CONTENT_LENGTH too.
    "LOYALTY_POOL_UPLOAD_MAX_CODES": 100_000,
    # Name of the CLI group (`flask loyalty ...`); None registers no commands.
    "LOYALTY_CLI_GROUP": "loyalty",
    # On SQLite, which transactions begin with BEGIN IMMEDIATE: "ours" (our units of work only),
    # "all" (every transaction of the host's engine) or None (see docs: databases, SQLite).
    "LOYALTY_SQLITE_BEGIN_IMMEDIATE": "ours",
    # -- earning rules of earn_for_order (see docs: points, and services/earning.py) --
    # Points per currency unit of an order's amount: a Decimal or its text (1 point per 10 units
    # is Decimal("0.1")); never a float.
    "LOYALTY_POINTS_PER_UNIT": "1",
    # How amount x points-per-unit becomes whole points: a decimal rounding mode (ROUND_DOWN).
    "LOYALTY_POINTS_ROUNDING": "ROUND_DOWN",
    # Days an order's points stay spendable, counted from the order; None: they never expire.
    "LOYALTY_POINTS_VALID_DAYS": None,
    # Move that expiry to the end of its day or month in LOYALTY_TIMEZONE: "exact",
    # "end_of_day" or "end_of_month".
    "LOYALTY_POINTS_EXPIRE_AT": "exact",
    # Days an order's points stay pending (the return window) before they can be spent.
    "LOYALTY_POINTS_PENDING_DAYS": 0,
    # IANA time zone whose days and months the rounding above follows.
    "LOYALTY_TIMEZONE": "UTC",
    # -- events and webhooks (see docs: events) --
    # Write an event row (the outbox webhooks deliver from) with every change, in its transaction.
    "LOYALTY_EVENTS": True,
    # Events a deliverer claims and sends per round.
    "LOYALTY_WEBHOOK_BATCH": 20,
    # Seconds to wait for a receiver (connecting: at most 5 of them).
    "LOYALTY_WEBHOOK_TIMEOUT": 10,
    # Seconds before the first retry; each further retry waits twice as long, jittered 50-100%.
    "LOYALTY_WEBHOOK_BACKOFF_SECONDS": 30,
    # The longest wait between two attempts, in seconds.
    "LOYALTY_WEBHOOK_BACKOFF_MAX_SECONDS": 3600,
    # Give a delivery up when its next attempt would come this many seconds after the event
    # (three days).
    "LOYALTY_WEBHOOK_MAX_AGE_SECONDS": 259_200,
    # -- generated coupon codes (see docs: campaigns, "Code format") --
    # Random characters per code; with the alphabet they must give at least 64 bits.
    "LOYALTY_CODE_LENGTH": 16,
    # Characters codes are drawn from: Crockford's base 32 (no I, L, O, U).
    "LOYALTY_CODE_ALPHABET": "0123456789ABCDEFGHJKMNPQRSTVWXYZ",
    # Characters per group when the code is shown and stored; 0: no grouping.
    "LOYALTY_CODE_GROUP": 4,
    # Between groups: "-", " " or "" (customers may type codes with or without it).
    "LOYALTY_CODE_SEPARATOR": "-",
    # Text put before every generated code, e.g. "SHOP" (upper-case letters, digits, dashes).
    "LOYALTY_CODE_PREFIX": "",
    # -- cashback payouts (see flask_loyalty_rewards/cashback/payouts.py) --
    # Who pays cashback out: "manual" (an admin marks each payout paid or failed), "paytm", or the
    # host's own provider as a class, an instance or a dotted path (cashback/registry.py).
    "LOYALTY_CASHBACK_PROVIDER": "manual",
    # Currency of cashback campaigns that set none.
    "LOYALTY_CASHBACK_CURRENCY": "INR",
    # Callable (or dotted path) hook(customer, redeemed_reward) -> PayoutDestination | None, where
    # the customer's money goes; None: the wallet of the phone number on the redeemed reward.
    "LOYALTY_CASHBACK_DESTINATION": None,
    # Call the provider right after a redemption commits; False leaves it to `cashback-sync`.
    "LOYALTY_CASHBACK_SEND_ON_REDEEM": True,
    # Seconds between status checks of a pending (or unanswered) payout.
    "LOYALTY_CASHBACK_POLL_SECONDS": 60,
    # Seconds a worker holds a payout it works on; longer than any provider call may take.
    "LOYALTY_CASHBACK_CLAIM_SECONDS": 120,
    # URL prefix of the provider notification endpoint (<prefix>/<provider>); None: no endpoint.
    "LOYALTY_CASHBACK_CALLBACK_URL": "/loyalty/cashback/callback",
    # PayTM Payouts: merchant id (x-mid), merchant key (checksums), sub-wallet to pay from.
    "LOYALTY_PAYTM_MERCHANT_ID": None,
    "LOYALTY_PAYTM_MERCHANT_KEY": None,
    "LOYALTY_PAYTM_SUBWALLET_GUID": None,
    # PayTM's API host: staging by default; production is https://dashboard.paytm.com.
    "LOYALTY_PAYTM_BASE_URL": "https://staging-dashboard.paytm.com",
    # Wallet transfer solution type in the URL (.../disburse/order/wallet/<solution>).
    "LOYALTY_PAYTM_SOLUTION": "gratification",
    # Seconds to wait for PayTM (connect and each read).
    "LOYALTY_PAYTM_TIMEOUT": 10,
    # Absolute URL PayTM posts status notifications to (sent as callbackUrl); None: polling only.
    "LOYALTY_PAYTM_CALLBACK_URL": None,
    # PayTM statusCodes meaning "no such order" (status query) and "order id already used"
    # (transfer), from your account's code list; empty is the safe default (see cashback/paytm.py).
    "LOYALTY_PAYTM_NOT_FOUND_CODES": (),
    "LOYALTY_PAYTM_DUPLICATE_CODES": (),
}
