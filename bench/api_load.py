"""The JSON API under load: several app servers, one PostgreSQL, the jobs running beside them.

Two gunicorn instances on two ports are the stateless nodes, each one gthread worker with four
threads by default (``--workers``, ``--worker-class``, ``--threads``): a gthread worker keeps
connections alive, where a sync worker closes every one, and on two cores two processes of four
threads served more for less CPU than four sync workers. A separate load-generator process
drives ``POST /loyalty/api/redeemed-rewards`` across both nodes, each request for a random one
of many customers with a fresh ``Idempotency-Key``: an asyncio client of our own, HTTP/1.1 with
keep-alive on asyncio's streams (httpx cost as much CPU per request as the node did; locust
would add gevent and a web UI). Meanwhile three more processes run ``flask loyalty expire``,
``cashback-sync`` and ``deliver-webhooks`` in loops (the CLI commands themselves, invoked
in-process so a loop is not a Python start-up; the deliverer sends every redemption's event to
a local receiver). It prints requests per second, p50/p95/p99 latency, the errors (5xx apart),
whether every 201 left exactly one reward, the CPU each process group used per request (the
nodes, the generator, each job, the receiver, the server's backends by client, the rest of the
machine), what ``verify`` finds afterwards, and the in-process ``redeem()`` throughput and CPU
per redemption of the same run. Then the rewards page and the admin grid under the same
generator (GET), with the round trips each request makes.

The customer of a request comes from a signed token in a header, as an API for a mobile app
would take it (so ``LOYALTY_API_CSRF_EXEMPT``, as the API guide says for token clients); its
loader looks the customer up, as a host's does.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python bench/api_load.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--seconds 10] [--clients 8] [--workers 1] [--worker-class gthread] [--threads 4]
        [--customers 2000] [--repeat 3]

It creates a scratch database next to the one in --url and drops it afterwards. This is a
benchmark that prints figures, not a test; on a 2-core machine the generator, the nodes, the
jobs and PostgreSQL share the cores, so read the figures as what one small box serves, and the
CPU per request as what a neighbour's load distorts least.
"""

from __future__ import annotations

import asyncio
import collections
import json
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
from tests.support.sql import round_trips  # noqa: E402

SECRET = "bench-secret"
TOKEN_HEADER = "X-Customer-Token"
ADMIN_HEADER = "X-Bench-Admin"
#: The ``application_name`` of the nodes' connections (a job's is its command), by which the
#: server's backends are told apart.
NODE = "node"
JOBS = ("expire", "cashback-sync", "deliver-webhooks")
tokens = URLSafeSerializer(SECRET, salt="customer")


@base.loyalty.customer_loader
def current_customer() -> Any:
    token = request.headers.get(TOKEN_HEADER)
    if token is None:
        return None
    return base.db.session.get(base.Customer, tokens.loads(token))


def node_app() -> Flask:
    """One app server: the bench host with the client pages, the API and the admin."""
    name = os.environ.get("BENCH_APPLICATION_NAME", NODE)
    pool_size = int(os.environ.get("BENCH_POOL_SIZE", 2))
    app = base.make_app(
        os.environ["BENCH_DATABASE_URL"], with_admin=True, name=name, pool_size=pool_size
    )
    app.config.update(
        SECRET_KEY=SECRET,
        LOYALTY_API_CSRF_EXEMPT=True,
        LOYALTY_ADMIN_ACCESS=lambda: request.headers.get(ADMIN_HEADER) == SECRET,
    )
    return app


# -- the nodes and the jobs -----------------------------------------------------------------------


