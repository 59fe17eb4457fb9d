"""The JSON API under load: several app servers, one PostgreSQL, the jobs running beside them.

Two gunicorn instances on two ports (``--workers`` sync workers each) are the stateless nodes; a
separate load-generator process (an asyncio httpx client of ours: locust would add gevent and a
web UI for what 60 lines do) drives ``POST /loyalty/api/redeemed-rewards`` across both nodes,
each request for a random one of many customers with a fresh ``Idempotency-Key``. Meanwhile three
more processes run ``flask loyalty expire``, ``cashback-sync`` and ``deliver-webhooks`` in loops
(the CLI commands themselves, invoked in-process so a loop is not a Python start-up; the
deliverer sends every redemption's event to a local receiver). It prints requests
per second, p50/p95/p99 latency, the errors (5xx apart), whether every 201 left exactly one
reward, what ``verify`` finds afterwards, and the in-process ``redeem()`` throughput of the same
run. Then the rewards page and the admin grid under the same generator (GET), with the queries
each request sends.

The customer of a request comes from a signed token in a header, as an API for a mobile app
would take it (so ``LOYALTY_API_CSRF_EXEMPT``, as the API guide says for token clients); its
loader looks the customer up, as a host's does.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python bench/api_load.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--seconds 10] [--clients 8] [--workers 2] [--customers 2000] [--repeat 3]

It creates a scratch database next to the one in --url and drops it afterwards. This is a
benchmark that prints figures, not a test; on a 2-core machine the generator, the nodes, the
jobs and PostgreSQL share the cores, so read the figures as what one small box serves.
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from flask import Flask, request
from itsdangerous import URLSafeSerializer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import redeem as base  # noqa: E402  (the same host, data and in-process path)
from bench import webhooks  # noqa: E402  (the local receiver the deliverer sends to)

SECRET = "bench-secret"
TOKEN_HEADER = "X-Customer-Token"
ADMIN_HEADER = "X-Bench-Admin"
tokens = URLSafeSerializer(SECRET, salt="customer")


@base.loyalty.customer_loader
def current_customer() -> Any:
    token = request.headers.get(TOKEN_HEADER)
    if token is None:
        return None
    return base.db.session.get(base.Customer, tokens.loads(token))


def node_app() -> Flask:
    """One app server: the bench host with the client pages, the API and the admin."""
    app = base.make_app(os.environ["BENCH_DATABASE_URL"], with_admin=True)
    app.config.update(
        SECRET_KEY=SECRET,
        LOYALTY_API_CSRF_EXEMPT=True,
        LOYALTY_ADMIN_ACCESS=lambda: request.headers.get(ADMIN_HEADER) == SECRET,
    )
    return app


# -- the nodes and the jobs -----------------------------------------------------------------------


def start_node(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_DATABASE_URL": url}
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers)]
    command += ["--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--log-level", "warning"]
    return subprocess.Popen([*command, "bench.api_load:node_app()"], env=env)


def wait_until_serving(node: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{node}/loyalty/api/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{node} did not start serving")


def job_loop(url: str, command: str, stop: Any, out: Any) -> None:
    """Run ``flask loyalty <command>`` again and again until told to stop."""
    os.environ["BENCH_DATABASE_URL"] = url
    runner = node_app().test_cli_runner()
    runs = failures = 0
    while not stop.is_set():
        result = runner.invoke(args=["loyalty", command])
        runs += 1
        failures += result.exit_code != 0
        time.sleep(0.2)
    out.put((command, runs, failures))


# -- the load generator ---------------------------------------------------------------------------


def generate(
    nodes: list[str], requests: list[dict[str, Any]], clients: int, seconds: float, out: Any
) -> None:
    """``clients`` concurrent callers, each sending random requests round-robin over the nodes."""
    out.put(asyncio.run(_generate(nodes, requests, clients, seconds)))


async def _generate(
    nodes: list[str], requests: list[dict[str, Any]], clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: collections.Counter[int] = collections.Counter()
    transport_errors = 0
    limits = httpx.Limits(max_connections=clients * len(nodes))
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        deadline = time.perf_counter() + seconds

        async def caller(n: int) -> None:
            nonlocal transport_errors
            rng = random.Random(n)
            while time.perf_counter() < deadline:
                call = dict(rng.choice(requests))
                headers = dict(call.pop("headers"))
                if call["method"] == "POST":
                    headers["Idempotency-Key"] = uuid.uuid4().hex
                node = nodes[n % len(nodes)]
                n += 1
                started = time.perf_counter()
                try:
                    response = await client.request(
                        call["method"], node + call["path"], json=call.get("json"), headers=headers
                    )
                except httpx.TransportError:
                    transport_errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1

        started = time.perf_counter()
        await asyncio.gather(*(caller(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "latencies": latencies,
        "statuses": dict(statuses),
        "transport_errors": transport_errors,
        "elapsed": elapsed,
    }


def drive(nodes: list[str], calls: list[dict[str, Any]], clients: int, seconds: float) -> Any:
    """The generator in a process of its own, so its CPU is not the nodes'."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    process = ctx.Process(target=generate, args=(nodes, calls, clients, seconds, out))
    process.start()
    result = out.get(timeout=seconds + 120)
    process.join()
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def summary(result: dict[str, Any]) -> dict[str, float]:
    statuses = result["statuses"]
    done = sum(statuses.values())
    return {
        "rps": done / result["elapsed"],
        "p50": percentile(result["latencies"], 0.50),
        "p95": percentile(result["latencies"], 0.95),
        "p99": percentile(result["latencies"], 0.99),
        "errors": sum(n for s, n in statuses.items() if s >= 400) + result["transport_errors"],
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "created": statuses.get(201, 0),
    }


