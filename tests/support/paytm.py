"""A stand-in for PayTM's Payouts API, speaking real HTTP on 127.0.0.1, and its fixtures.

It checks every request's ``x-mid`` and ``x-checksum`` (with PayTM's own checksum library),
keeps orders by ``orderId`` like PayTM (a repeated order id never pays twice; a failed one may
be tried again), and can be told how to answer the next transfer or status request: settle at
once, accept and leave pending, fail, answer too late (after paying), send garbage, or 500.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from paytmchecksum import PaytmChecksum

from tests.support.clock import FakeClock

MERCHANT_ID = "LOYALT37123456789012"
MERCHANT_KEY = "k3y&0123456789ab"
SUBWALLET = "28054249-aaaa-bbbb-af8f-fa163e429e83"

ANSWERS: dict[str, tuple[str, str, str]] = {
    "SUCCESS": ("SUCCESS", "DE_001", "Successful disbursal to Wallet is done."),
    "ACCEPTED": ("ACCEPTED", "DE_002", "Request accepted"),
    "PENDING": ("PENDING", "DE_101", "Disbursal is pending at the bank"),
    "FAILURE": ("FAILURE", "DE_603", "Insufficient balance in the sub wallet"),
}
NOT_FOUND = ("FAILURE", "DE_404", "Order not found")
DUPLICATE = ("FAILURE", "DE_DUP", "Duplicate order id")
#: For the tests about timeouts; every other call may take its time on a busy CI machine.
SHORT_TIMEOUT = 0.3


@dataclass
class Order:
    order_id: str
    amount: str
    beneficiary: str
    status: str
    transfer_requests: int = 1
    paid: int = 0  # how many times money actually left: never more than 1


@dataclass
class FakePaytm:
    url: str = ""
    delay: float = 1.0  # how late a "late" answer comes
    orders: dict[str, Order] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    transfer_modes: deque[str] = field(default_factory=deque)
    query_modes: deque[str] = field(default_factory=deque)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- test controls -------------------------------------------------------------------------

    def next_transfers(self, *modes: str) -> None:
        """SUCCESS, ACCEPTED, PENDING, FAILURE, LATE_SUCCESS, GARBAGE, ERROR_500, LATE_NOTHING."""
        self.transfer_modes.extend(modes)

    def next_queries(self, *modes: str) -> None:
        """LATE, GARBAGE, ERROR_500 for one status request each; otherwise the order's status."""
        self.query_modes.extend(modes)

    def settle(self, order_id: str, status: str) -> None:
        order = self.orders[order_id]
        if status == "SUCCESS" and order.status != "SUCCESS":
            order.paid += 1
        order.status = status

    def money_paid(self, order_id: str) -> int:
        order = self.orders.get(order_id)
        return order.paid if order else 0

    def paths(self) -> list[str]:
        return [path.rsplit("/", 1)[-1] for path, _ in self.requests]

    def callback(
        self, order_id: str, status: str, key: str = MERCHANT_KEY, **result: Any
    ) -> tuple[bytes, str]:
        """A notification as PayTM posts it: the JSON body and its x-checksum.

        It states the order's amount (``50.00`` for an order the fake never saw); ``result``
        adds or replaces fields of its ``result`` object (``amount=None`` leaves it out).
        """
        state, code, message = ANSWERS[status]
        order = self.orders.get(order_id)
        fields: dict[str, Any] = {
            "mid": MERCHANT_ID,
            "orderId": order_id,
            "paytmOrderId": "P" + order_id,
            "amount": order.amount if order else "50.00",
            **result,
        }
        body = json.dumps(
            {
                "status": state,
                "statusCode": code,
                "statusMessage": message,
                "result": {k: v for k, v in fields.items() if v is not None},
            },
            separators=(",", ":"),
        )
        return body.encode(), PaytmChecksum.generateSignature(body, key)

    # -- the API -------------------------------------------------------------------------------

    def handle(self, path: str, headers: Any, raw: bytes) -> tuple[int, bytes, float]:
        text = raw.decode()
        checksum = headers.get("x-checksum") or ""
        try:
            signed = PaytmChecksum.verifySignature(text, MERCHANT_KEY, checksum)
        except Exception:
            signed = False
        if headers.get("x-mid") != MERCHANT_ID or not signed:
            self.bad_signatures += 1
            return 401, _answer(("FAILURE", "DE_401", "Checksum mismatch")), 0
        body = json.loads(text)
        with self.lock:
            self.requests.append((path, body))
            if path.endswith("/query"):
                return self._query(body["orderId"])
            if "/disburse/order/" in path:
                return self._transfer(body)
        return 404, b"{}", 0

    def _transfer(self, body: dict[str, Any]) -> tuple[int, bytes, float]:
        mode = self.transfer_modes.popleft() if self.transfer_modes else "SUCCESS"
        if mode == "GARBAGE":
            return 200, b"<html>Service temporarily unavailable</html>", 0
        if mode == "ERROR_500":
            return 500, b"{}", 0
        if mode == "LATE_NOTHING":  # slow, and the request never reached the ledger
            return 200, b"{}", self.delay
        order_id = body["orderId"]
        order = self.orders.get(order_id)
        if order is not None and order.status != "FAILURE":
            order.transfer_requests += 1
            return 200, _answer(DUPLICATE, order_id), 0
        status = "SUCCESS" if mode == "LATE_SUCCESS" else mode
        beneficiary = body.get("beneficiaryPhoneNo") or body.get("beneficiaryAccount") or ""
        if order is None:
            order = Order(order_id, body["amount"], beneficiary, "FAILURE", transfer_requests=0)
            self.orders[order_id] = order
        order.transfer_requests += 1
        self.settle(order_id, status)
        delay = self.delay if mode == "LATE_SUCCESS" else 0
        return 200, _answer(ANSWERS[status], order_id), delay

    def _query(self, order_id: str) -> tuple[int, bytes, float]:
        mode = self.query_modes.popleft() if self.query_modes else ""
        if mode == "GARBAGE":
            return 200, b'{"status": ', 0
        if mode == "ERROR_500":
            return 503, b"", 0
        delay = self.delay if mode == "LATE" else 0
        order = self.orders.get(order_id)
        if order is None:
            return 200, _answer(NOT_FOUND), delay
        return 200, _answer(ANSWERS[order.status], order_id), delay