def start_node(url: str, port: int, args: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_DATABASE_URL": url, "BENCH_APPLICATION_NAME": NODE}
    env["BENCH_POOL_SIZE"] = str(args.threads)  # a connection for each thread, kept open
    command = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers)]
    command += ["--worker-class", args.worker_class, "--threads", str(args.threads)]
    command += ["--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--log-level", "warning"]
    # Two instances on one machine would share the default control socket (~/.gunicorn/).
    command += ["--no-control-socket"]
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
    os.environ["BENCH_APPLICATION_NAME"] = command
    runner = node_app().test_cli_runner()
    runs = failures = 0
    while not stop.is_set():
        result = runner.invoke(args=["loyalty", command])
        runs += 1
        failures += result.exit_code != 0
        time.sleep(0.2)
    out.put((command, runs, failures))


# -- where the CPU goes ---------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def with_children(pid: int) -> list[int]:
    """A process and its children (a gunicorn master and its workers)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (everything but idle and iowait)."""
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICK


def server_processes(url: str) -> dict[str, list[int]]:
    """The server's processes (it runs on this machine): our database's backends by
    ``application_name``, and the background processes every database shares."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT pid, CASE WHEN backend_type = 'client backend' THEN application_name END"
                " FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                " AND (datname = current_database() OR backend_type <> 'client backend')"
            )
        ).all()
    engine.dispose()
    groups: dict[str, list[int]] = collections.defaultdict(list)
    for pid, name in rows:
        groups[f"PostgreSQL: {name}" if name else "PostgreSQL: background (shared)"].append(pid)
    return groups


class CpuMeter:
    """CPU seconds per process group over a run: the nodes, the job loops, this process (the
    webhook receiver), the server's backends by client, and the rest of the machine."""

    def __init__(
        self, url: str, nodes: list[subprocess.Popen[bytes]], jobs: dict[str, Any] | None = None
    ) -> None:
        self.url, self.nodes, self.jobs = url, nodes, jobs or {}

    def sample(self) -> tuple[float, dict[str, dict[int, float]]]:
        groups: dict[str, list[int]] = {
            "nodes (gunicorn)": [p for node in self.nodes for p in with_children(node.pid)],
            "webhook receiver (this process)": [os.getpid()],
        }
        for command, job in self.jobs.items():
            groups[f"job: {command}"] = [job.pid]
        groups.update(server_processes(self.url))
        return machine_busy(), {
            name: {pid: process_cpu(pid) for pid in pids} for name, pids in groups.items()
        }

    @staticmethod
    def used(
        before: tuple[float, dict[str, dict[int, float]]],
        after: tuple[float, dict[str, dict[int, float]]],
        generator: float,
    ) -> dict[str, float]:
        """CPU seconds of each group between two samples (a process new since counts whole),
        with the load generator's own figure and the rest of the machine."""
        used = {"load generator": generator}
        for name, pids in after[1].items():
            was = before[1].get(name, {})
            used[name] = sum(cpu - was.get(pid, 0.0) for pid, cpu in pids.items())
        used["rest of the machine"] = max(0.0, after[0] - before[0] - sum(used.values()))
        return used


def cpu_table(runs: list[dict[str, Any]]) -> list[str]:
    """CPU milliseconds per request of each group, and its share of the machine's busy time."""
    names = sorted({name for run in runs for name in run["cpu"]}, key=cpu_order)
    lines = []
    for name in names:
        per_request = [run["cpu"].get(name, 0.0) / max(run["done"], 1) * 1000 for run in runs]
        share = [run["cpu"].get(name, 0.0) / sum(run["cpu"].values()) * 100 for run in runs]
        lines.append(f"    {name:<34}{spread(per_request):>20} ms{spread(share):>20} %")
    total = [sum(run["cpu"].values()) / max(run["done"], 1) * 1000 for run in runs]
    cores = [sum(run["cpu"].values()) / run["elapsed"] for run in runs]
    lines.append(f"    {'all':<34}{spread(total):>20} ms, {spread(cores)} cores busy")
    return lines


def cpu_order(name: str) -> tuple[int, str]:
    first = ("nodes", "PostgreSQL: node", "load generator")
    return (next((i for i, f in enumerate(first) if name.startswith(f)), len(first)), name)


