"""PayTM Payouts (disbursement) API: wallet and bank transfers, status query, callbacks.

Requests are JSON bodies POSTed with the merchant id in ``x-mid`` and, in ``x-checksum``, the
signature PayTM's own ``paytmchecksum`` library computes over the exact body text with the
merchant key. Callbacks PayTM posts to ``LOYALTY_PAYTM_CALLBACK_URL`` are checked the same way,
and must state the ``amount`` they are about (the service compares it with the payout's).

PayTM statuses map to ours: ``SUCCESS`` -> success; ``FAILURE`` and ``CANCELLED`` -> failure;
``ACCEPTED``, ``PENDING`` and ``QUEUED`` -> pending. A timeout, a refused connection, an HTTP
5xx or an answer that is not PayTM's JSON is *unknown*: nobody can tell whether PayTM has the
order, so it is asked for the order's status before anything is sent again.

The status codes PayTM uses for "no such order" (status query) and "order id already used"
(transfer) are configuration (``LOYALTY_PAYTM_NOT_FOUND_CODES``, ``LOYALTY_PAYTM_DUPLICATE_CODES``):
take them from the code list of your PayTM account. With none configured the provider stays on
the safe side: an order PayTM does not know is shown as failed (an admin can retry it), and a
refused duplicate is never taken for a failure of a payout that was already made.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from paytmchecksum import PaytmChecksum

from .. import clock
from ..i18n import gettext
from .providers import (
    InvalidCallback,
    Outcome,
    PayoutDestination,
    ProviderResult,
    TransferRequest,
)

WALLET_PATH = "/bpay/api/v1/disburse/order/wallet/{solution}"
BANK_PATH = "/bpay/api/v1/disburse/order/bank"
QUERY_PATH = "/bpay/api/v1/disburse/order/query"
#: Longest answer read from PayTM; theirs are a few hundred bytes.
MAX_ANSWER = 64 * 1024

_OUTCOMES = {
    "SUCCESS": Outcome.SUCCESS,
    "FAILURE": Outcome.FAILURE,
    "CANCELLED": Outcome.FAILURE,
    "ACCEPTED": Outcome.PENDING,
    "PENDING": Outcome.PENDING,
    "QUEUED": Outcome.PENDING,
}


def wallet_phone(phone: str | None) -> str | None:
    """The 10-digit Indian mobile number PayTM wallets use, from what a customer typed."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    return digits if len(digits) == 10 and digits[0] in "6789" else None


def sign(body: str, key: str) -> str:
    return str(PaytmChecksum.generateSignature(body, key))


def signature_ok(body: str, key: str, checksum: str) -> bool:
    try:
        return bool(PaytmChecksum.verifySignature(body, key, checksum))
    except Exception:  # the library raises on any malformed checksum (padding, base64, ...)
        return False


def _unknown(code: str, message: str) -> ProviderResult:
    return ProviderResult(Outcome.UNKNOWN, code, message)