def _answer(answer: tuple[str, str, str], order_id: str | None = None) -> bytes:
    status, code, message = answer
    result = {"mid": MERCHANT_ID, "orderId": order_id, "paytmOrderId": f"P{order_id}"}
    return json.dumps(
        {
            "status": status,
            "statusCode": code,
            "statusMessage": message,
            "result": result if order_id else {},
        }
    ).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # close() waits for late answers: no thread outlives the test


def start(fake: FakePaytm) -> tuple[_Server, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, body, delay = fake.handle(self.path, self.headers, raw)
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as a real one does

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    return server, thread


def stop(server: _Server, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(10)


def paytm_config(base_url: str, **extra: Any) -> dict[str, Any]:
    """The LOYALTY_PAYTM_* settings that point the PayTM provider at the fake at ``base_url``."""
    return {
        "LOYALTY_PAYTM_MERCHANT_ID": MERCHANT_ID,
        "LOYALTY_PAYTM_MERCHANT_KEY": MERCHANT_KEY,
        "LOYALTY_PAYTM_SUBWALLET_GUID": SUBWALLET,
        "LOYALTY_PAYTM_BASE_URL": base_url,
        "LOYALTY_PAYTM_TIMEOUT": 10,
        "LOYALTY_PAYTM_NOT_FOUND_CODES": ("DE_404",),
        "LOYALTY_PAYTM_DUPLICATE_CODES": ("DE_DUP",),
        **extra,
    }


@pytest.fixture
def fake_paytm() -> Iterator[FakePaytm]:
    """The fake PayTM, serving on a free port for one test."""
    fake = FakePaytm(delay=SHORT_TIMEOUT * 3)
    server, thread = start(fake)
    yield fake
    stop(server, thread)


@pytest.fixture
def paytm(app: Flask, fake_paytm: FakePaytm, frozen_clock: FakeClock) -> FakePaytm:
    """The host app pays cashback through the fake PayTM (the clock frozen)."""
    app.config.update(paytm_config(fake_paytm.url), LOYALTY_CASHBACK_PROVIDER="paytm")
    return fake_paytm