# -- the load generator ---------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection to a node, on asyncio's streams.

    Ours rather than httpx's: on this machine the generator shares the cores with the nodes,
    and httpx spends about as much CPU on a request as a node's worker does. It sends what
    :func:`prepared` built and reads the status and a ``Content-Length`` or chunked body,
    which is all the nodes answer with; it opens the connection again after the node closed it
    (a gunicorn sync worker closes every one).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, message: bytes) -> int:
        """Send one request, and again on a new connection if the node had closed the kept one
        (safe: a POST carries its idempotency key)."""
        for reused in (self.writer is not None, False):
            if self.reader is None or self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            reader = self.reader
            self.writer.write(message)
            if status_line := await reader.readline():
                break
            self.close()
            if not reused:
                raise ConnectionError("the node closed the connection without answering")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        else:
            await reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def prepared(call: dict[str, Any], host: str) -> tuple[bytes, bytes]:
    """A request's head, but for the idempotency key and the final blank line, and its body."""
    body = json.dumps(call["json"]).encode() if "json" in call else b""
    headers = {"Host": host, **call["headers"], "Content-Length": str(len(body))}
    if body:
        headers["Content-Type"] = "application/json"
    head = f"{call['method']} {call['path']} HTTP/1.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode(), body


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
    addresses = [httpx.URL(node) for node in nodes]
    messages = [
        [(call["method"] == "POST", *prepared(call, f"{a.host}:{a.port}")) for call in requests]
        for a in addresses
    ]
    deadline = time.perf_counter() + seconds

    async def caller(n: int) -> None:
        nonlocal transport_errors
        rng = random.Random(n)
        connections = [Connection(str(a.host), a.port or 80) for a in addresses]
        while time.perf_counter() < deadline:
            which = n % len(nodes)
            n += 1
            keyed, head, body = rng.choice(messages[which])
            key = b"Idempotency-Key: %s\r\n" % uuid.uuid4().hex.encode() if keyed else b""
            started = time.perf_counter()
            try:
                status = await connections[which].request(head + key + b"\r\n" + body)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                connections[which].close()
                transport_errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
        for connection in connections:
            connection.close()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(caller(n) for n in range(clients)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "latencies": latencies,
        "statuses": dict(statuses),
        "transport_errors": transport_errors,
        "elapsed": elapsed,
        "generator_cpu": cpu,
    }


