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
    # Name of the CLI group (`flask loyalty ...`); None registers no commands.
    "LOYALTY_CLI_GROUP": "loyalty",
    # On SQLite, begin every transaction with BEGIN IMMEDIATE (see docs: SQLite).
    "LOYALTY_SQLITE_BEGIN_IMMEDIATE": True,
    # -- cashback payouts (see flask_loyalty_rewards/services/cashback.py) --
    # Who pays cashback out: "manual" (an admin marks each payout paid or failed), "paytm", or the
    # host's own provider as a class, an instance or a dotted path (cashback/providers.py).
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
