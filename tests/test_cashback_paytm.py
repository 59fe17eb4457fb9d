"""The PayTM provider against a fake PayTM speaking real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from decimal import Decimal
from typing import Any

import pytest

from flask_loyalty_rewards.cashback.paytm import PaytmProvider, wallet_phone
from flask_loyalty_rewards.cashback.providers import (
    InvalidCallback,
    Outcome,
    PayoutDestination,
    TransferRequest,
)
from tests.support.paytm import SHORT_TIMEOUT, SUBWALLET, FakePaytm, paytm_config


@pytest.fixture
def provider(fake_paytm: FakePaytm) -> PaytmProvider:
    return PaytmProvider(paytm_config(fake_paytm.url))


def transfer(order_id: str = "CB1-abc", **destination: Any) -> TransferRequest:
    return TransferRequest(
        order_id=order_id,
        amount=Decimal("50"),
        currency="INR",
        destination=PayoutDestination(**(destination or {"phone": "+91 98765 43210"})),
        redeemed_reward_id=1,
    )


def test_a_wallet_transfer_is_signed_and_pays_the_phone_number(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    result = provider.create_transfer(transfer())

    assert (result.outcome, result.code) == (Outcome.SUCCESS, "DE_001")
    assert result.reference == "PCB1-abc"
    assert fake_paytm.bad_signatures == 0
    path, body = fake_paytm.requests[0]
    assert path == "/bpay/api/v1/disburse/order/wallet/gratification"
    assert body == {
        "orderId": "CB1-abc",
        "subwalletGuid": SUBWALLET,
        "amount": "50.00",
        "beneficiaryPhoneNo": "9876543210",
    }
    assert fake_paytm.money_paid("CB1-abc") == 1


def test_a_bank_destination_uses_the_bank_transfer_endpoint(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    provider.create_transfer(transfer(account_number="917777777777", ifsc="PYTM0123456"))

    path, body = fake_paytm.requests[0]
    assert path == "/bpay/api/v1/disburse/order/bank"
    assert body["beneficiaryAccount"] == "917777777777"
    assert body["beneficiaryIFSC"] == "PYTM0123456"
    assert body["purpose"] == "OTHERS"


def test_an_accepted_transfer_is_pending(provider: PaytmProvider, fake_paytm: FakePaytm) -> None:
    fake_paytm.next_transfers("ACCEPTED")

    result = provider.create_transfer(transfer())

    assert (result.outcome, result.code, result.message) == (
        Outcome.PENDING,
        "DE_002",
        "Request accepted",
    )


def test_a_refused_transfer_is_a_failure_with_paytms_code_and_message(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    fake_paytm.next_transfers("FAILURE")

    result = provider.create_transfer(transfer())

    assert (result.outcome, result.code, result.message) == (
        Outcome.FAILURE,
        "DE_603",
        "Insufficient balance in the sub wallet",
    )


def test_a_timeout_is_an_unknown_outcome_within_the_configured_time(
    fake_paytm: FakePaytm,
) -> None:
    fake_paytm.next_transfers("LATE_SUCCESS")
    impatient = PaytmProvider(paytm_config(fake_paytm.url, LOYALTY_PAYTM_TIMEOUT=SHORT_TIMEOUT))

    started = time.monotonic()
    result = impatient.create_transfer(transfer())

    assert (result.outcome, result.code) == (Outcome.UNKNOWN, "TIMEOUT")
    assert time.monotonic() - started < SHORT_TIMEOUT * 3


def test_malformed_json_is_an_unknown_outcome(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    fake_paytm.next_transfers("GARBAGE")

    result = provider.create_transfer(transfer())

    assert (result.outcome, result.code) == (Outcome.UNKNOWN, "BAD_RESPONSE")


def test_a_server_error_is_an_unknown_outcome(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    fake_paytm.next_transfers("ERROR_500")

    result = provider.create_transfer(transfer())

    assert (result.outcome, result.code) == (Outcome.UNKNOWN, "HTTP_500")


def test_an_unreachable_paytm_is_an_unknown_outcome() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = PaytmProvider(paytm_config(f"http://127.0.0.1:{port}"))

    result = provider.create_transfer(transfer())

    assert (result.outcome, result.code) == (Outcome.UNKNOWN, "CONNECTION")


def test_a_repeated_order_id_is_unknown_never_a_failure(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    provider.create_transfer(transfer())

    again = provider.create_transfer(transfer())

    assert (again.outcome, again.code) == (Outcome.UNKNOWN, "DE_DUP")
    assert fake_paytm.money_paid("CB1-abc") == 1


def test_the_status_query_reports_the_orders_state(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    fake_paytm.next_transfers("ACCEPTED")
    provider.create_transfer(transfer())
    fake_paytm.settle("CB1-abc", "SUCCESS")

    result = provider.query_status(transfer())

    assert (result.outcome, result.code) == (Outcome.SUCCESS, "DE_001")
    assert fake_paytm.requests[-1] == ("/bpay/api/v1/disburse/order/query", {"orderId": "CB1-abc"})


def test_the_status_query_of_an_unknown_order_is_not_found(provider: PaytmProvider) -> None:
    result = provider.query_status(transfer("never-sent"))

    assert result.outcome is Outcome.NOT_FOUND


def test_without_configured_not_found_codes_an_unknown_order_reads_as_failed(
    fake_paytm: FakePaytm,
) -> None:
    provider = PaytmProvider(paytm_config(fake_paytm.url, LOYALTY_PAYTM_NOT_FOUND_CODES=()))

    result = provider.query_status(transfer("never-sent"))

    assert (result.outcome, result.code) == (Outcome.FAILURE, "DE_404")


def test_an_answer_about_another_order_is_not_believed(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    provider.create_transfer(transfer("CB2-other"))

    result = provider._read(json.loads(fake_answer_for("CB2-other")), "CB1-abc")

    assert (result.outcome, result.code) == (Outcome.UNKNOWN, "BAD_RESPONSE")


def fake_answer_for(order_id: str) -> str:
    return json.dumps(
        {"status": "SUCCESS", "statusCode": "DE_001", "result": {"orderId": order_id}}
    )


def test_a_callback_with_a_valid_checksum_is_read(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    body, checksum = fake_paytm.callback("CB1-abc", "SUCCESS")

    result = provider.verify_callback(body, {"x-checksum": checksum})

    assert (result.outcome, result.order_id, result.code) == (Outcome.SUCCESS, "CB1-abc", "DE_001")
    assert (result.amount, result.currency) == (Decimal("50.00"), None)


@pytest.mark.parametrize("amount", [None, "", "fifty", "NaN", "Infinity", 50.5, True])
def test_a_callback_without_a_readable_amount_is_refused(
    provider: PaytmProvider, fake_paytm: FakePaytm, amount: Any
) -> None:
    body, checksum = fake_paytm.callback("CB1-abc", "FAILURE", amount=amount)

    with pytest.raises(InvalidCallback, match="amount"):
        provider.verify_callback(body, {"x-checksum": checksum})


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body, sig: (body, "not-a-checksum"), id="garbage checksum"),
        pytest.param(lambda body, sig: (body.replace(b"SUCCESS", b"FAILURE"), sig), id="edited"),
        pytest.param(lambda body, sig: (body, None), id="no checksum"),
    ],
)
def test_a_callback_with_a_bad_signature_is_refused(
    provider: PaytmProvider, fake_paytm: FakePaytm, tamper: Any
) -> None:
    body, checksum = tamper(*fake_paytm.callback("CB1-abc", "SUCCESS"))
    headers = {"x-checksum": checksum} if checksum else {}

    with pytest.raises(InvalidCallback):
        provider.verify_callback(body, headers)


def test_a_callback_signed_with_another_key_is_refused(
    provider: PaytmProvider, fake_paytm: FakePaytm
) -> None:
    body, checksum = fake_paytm.callback("CB1-abc", "SUCCESS", key="0000111122223333")

    with pytest.raises(InvalidCallback):
        provider.verify_callback(body, {"x-checksum": checksum})


def test_a_wrong_merchant_key_is_refused_by_paytm_and_nothing_is_paid(
    fake_paytm: FakePaytm,
) -> None:
    provider = PaytmProvider(
        paytm_config(fake_paytm.url, LOYALTY_PAYTM_MERCHANT_KEY="0000111122223333")
    )

    result = provider.create_transfer(transfer())

    assert (result.outcome, result.code) == (Outcome.FAILURE, "DE_401")
    assert fake_paytm.orders == {}


@pytest.mark.parametrize(
    ("typed", "wallet"),
    [
        ("+91 98765 43210", "9876543210"),
        ("09876543210", "9876543210"),
        ("98765-43210", "9876543210"),
        ("+48 600 000 001", None),
        ("12345", None),
        ("", None),
    ],
)
def test_wallet_phone_numbers_are_ten_indian_mobile_digits(typed: str, wallet: str | None) -> None:
    assert wallet_phone(typed) == wallet


def test_requests_paytm_cannot_pay_are_refused_up_front(provider: PaytmProvider) -> None:
    assert provider.refusal(transfer()) is None
    assert "INR" in str(provider.refusal(transfer_in("EUR")))
    assert "mobile number" in str(provider.refusal(transfer(phone="+48 600 000 001")))
    unconfigured = PaytmProvider({})
    assert "LOYALTY_PAYTM_MERCHANT_ID" in str(unconfigured.refusal(transfer()))


def transfer_in(currency: str) -> TransferRequest:
    request = transfer()
    return TransferRequest(
        request.order_id, request.amount, currency, request.destination, request.redeemed_reward_id
    )
