"""Ingest benchmark (issue #17): signed webhook events posted as fast as the receiver takes them.

Scenarios, each a separate server process on 127.0.0.1 fed by the same client:
* bare:            a Starlette endpoint on uvicorn (h11, as the receiver) answering 200 after reading
                   the body, without verifying or writing: the baseline, measured in the same run;
* no store:        the receiver itself (headers, signature, parsing, dedup, the writer task) with a
                   batch writer that stores nothing: what the receiver costs apart from the store;
* SQLite:          `sendwatch listen` on a history file;
* PostgreSQL:      `sendwatch listen` on a PostgreSQL database (a private server, tests/pgserver.py);
* 2 x PostgreSQL:  two `sendwatch listen` processes on one PostgreSQL database, clients split.

The client is `--clients` keep-alive HTTP/1.1 connections (8 by default) written with asyncio
streams, so the client's own cost stays small next to the server's. Events are Sent.dm
`message.*` deliveries signed as Sent.dm signs them: three statuses per message (QUEUED, SENT,
DELIVERED), each with its own `X-Webhook-Event-ID`, posted in a shuffled order; `--retries` of them
are posted twice more (the same event ID), as a provider's retry would be.

Measured: events/s sustained (first request to last 2xx), p50/p99 time to 2xx, time until every
event is visible in the store (read back through the store's own API), and the check that nothing
was lost (every message DELIVERED, every status on its timeline) and nothing applied twice (exactly
three webhook events per message). Bounded: `--events` per scenario and `--budget` seconds each.

Run: .venv/bin/python -m benchmarks.bench_ingest [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = bytes(range(7, 39))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
STATUSES = ("QUEUED", "SENT", "DELIVERED")
LISTEN_MAIN = "import sys; from tui.cli import main; sys.exit(main(sys.argv[1:]))"
BARE_MAIN = """
import socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def take(request):
    await request.body()
    return JSONResponse({"ok": True})

app = Starlette(routes=[Route("/webhooks/sentdm", take, methods=["POST"])])
# IPPROTO_TCP named, as getaddrinfo (and so the receiver) names it: asyncio sets TCP_NODELAY only
# on accepted sockets whose protocol says TCP; without it, Nagle adds 40 ms to every answer.
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen(2048)  # listening before we say so
print("Ctrl+C stops it.", flush=True)
config = uvicorn.Config(app, http="h11", lifespan="off", log_config=None, access_log=False,
                        server_header=False)
uvicorn.Server(config).run(sockets=[sock])
"""


#: The receiver as `listen` runs it (signatures, parsing, dedup, the writer task), with a batch
#: writer that stores nothing: what the receiver itself costs, apart from the store.
STORELESS_MAIN = """
import asyncio, sys, tempfile
from pathlib import Path
from tui.store import SQLiteStore
from tui.webhooks import WebhookCredentials, WebhookReceiver
from tui.webhooks.apply import Applied

def remember_nothing(writes):
    return [Applied(w.message.id, w.message.provider, True, False, w.message.status) for w in writes]