class PaytmProvider:
    name = "paytm"
    automatic = True

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.merchant_id: str = config.get("LOYALTY_PAYTM_MERCHANT_ID") or ""
        self.merchant_key: str = config.get("LOYALTY_PAYTM_MERCHANT_KEY") or ""
        self.subwallet_guid: str = config.get("LOYALTY_PAYTM_SUBWALLET_GUID") or ""
        self.base_url: str = str(config.get("LOYALTY_PAYTM_BASE_URL") or "").rstrip("/")
        self.solution: str = config.get("LOYALTY_PAYTM_SOLUTION") or "gratification"
        self.timeout = float(config.get("LOYALTY_PAYTM_TIMEOUT") or 10)
        self.callback_url: str | None = config.get("LOYALTY_PAYTM_CALLBACK_URL")
        self.not_found_codes = frozenset(config.get("LOYALTY_PAYTM_NOT_FOUND_CODES") or ())
        self.duplicate_codes = frozenset(config.get("LOYALTY_PAYTM_DUPLICATE_CODES") or ())

    # -- PayoutProvider -------------------------------------------------------------------------

    def refusal(self, request: TransferRequest) -> str | None:
        missing = [
            key
            for key, value in (
                ("LOYALTY_PAYTM_MERCHANT_ID", self.merchant_id),
                ("LOYALTY_PAYTM_MERCHANT_KEY", self.merchant_key),
                ("LOYALTY_PAYTM_SUBWALLET_GUID", self.subwallet_guid),
                ("LOYALTY_PAYTM_BASE_URL", self.base_url),
            )
            if not value
        ]
        if missing:
            return gettext(
                "PayTM payouts are not configured (%(missing)s missing).",
                missing=", ".join(missing),
            )
        if request.currency != "INR":
            return gettext("PayTM pays out Indian rupees (INR) only.")
        destination = request.destination
        if destination.account_number and destination.ifsc:
            return None
        if wallet_phone(destination.phone) is None:
            return gettext(
                "A PayTM payout needs a 10-digit Indian mobile number or a bank account."
            )
        return None

    def create_transfer(self, request: TransferRequest) -> ProviderResult:
        payload = self._transfer_payload(request)
        dest = request.destination
        path = (
            BANK_PATH
            if dest.account_number and dest.ifsc
            else WALLET_PATH.format(solution=self.solution)
        )
        result = self._post(path, payload, request.order_id)
        if result.code in self.duplicate_codes:
            return _unknown(result.code, result.message)
        return result

    def query_status(self, request: TransferRequest) -> ProviderResult:
        result = self._post(QUERY_PATH, {"orderId": request.order_id}, request.order_id)
        if result.code in self.not_found_codes:
            return ProviderResult(Outcome.NOT_FOUND, result.code, result.message)
        return result

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> ProviderResult:
        checksum = headers.get("x-checksum")
        if not checksum:
            raise InvalidCallback("the notification carries no x-checksum header")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidCallback("the notification is not UTF-8 text") from exc
        if not self.merchant_key or not signature_ok(text, self.merchant_key, checksum):
            raise InvalidCallback("the notification's checksum does not match")
        data = _json_object(text)
        if data is None:
            raise InvalidCallback("the notification is not PayTM's JSON")
        result = data.get("result")
        order_id = result.get("orderId") if isinstance(result, dict) else None
        if not isinstance(result, dict) or not isinstance(order_id, str) or not order_id:
            raise InvalidCallback("the notification names no order")
        mid = result.get("mid")
        if mid is not None and mid != self.merchant_id:
            raise InvalidCallback("the notification is for another merchant")
        answer = self._read(data, order_id)
        if answer.outcome is Outcome.UNKNOWN:
            raise InvalidCallback(f"the notification's status is unreadable: {answer.message}")
        return dataclasses.replace(
            answer, amount=_notice_amount(result), currency=_notice_currency(result)
        )

    # -- HTTP -----------------------------------------------------------------------------------

    def _transfer_payload(self, request: TransferRequest) -> dict[str, Any]:
        dest: PayoutDestination = request.destination
        payload: dict[str, Any] = {
            "orderId": request.order_id,
            "subwalletGuid": self.subwallet_guid,
            "amount": str(request.amount.quantize(Decimal("0.01"))),
        }
        if dest.account_number and dest.ifsc:
            payload.update(
                beneficiaryAccount=dest.account_number,
                beneficiaryIFSC=dest.ifsc,
                purpose="OTHERS",
                date=clock.now().date().isoformat(),
            )
            if dest.name:
                payload["beneficiaryName"] = dest.name
        else:
            payload["beneficiaryPhoneNo"] = wallet_phone(dest.phone)
        if self.callback_url:
            payload["callbackUrl"] = self.callback_url
        return payload

    def _post(self, path: str, payload: dict[str, Any], order_id: str) -> ProviderResult:
        body = json.dumps(payload, separators=(",", ":"))
        request = urllib.request.Request(
            self.base_url + path,
            data=body.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "x-mid": self.merchant_id,
                "x-checksum": sign(body, self.merchant_key),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read(MAX_ANSWER)
        except urllib.error.HTTPError as exc:
            with exc:
                raw = exc.read(MAX_ANSWER) if exc.code < 500 else b""
            if exc.code >= 500:
                return _unknown(f"HTTP_{exc.code}", f"PayTM answered HTTP {exc.code}")
        except TimeoutError:
            return self._timeout()
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return self._timeout()
            return _unknown("CONNECTION", f"Could not reach PayTM: {exc.reason}")
        except (OSError, http.client.HTTPException) as exc:
            return _unknown("CONNECTION", f"The connection to PayTM broke: {exc}")
        data = _json_object(raw.decode("utf-8", errors="replace"))
        if data is None:
            return _unknown("BAD_RESPONSE", "PayTM's answer could not be read")
        return self._read(data, order_id)

    def _timeout(self) -> ProviderResult:
        return _unknown("TIMEOUT", f"No answer from PayTM within {self.timeout:g} s")

    def _read(self, data: dict[str, Any], order_id: str) -> ProviderResult:
        status = data.get("status")
        outcome = _OUTCOMES.get(status.upper()) if isinstance(status, str) else None
        if outcome is None:
            return _unknown("BAD_RESPONSE", f"PayTM answered an unknown status {status!r}")
        code = data.get("statusCode")
        message = data.get("statusMessage")
        result = data.get("result")
        if not isinstance(result, dict):
            result = {}
        answered_for = result.get("orderId")
        if answered_for is not None and answered_for != order_id:
            return _unknown("BAD_RESPONSE", "PayTM answered about another order")
        reference = result.get("paytmOrderId")
        return ProviderResult(
            outcome,
            str(code) if code else str(status).upper(),
            str(message) if message else str(status).upper(),
            order_id,
            str(reference) if reference else None,
        )


def _notice_amount(result: dict[str, Any]) -> Decimal:
    """The amount a notification is about: PayTM states it (``"50.00"``) on every notice."""
    value = result.get("amount")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidCallback("the notification states no amount")
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise InvalidCallback("the notification's amount is not a number") from exc
    if not amount.is_finite():
        raise InvalidCallback("the notification's amount is not a number")
    return amount


def _notice_currency(result: dict[str, Any]) -> str | None:
    """PayTM pays rupees and usually leaves the currency out; one it states must be a code."""
    value = result.get("currency")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidCallback("the notification's currency is not a currency code")
    return value.strip().upper()


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