def drive(
    nodes: list[str], calls: list[dict[str, Any]], clients: int, seconds: float, meter: CpuMeter
) -> Any:
    """The generator in a process of its own, so its CPU is not the nodes'."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    process = ctx.Process(target=generate, args=(nodes, calls, clients, seconds, out))
    before = meter.sample()
    process.start()
    result = out.get(timeout=seconds + 120)
    result["cpu"] = meter.used(before, meter.sample(), result["generator_cpu"])
    process.join()
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def summary(result: dict[str, Any]) -> dict[str, Any]:
    statuses = result["statuses"]
    done = sum(statuses.values())
    return {
        "done": done,
        "elapsed": result["elapsed"],
        "cpu": result["cpu"],
        "rps": done / result["elapsed"],
        "p50": percentile(result["latencies"], 0.50),
        "p95": percentile(result["latencies"], 0.95),
        "p99": percentile(result["latencies"], 0.99),
        "errors": sum(n for s, n in statuses.items() if s >= 400) + result["transport_errors"],
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "created": statuses.get(201, 0),
    }


# -- queries per request --------------------------------------------------------------------------


def queries_per_request(url: str, calls: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Round trips one request of each kind makes (``BEGIN`` and ``COMMIT`` included), counted
    in-process on a warm app."""
    os.environ["BENCH_DATABASE_URL"] = url
    app = node_app()
    client = app.test_client()
    counts: dict[str, int] = {}
    with app.app_context():
        engine = base.db.engine
    for name, call in calls.items():
        headers = dict(call["headers"])
        client.open(call["path"], method=call["method"], json=call.get("json"), headers=headers)
        if call["method"] == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        with round_trips(engine) as sent:
            client.open(call["path"], method=call["method"], json=call.get("json"), headers=headers)
        counts[name] = len(sent)
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
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per node")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn's: gthread, sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
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
        nodes_running = [start_node(url, port, args) for port in ports]
        for address in nodes:
            wait_until_serving(address)
        print(
            f"PostgreSQL, {args.customers} customers, 2 nodes x {args.workers} gunicorn "
            f"{args.worker_class} workers x {args.threads} threads, {args.clients} concurrent "
            f"clients, {args.seconds:.0f} s a run, "
            f"median of {args.repeat} runs (lowest-highest)"
        )

        ctx = mp.get_context("fork")
        stop, jobs_out = ctx.Event(), ctx.Queue()
        jobs = {
            command: ctx.Process(target=job_loop, args=(url, command, stop, jobs_out))
            for command in JOBS
        }
        before = rewards_count(url)
        for job in jobs.values():
            job.start()
        meter = CpuMeter(url, nodes_running, jobs)
        runs = [
            summary(drive(nodes, redeem, args.clients, args.seconds, meter))
            for _ in range(args.repeat)
        ]
        stop.set()
        job_results = [jobs_out.get(timeout=60) for _ in jobs]
        for job in jobs.values():
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
        print("  CPU per request by process group, and its share of the CPU used:")
        print("\n".join(cpu_table(runs)))
        for node in nodes_running:
            node.terminate()
        for node in nodes_running:
            node.wait(30)
        nodes_running = []
        problems = base.ledger_problems(url)
        print("  verify afterwards:", problems or "clean")

        in_process = [
            base.measured(base.ours, url, campaign, customers, args.clients, args.seconds / 2)
            for _ in range(args.repeat)
        ]
        api_rps = statistics.median(r["rps"] for r in runs)
        in_process_rps = statistics.median(r.per_second for r in in_process)
        print(
            f"in-process redeem(), {args.clients} clients, same data: "
            f"{spread([r.per_second for r in in_process])} /s; "
            f"API / in-process: {api_rps / in_process_rps:.2f}"
        )
        # What a neighbour's load distorts least: CPU per redemption, everything counted.
        api_cpu = statistics.median(sum(r["cpu"].values()) / r["done"] * 1000 for r in runs)
        api_own = statistics.median(
            (sum(r["cpu"].values()) - r["cpu"]["rest of the machine"]) / r["done"] * 1000
            for r in runs
        )
        client_ms = statistics.median(r.client_ms for r in in_process)
        server_ms = statistics.median(r.server_ms for r in in_process)
        print(
            f"  CPU per redemption: API {api_own:.2f} ms of ours ({api_cpu:.2f} with the rest of "
            f"the machine), in-process {client_ms:.2f} + {server_ms:.2f} ms (clients + "
            f"backends); in-process / API: {(client_ms + server_ms) / api_own:.2f}"
        )

        nodes_running = [start_node(url, port, args) for port in ports]
        for address in nodes:
            wait_until_serving(address)
        counts = queries_per_request(
            url, {"POST redeemed-rewards": redeem[0], **{k: v[0] for k, v in pages.items()}}
        )
        meter = CpuMeter(url, nodes_running)
        for name_, calls in pages.items():
            page_runs = [
                summary(drive(nodes, calls, args.clients, args.seconds / 2, meter))
                for _ in range(args.repeat)
            ]
            print(
                f"GET {name_}: {spread([r['rps'] for r in page_runs])} req/s, "
                f"p99 {spread([r['p99'] for r in page_runs])} ms, "
                f"errors {sum(r['errors'] for r in page_runs)}, "
                f"{counts[name_]} round trips a request"
            )
            print("\n".join(cpu_table(page_runs)))
        print(f"POST redeemed-rewards: {counts['POST redeemed-rewards']} round trips a request")
    finally:
        for node in nodes_running:
            node.terminate()
            node.wait(30)
        receiver.shutdown()
        drop()


if __name__ == "__main__":
    main()