async def main():
    store = SQLiteStore(Path(tempfile.mkdtemp()) / "unused.sqlite3")
    credentials = WebhookCredentials.from_values(sys.argv[2], None)
    receiver = WebhookReceiver(store, credentials, port=int(sys.argv[1]), apply_batch=remember_nothing)
    async with receiver:
        print("Ctrl+C stops it.", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(15, stop.set)
        await stop.wait()

asyncio.run(main())
"""


@dataclass(frozen=True)
class Event:
    message_id: str
    status: str
    event_id: str
    body: bytes


@dataclass
class Result:
    name: str
    sent: int = 0
    answered: int = 0
    non_2xx: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    visible_after: float | None = None  # from the first request until the store showed everything
    lost: int | None = None
    twice: int | None = None  # messages with more webhook events on their timeline than were sent
    answered_twice: int = 0  # event IDs answered as applied more than once (not "duplicate")
    cpu: float = 0.0  # CPU seconds the server processes spent while the events were posted

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.answered * 1000 if self.answered else float("nan")

    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


# -- events --------------------------------------------------------------------------------------


def make_events(messages: int, retries: int, seed: int) -> tuple[list[Event], list[str]]:
    rng = random.Random(seed)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(messages)]
    events = []
    for mid in ids:
        for i, status in enumerate(STATUSES):
            envelope = {
                "field": "message",
                "event": f"message.{status.lower()}",
                "payload": {
                    "message_id": mid,
                    "message_status": status,
                    "channel": "sms",
                    "updated_at": f"2026-01-15T10:3{i}:00Z",
                },
                "timestamp": f"2026-01-15T10:3{i}:01Z",
            }
            body = json.dumps(envelope).encode()
            events.append(
                Event(mid, status, "evt_" + uuid.UUID(int=rng.getrandbits(128)).hex, body)
            )
    rng.shuffle(events)
    repeats = [rng.choice(events) for _ in range(retries)]
    return events + repeats, ids


def request_bytes(event: Event, stamp: str) -> bytes:
    mac = hmac.new(KEY, f"ep_bench.{stamp}.".encode() + event.body, hashlib.sha256).digest()
    head = (
        "POST /webhooks/sentdm HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(event.body)}\r\nX-Webhook-ID: ep_bench\r\n"
        f"X-Webhook-Timestamp: {stamp}\r\nX-Webhook-Signature: v1,{base64.b64encode(mac).decode()}\r\n"
        f"X-Webhook-Event-ID: {event.event_id}\r\n\r\n"
    )
    return head.encode() + event.body


# -- the client ----------------------------------------------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, (await reader.readexactly(length) if length else b"")


async def drive(
    ports: list[int], events: list[Event], clients: int, budget: float, result: Result
) -> None:
    """`clients` keep-alive connections, spread over the ports, take events from one queue."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    for event in events:
        queue.put_nowait(event)
    stamp = str(int(time.time()))
    deadline = time.monotonic() + budget
    applied: dict[str, int] = {}  # event ID -> answers that did not say "duplicate"

    async def client(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                try:
                    event = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                writer.write(request_bytes(event, stamp))
                result.sent += 1
                status, body = await read_response(reader)
                if 200 <= status < 300:
                    result.answered += 1
                    result.latencies.append(time.perf_counter() - started)
                    if b'"duplicate"' not in body:
                        applied[event.event_id] = applied.get(event.event_id, 0) + 1
                else:
                    result.non_2xx[status] = result.non_2xx.get(status, 0) + 1
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(client(ports[i % len(ports)]) for i in range(clients)))
    result.seconds = time.perf_counter() - started
    result.answered_twice = sum(1 for n in applied.values() if n > 1)
    if not queue.empty():
        result.problems.append(f"time budget ran out with {queue.qsize()} events unsent")


# -- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): the server's own cost, which a
    busy machine slows down but does not inflate the way it inflates wall-clock rates."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(code: str, args: list[str], env: dict[str, str]) -> Iterator[int]:
    """A server process; ready once it prints the `Ctrl+C` line; SIGTERM at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Ctrl+C"):
                break
        else:
            raise RuntimeError(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def listen_env(tmp: Path, url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "SENT_DM_WEBHOOK_SECRET": SECRET,
        "SENDWATCH_DATA_DIR": str(tmp / "data"),
        "SENDWATCH_CONFIG": str(tmp / "absent.toml"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("SENDO_WEBHOOK_TOKEN", None)
    env.pop("SENDWATCH_DATABASE_URL", None)
    if url:
        env["SENDWATCH_DATABASE_URL"] = url
    return env


def store_for(env: dict[str, str]):  # -> tui.store.Store
    """The store the servers wrote to (paths are read from os.environ, so the file is named here)."""
    from tui.config import load
    from tui.store import SQLiteStore
    from tui.store.open import open_store

    if env.get("SENDWATCH_DATABASE_URL"):
        return open_store(load(Path(env["SENDWATCH_CONFIG"]), env=env))
    return SQLiteStore(Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3")


def verify(
    result: Result, env: dict[str, str], ids: list[str], started: float, wait: float
) -> None:
    """Read every message back until all are complete (or `wait` runs out): lost / twice."""
    store = store_for(env)
    try:
        deadline = time.monotonic() + wait
        while True:
            lost = twice = 0
            for mid in ids:
                stored = store.get(mid)
                pushed = (
                    []
                    if stored is None
                    else [e for e in stored.message.events if e.source.value == "webhook"]
                )
                if stored is None or stored.message.provider_status != "DELIVERED":
                    lost += 1
                elif len(pushed) < len(STATUSES):
                    lost += 1
                elif len(pushed) > len(STATUSES):
                    twice += 1
            if lost == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        result.visible_after = time.perf_counter() - started if lost == 0 else None
        result.lost, result.twice = lost, twice
    finally:
        store.close()


def scenario(
    name: str,
    *,
    events: list[Event],
    ids: list[str],
    clients: int,
    budget: float,
    tmp: Path,
    url: str | None = None,
    processes: int = 1,
    bare: bool = False,
    storeless: bool = False,
) -> Result:
    result = Result(name)
    ports = [free_port() for _ in range(processes)]
    env = listen_env(tmp, url)
    with contextlib.ExitStack() as stack:
        pids = []
        for port in ports:
            if bare:
                pids.append(stack.enter_context(server(BARE_MAIN, [str(port)], env)))
            elif storeless:
                pids.append(stack.enter_context(server(STORELESS_MAIN, [str(port), SECRET], env)))
            else:
                pids.append(
                    stack.enter_context(server(LISTEN_MAIN, ["listen", f"127.0.0.1:{port}"], env))
                )
        cpu = sum(cpu_seconds(pid) for pid in pids)
        started = time.perf_counter()
        asyncio.run(drive(ports, events, clients, budget, result))
        result.cpu = sum(cpu_seconds(pid) for pid in pids) - cpu
        if not bare and not storeless:
            verify(result, env, ids, started, wait=30.0)
    return result


# -- report --------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(rounds: list[list[Result]], clients: int) -> None:
    """Per scenario, the median over the rounds; ratios are taken against the bare run of the same
    round (run just before), so a machine that gets busier or quieter mid-way skews them less."""
    print(
        f"\n{'scenario':<16} {'events':>6} {'events/s':>9} {'x bare':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'p99 x':>6} {'visible s':>9} {'lost':>5} {'twice':>5} {'cpu ms/ev':>9}"
    )
    for i, name in enumerate(r.name for r in rounds[0]):
        runs = [(row[i], row[0]) for row in rounds]
        visible = [r.visible_after for r, _ in runs if r.visible_after is not None]
        lost = [r.lost for r, _ in runs if r.lost is not None]
        twice = [(r.twice or 0) + r.answered_twice for r, _ in runs]
        print(
            f"{name:<16} {runs[0][0].sent:>6} {median([r.rate for r, _ in runs]):>9.0f} "
            f"{median([r.rate / b.rate for r, b in runs]):>7.2f} "
            f"{median([r.pct(50) for r, _ in runs]):>7.1f} {median([r.pct(99) for r, _ in runs]):>7.1f} "
            f"{median([r.pct(99) / b.pct(99) for r, b in runs]):>6.2f} "
            f"{(f'{median(visible):.2f}' if visible else '-'):>9} "
            f"{(max(lost) if lost else '-'):>5} {('-' if i == 0 else max(twice)):>5} "
            f"{median([r.cpu_ms for r, _ in runs]):>9.2f}"
        )
    for row in rounds:
        for r in row:
            if r.non_2xx:
                print(f"  {r.name}: non-2xx answers {r.non_2xx}")
            for problem in r.problems:
                print(f"  {r.name}: {problem}")
    print(
        f"\n{len(rounds)} rounds, medians; {clients} keep-alive clients; goal: events/s >= 0.7 x bare, "
        "p99 <= 2 x bare's, nothing lost, nothing applied twice.\ncpu ms/ev: the server processes' "
        "CPU time per answered event (PostgreSQL's own not included); steadier than rates on a busy "
        "machine. visible s: from the first request until the store showed every event."
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--messages", type=int, default=None, help="messages (3 events each)")
    parser.add_argument("--retries", type=int, default=None, help="events posted again")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per scenario at most")
    parser.add_argument("--only", default=None, help="comma-separated scenario names")
    parser.add_argument("--rounds", type=int, default=None, help="each scenario this many times")
    args = parser.parse_args()
    messages = args.messages or (200 if args.quick else 1000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    retries = args.retries if args.retries is not None else messages // 10
    events, ids = make_events(messages, retries, seed=17)
    print(
        f"ingest: {len(events)} signed Sent.dm events ({messages} messages x {len(STATUSES)} "
        f"statuses + {retries} retries), {args.clients} clients; "
        f"{platform.python_version()}, {os.cpu_count()} cores"
    )
    from tests import pgserver

    wanted = set(args.only.split(",")) if args.only else None
    plan: list[tuple[str, dict[str, object]]] = [
        ("bare", {"bare": True}),
        ("no store", {"storeless": True}),
        ("SQLite", {}),
        ("PostgreSQL", {"url": "pg"}),
        ("2 x PostgreSQL", {"url": "pg", "processes": 2}),
    ]
    plan = [(n, o) for n, o in plan if wanted is None or n in wanted or n == "bare"]
    pg = pgserver.start() if any(o.get("url") == "pg" for _, o in plan) else None
    rounds: list[list[Result]] = []
    try:
        for number in range(args.rounds):
            row: list[Result] = []
            for name, options in plan:
                if options.get("url") is not None:
                    assert pg is not None
                    options = {**options, "url": pg.create_database()}
                with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
                    row.append(
                        scenario(
                            name,
                            events=events,
                            ids=ids,
                            clients=args.clients,
                            budget=args.budget,
                            tmp=Path(tmp),
                            **options,  # type: ignore[arg-type]
                        )
                    )
                print(f"  round {number + 1}, {name}: {row[-1].rate:.0f} events/s", flush=True)
            rounds.append(row)
    finally:
        if pg is not None:
            pg.stop()
    report(rounds, args.clients)


if __name__ == "__main__":
    main()
