"""Webhooks on PostgreSQL: what the outbox costs ``redeem()``, and how fast events go out.

1. ``redeem()`` throughput (bench/redeem.py's clients, seed and campaign) with the outbox off
   (``LOYALTY_EVENTS = False``), on without an endpoint, and on with an endpoint while a
   deliverer process sends the events to a local receiver, the three taking turns in one run.
2. Events delivered per second by one and by four deliverer processes (``deliver_webhooks``)
   from the events those runs wrote, against a receiver on 127.0.0.1 answering 200 at once.

    .venv/bin/python bench/webhooks.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                       [--seconds 4] [--customers 2000] [--repeat 3]

It creates a scratch database next to the one in --url and drops it afterwards. The receiver is
a threaded ``http.server`` in this process: with four deliverers it may be the bottleneck, so
read the four-process figure as a lower bound. This prints figures; it is not a test.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import redeem as redeem_bench
from flask_loyalty_rewards.tasks import deliver_webhooks

_plain_make_app = redeem_bench.make_app


def with_events(enabled: bool) -> Callable[..., Flask]:
    """bench/redeem.py's ``make_app`` with the outbox on or off (forked clients inherit it)."""

    def make_app(url: str, **kwargs: Any) -> Flask:
        app = _plain_make_app(url, **kwargs)
        app.config["LOYALTY_EVENTS"] = enabled
        return app

    return make_app


def start_receiver() -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a deliverer reuses its connection

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hooks"


def deliverer(url: str, stop: Any, out: Any) -> None:
    """Deliver until told to stop (when run beside the redemptions) or until nothing is due."""
    app = _plain_make_app(url)
    sent = 0
    while True:
        sent += deliver_webhooks(app).attempts
        if stop is None or stop.is_set():
            break
        time.sleep(0.05)
    if stop is not None:  # one last run for what the last redemptions wrote
        sent += deliver_webhooks(app).attempts
    out.put(sent)
    with app.app_context():
        redeem_bench.db.engine.dispose()


def redeem_rate(
    url: str, campaign: int, customers: list[int], seconds: float, *, events: bool, deliver: bool
) -> float:
    redeem_bench.make_app = with_events(events)
    ctx = mp.get_context("fork")
    stop, out = ctx.Event(), ctx.Queue()
    worker = ctx.Process(target=deliverer, args=(url, stop, out)) if deliver else None
    if worker is not None:
        worker.start()
    try:
        return redeem_bench.throughput(redeem_bench.ours, url, campaign, customers, 1, seconds)
    finally:
        redeem_bench.make_app = _plain_make_app
        if worker is not None:
            stop.set()
            out.get(timeout=300)
            worker.join()


def redispatch(url: str) -> int:
    """Every event undelivered again (deliveries and attempts gone); returns how many events."""
    app = _plain_make_app(url)
    models = redeem_bench.models
    with app.app_context():
        session = redeem_bench.db.session
        session.execute(sa.delete(models.WebhookAttempt))
        session.execute(sa.delete(models.WebhookDelivery))
        session.execute(sa.update(models.Event).values(dispatched_at=None))
        count = int(session.execute(sa.select(sa.func.count()).select_from(models.Event)).scalar())
        session.commit()
        redeem_bench.db.engine.dispose()
    return count


def delivery_rate(url: str, processes: int) -> tuple[float, int]:
    events = redispatch(url)
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=deliverer, args=(url, None, out)) for _ in range(processes)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    sent = sum(out.get(timeout=600) for _ in procs)
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    return events / elapsed, sent - events


def add_endpoint(url: str, receiver_url: str) -> None:
    app = _plain_make_app(url)
    with app.app_context():
        redeem_bench.loyalty.add_webhook_endpoint(receiver_url)
        redeem_bench.db.engine.dispose()


def main() -> None:
    parser = redeem_bench.arguments(seconds=4.0)
    args = parser.parse_args()
    url, drop = redeem_bench.scratch_database(args.url)
    receiver, receiver_url = start_receiver()
    try:
        campaign, _, _ = redeem_bench.seed(url, args.customers)
        customers = list(range(1, args.customers + 1))
        print(f"PostgreSQL, 1 client, {args.seconds:.0f} s a run, median of {args.repeat} runs")
        rounds: list[tuple[float, float, float]] = []
        for n in range(args.repeat):
            off = redeem_rate(url, campaign, customers, args.seconds, events=False, deliver=False)
            on = redeem_rate(url, campaign, customers, args.seconds, events=True, deliver=False)
            if n == 0:
                add_endpoint(url, receiver_url)
            sending = redeem_rate(url, campaign, customers, args.seconds, events=True, deliver=True)
            rounds.append((off, on, sending))
        off_s = [r[0] for r in rounds]
        on_s = [r[1] for r in rounds]
        sending_s = [r[2] for r in rounds]
        print(f"redeem() /s, outbox off:                        {redeem_bench.spread(off_s)}")
        print(f"redeem() /s, outbox on, no endpoint:            {redeem_bench.spread(on_s)}")
        print(f"redeem() /s, outbox on, endpoint + deliverer:   {redeem_bench.spread(sending_s)}")
        for label, values in (("no endpoint", on_s), ("endpoint + deliverer", sending_s)):
            costs = [1 - v / o for v, o in zip(values, off_s, strict=True)]
            print(f"outbox cost ({label}): {redeem_bench.spread([100 * c for c in costs])} %")
        for processes in (1, 4):
            rate, repeats = delivery_rate(url, processes)
            print(
                f"events delivered /s, {processes} deliverer process(es): {rate:.0f}"
                f" (sent more than once: {repeats})"
            )
    finally:
        receiver.shutdown()
        drop()


if __name__ == "__main__":
    main()