# -- queries per request --------------------------------------------------------------------------


def statements_into(statements: list[str]) -> Any:
    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    return listener


def queries_per_request(url: str, calls: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Statements one request of each kind sends, counted in-process on a warm app."""
    os.environ["BENCH_DATABASE_URL"] = url
    app = node_app()
    client = app.test_client()
    counts: dict[str, int] = {}
    with app.app_context():
        engine = base.db.engine
    for name, call in calls.items():
        headers = dict(call["headers"])
        client.open(call["path"], method=call["method"], json=call.get("json"), headers=headers)
        statements: list[str] = []
        listener = statements_into(statements)
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            if call["method"] == "POST":
                headers["Idempotency-Key"] = uuid.uuid4().hex
            client.open(call["path"], method=call["method"], json=call.get("json"), headers=headers)
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        counts[name] = len(statements)
    with app.app_context():
        base.db.engine.dispose()
    return counts


def rewards_count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).select_from(base.models.RedeemedReward.__table__)
        ).scalar_one()
    engine.dispose()
    return int(count)


def spread(values: list[float]) -> str:
    return base.spread(values)


def main() -> None:
    parser = base.arguments(seconds=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="sync workers per node")
    args = parser.parse_args()
    url, drop = base.scratch_database(args.url)
    receiver, receiver_url = webhooks.start_receiver()
    nodes_running: list[subprocess.Popen[bytes]] = []
    try:
        campaign, _heavy, _light = base.seed(url, args.customers)
        webhooks.add_endpoint(url, receiver_url)
        customers = list(range(1, args.customers + 1))
        redeem = [
            {
                "method": "POST",
                "path": "/loyalty/api/redeemed-rewards",
                "json": {"campaign_id": campaign},
                "headers": {TOKEN_HEADER: tokens.dumps(c)},
            }
            for c in customers
        ]
        pages = {
            "rewards page": [
                {"method": "GET", "path": "/loyalty/", "headers": {TOKEN_HEADER: tokens.dumps(c)}}
                for c in customers
            ],
            "admin grid": [
                {
                    "method": "GET",
                    "path": f"/admin/loyalty/redeemed/?page={page}",
                    "headers": {ADMIN_HEADER: SECRET},
                }
                for page in range(5)
            ],
        }
        ports = (18_401, 18_402)
        nodes = [f"http://127.0.0.1:{port}" for port in ports]
        nodes_running = [start_node(url, port, args.workers) for port in ports]
        for node in nodes:
            wait_until_serving(node)
        print(
            f"PostgreSQL, {args.customers} customers, 2 nodes x {args.workers} gunicorn sync "
            f"workers, {args.clients} concurrent clients, {args.seconds:.0f} s a run, "
            f"median of {args.repeat} runs (lowest-highest)"
        )

        ctx = mp.get_context("fork")
        stop, jobs_out = ctx.Event(), ctx.Queue()
        jobs = [
            ctx.Process(target=job_loop, args=(url, command, stop, jobs_out))
            for command in ("expire", "cashback-sync", "deliver-webhooks")
        ]
        before = rewards_count(url)
        for job in jobs:
            job.start()
        runs = [summary(drive(nodes, redeem, args.clients, args.seconds))]
        for _ in range(args.repeat - 1):
            runs.append(summary(drive(nodes, redeem, args.clients, args.seconds)))
        stop.set()
        job_results = [jobs_out.get(timeout=60) for _ in jobs]
        for job in jobs:
            job.join()
        created = sum(r["created"] for r in runs)
        rewards = rewards_count(url) - before

        def column(key: str) -> str:
            return spread([r[key] for r in runs])

        print(
            f"POST redeemed-rewards: {column('rps')} req/s, p50 {column('p50')} ms, "
            f"p95 {column('p95')} ms, p99 {column('p99')} ms"
        )
        print(
            f"  errors {sum(r['errors'] for r in runs)} (5xx {sum(r['5xx'] for r in runs)}), "
            f"201s {created}, new rewards {rewards}"
            + ("" if created == rewards else "  <- MISMATCH")
        )
        for command, count, failures in job_results:
            print(f"  beside it: flask loyalty {command} ran {count} times, {failures} failed")
        for node in nodes_running:
            node.terminate()
        for node in nodes_running:
            node.wait(30)
        nodes_running = []
        problems = base.ledger_problems(url)
        print("  verify afterwards:", problems or "clean")

        in_process = [
            base.throughput(base.ours, url, campaign, customers, args.clients, args.seconds / 2)
            for _ in range(args.repeat)
        ]
        api_rps = statistics.median(r["rps"] for r in runs)
        print(
            f"in-process redeem(), {args.clients} clients, same data: {spread(in_process)} /s; "
            f"API / in-process: {api_rps / statistics.median(in_process):.2f}"
        )

        nodes_running = [start_node(url, port, args.workers) for port in ports]
        for node in nodes:
            wait_until_serving(node)
        counts = queries_per_request(
            url, {"POST redeemed-rewards": redeem[0], **{k: v[0] for k, v in pages.items()}}
        )
        for name_, calls in pages.items():
            page_runs = [
                summary(drive(nodes, calls, args.clients, args.seconds / 2))
                for _ in range(args.repeat)
            ]
            print(
                f"GET {name_}: {spread([r['rps'] for r in page_runs])} req/s, "
                f"p99 {spread([r['p99'] for r in page_runs])} ms, "
                f"errors {sum(r['errors'] for r in page_runs)}, "
                f"{counts[name_]} queries a request"
            )
        print(f"POST redeemed-rewards: {counts['POST redeemed-rewards']} queries a request")
    finally:
        for node in nodes_running:
            node.terminate()
            node.wait(30)
        receiver.shutdown()
        drop()


if __name__ == "__main__":
    main()
