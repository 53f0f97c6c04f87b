"""Team benchmark (issue 11, "a team on one account"): one poller per account, live changes on every screen.

1. Requests: the same seeded Sent.dm campaign watched by ONE dashboard alone, then by THREE dashboards
   and one `sendwatch poll` on one shared store, for the same time, on a SQLite file and on PostgreSQL.
   Every instance is a process of its own (the simulator too), so the election (flock / advisory
   lock) and the change notifications (data_version / LISTEN) work across processes as in real use.
2. Change-to-screen lag: for every status change the poller stored, when each dashboard's list model
   first held it (child processes report their observations as JSON).
3. List and filter latency at 100,000 messages, PostgreSQL vs SQLite: the store queries the app runs.

Run: .venv/bin/python -m benchmarks.bench_team [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 11
#: `sendwatch poll`, in a process of its own
POLL_MAIN = "import sys; from tui.cli import main; sys.exit(main(['poll']))"


# -- helpers ---------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def child_env(config: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SENDWATCH_", "SENT_DM_", "SENT_API", "SENDO_"))
    }
    env["SENDWATCH_CONFIG"] = str(config)
    env["PYTHONPATH"] = str(ROOT)
    return env


@dataclass
class Scenario:
    backend: str  # "SQLite" | "PostgreSQL"
    team: bool
    seconds: float
    requests: int = 0
    ok: int = 0
    throttled: int = 0
    first_request: float | None = None
    holders: dict[str, float] = field(
        default_factory=dict
    )  # instance -> seconds it held the Sent.dm lease
    takeovers: int = 0
    dashboards: list[dict] = field(default_factory=list)
    changes: list[tuple[str, str, float]] = field(default_factory=list)  # (id, status, write time)
    own_requests: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "3 dashboards + poll" if self.team else "1 dashboard"


# -- 1 + 2: the team run ---------------------------------------------------------------------------
def write_config(
    path: Path, port: int, per_minute: float, burst: int, history: tuple[str, str]
) -> None:
    from tui.simulator import SENTDM_KEY

    kind, where = history
    store = f'path = "{where}"' if kind == "path" else f'url = "{where}"'
    path.write_text(
        "[providers.sentdm]\n"
        f'api_key = "{SENTDM_KEY}"\n'  # the simulator's public test key
        f'base_url = "http://127.0.0.1:{port}"\n'
        f"requests_per_minute = {per_minute}\nburst = {burst}\n\n"
        f"[history]\n{store}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)


def team_run(
    backend: str, team: bool, count: int, per_minute: float, burst: int, seconds: float, pg
) -> Scenario:
    from tui.config import load
    from tui.ids import parse_ref
    from tui.store.open import open_store

    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-team-"))
    ids_file = tmp / "ids.txt"
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.team_sim",
            str(SEED),
            str(count),
            str(per_minute),
            str(burst),
            str(ids_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(tmp / "none.toml"),
    )
    port = int(sim.stdout.readline().split()[1])
    history = (
        ("path", str(tmp / "history.sqlite3"))
        if backend == "SQLite"
        else ("url", pg.create_database())
    )
    config = tmp / "config.toml"
    write_config(config, port, per_minute, burst, history)
    settings = load(config, env={})
    store = open_store(settings)
    store.track(
        [parse_ref(line) for line in ids_file.read_text().split()], campaign="team"
    )  # `sendwatch watch --no-ui`
    store.close()

    env = child_env(config)
    names = ["dash-1", "dash-2", "dash-3"] if team else ["dash-1"]
    started = time.time()
    dashes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "benchmarks.team_dash", name, str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for name in names
    }
    poll_log = tmp / "poll.log"
    poll = None
    if team:
        with open(poll_log, "w") as log:
            poll = subprocess.Popen(
                [sys.executable, "-c", POLL_MAIN], stdout=log, stderr=log, cwd=ROOT, env=env
            )
    out = Scenario(backend, team, seconds)
    for name, proc in dashes.items():
        stdout, stderr = proc.communicate(timeout=seconds + 120)
        line = next((x for x in stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            out.problems.append(
                f"{name} reported nothing (exit {proc.returncode}): {stderr[-1500:]}"
            )
            continue
        out.dashboards.append(json.loads(line[7:]))
    ended = max((d["ended"] for d in out.dashboards), default=time.time())
    if poll is not None:
        poll.send_signal(signal.SIGTERM)
        try:
            poll.wait(timeout=20)
        except subprocess.TimeoutExpired:
            poll.kill()
            out.problems.append("sendwatch poll did not stop on SIGTERM within 20 s")
    sim.stdin.write("stop\n")
    sim.stdin.flush()
    data = json.loads(sim.stdout.readline())
    sim.wait(timeout=20)
    # the window: from spawning the instances until the dashboards ended
    window = [(at, status) for at, status, _ in data["records"] if started <= at <= ended]
    out.seconds = ended - started
    out.requests = len(window)
    out.ok = sum(1 for _, s in window if s == 200)
    out.throttled = sum(1 for _, s in window if s == 429)
    out.first_request = min((at for at, _ in window), default=None)
    # who polled: each dashboard's lease states over time, and `sendwatch poll`'s log lines
    spans: list[tuple[float, str, str]] = []
    for d in out.dashboards:
        for at, state in d["leases"]:
            spans.append((at, d["name"], state))
        out.own_requests[d["name"]] = d["requests"]
    if poll is not None:
        for line in poll_log.read_text(errors="replace").splitlines():
            m = re.match(
                r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) INFO lease Sent\.dm: (.*)$", line
            )
            if m:
                at = (
                    time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
                    + int(m.group(2)) / 1000
                )
                spans.append((at, "poll", m.group(3)))
            elif " ERROR " in line or "Traceback" in line:
                out.problems.append(f"poll: {line[:200]}")
    by_instance: dict[str, list[tuple[float, str]]] = {}
    for at, who, state in sorted(spans):
        by_instance.setdefault(who, []).append((at, state))
    for who, states in by_instance.items():
        held = 0.0
        for i, (at, state) in enumerate(states):
            if state == "polling here":
                until = states[i + 1][0] if i + 1 < len(states) else ended
                held += max(0.0, min(until, ended) - max(at, started))
        if held > 0.5:
            out.holders[who] = held
    wins = sorted((at, who) for at, who, state in spans if state == "polling here")
    out.takeovers = max(0, len(wins) - 1)
    # what the pollers stored: every observed status change, with the time of its answer
    store = open_store(settings)
    out.changes = [
        (mid, status, ts)
        for mid, status, ts in store._read(
            "SELECT message_id, status, ts FROM events WHERE source = 'observed' ORDER BY ts"
        )
    ]
    store.close()
    return out


def lags(scenario: Scenario, dash: dict) -> dict[str, float]:
    """For each change stored while this dashboard was live (its ChangeWatcher running), when its list
    model first held that version of the row or a later one: seconds after the answer was stored.
    `gap`: changes stored after the app read a row at start-up but before its watcher began, and never
    shown (see the report: the watcher's starting revision is taken after the first read)."""
    by_id: dict[str, list[tuple[float, float | None, str]]] = {}
    for at, mid, _status, last_changed, source in dash["obs"]:
        by_id.setdefault(mid, []).append((at, last_changed, source))
    values, probe, missing, gap, notified = [], 0, 0, 0, []
    told: dict[str, list[float]] = {}
    for at, ids in dash.get("announced", ()):
        for mid in ids:
            told.setdefault(mid, []).append(at)
    live = dash["live_at"] or dash["ended"]
    horizon = (
        dash["ended"] - 2.0
    )  # a change stored in the last 2 s may legitimately not be on screen yet
    for mid, status, ts in scenario.changes:
        obs = by_id.get(mid, ())
        shown = [
            (at, source)
            for at, changed, source in obs
            if changed is not None and changed >= ts - 0.002
        ]
        if ts < live:
            read_before = any(source != "probe" and at < ts for at, _, source in obs)
            gap += read_before and not shown
            continue
        if ts > horizon:
            continue
        if not shown:
            missing += 1
            if os.environ.get("BENCH_TEAM_DEBUG"):
                print(
                    "   unseen",
                    dash["name"],
                    mid[:8],
                    status,
                    f"{ts:.3f}",
                    [(f"{a:.3f}", c, s) for a, c, s in obs],
                )
            continue
        at, source = min(shown)
        after = [t for t in told.get(mid, ()) if t >= ts]
        if after:
            notified.append(min(after) - ts)
        if source == "probe":
            probe += 1
            continue
        values.append(max(0.0, at - ts))
        if os.environ.get("BENCH_TEAM_DEBUG") and at - ts > 5:
            print(
                "   slow",
                dash["name"],
                mid[:8],
                status,
                f"stored {ts:.3f} shown +{at - ts:.2f} via {source}; told at",
                [f"+{t - ts:.2f}" for t in told.get(mid, ()) if t >= ts - 1][:4],
                "rows of that id seen:",
                [
                    (f"+{a - ts:.2f}", f"{c - ts:+.2f}" if c else None, s)
                    for a, c, s in obs
                    if a >= ts - 1
                ][:4],
            )
    return {
        "n": len(values),
        "p50": pct(values, 0.5),
        "p95": pct(values, 0.95),
        "max": max(values, default=float("nan")),
        "within 1 s": sum(1 for v in values if v <= 1.0) / len(values) if values else float("nan"),
        "probe": probe,
        "missing": missing,
        "gap": gap,
        "notified p95": pct(notified, 0.95) if notified else float("nan"),
    }


def print_requests(rows: list[Scenario]) -> None:
    print(
        f"{'store':<11}{'watchers':<21}{'seconds':>8}{'requests':>10}{'req/min':>9}{'429s':>6}{'ratio':>7}  who polled (seconds holding the Sent.dm lease)"
    )
    base: dict[str, float] = {}
    for s in rows:
        per_min = s.requests / s.seconds * 60 if s.seconds else float("nan")
        if not s.team:
            base[s.backend] = per_min
        ratio = per_min / base[s.backend] if base.get(s.backend) else float("nan")
        who = (
            ", ".join(f"{k} {v:.0f} s" for k, v in sorted(s.holders.items(), key=lambda kv: -kv[1]))
            or "nobody"
        )
        if s.takeovers:
            who += f" ({s.takeovers} takeover{'s' if s.takeovers > 1 else ''})"
        print(
            f"{s.backend:<11}{s.label:<21}{s.seconds:>8.1f}{s.requests:>10,}{per_min:>9.0f}{s.throttled:>6}{ratio:>7.2f}  {who}"
        )


def print_lags(rows: list[Scenario]) -> None:
    print(
        f"{'store':<11}{'watchers':<21}{'dashboard':<17}{'changes':>8}{'p50 s':>7}{'p95 s':>7}{'max s':>7}{'<= 1 s':>8}{'unseen':>7}{'start gap':>10}{'told p95':>9}"
    )
    for s in rows:
        for d in sorted(s.dashboards, key=lambda d: d["name"]):
            role = "polls" if s.holders.get(d["name"], 0) > 0.5 * s.seconds else "watches"
            lag = lags(s, d)
            told = f"{lag['notified p95']:.2f}" if role == "watches" else "-"
            print(
                f"{s.backend:<11}{s.label:<21}{d['name'] + ' (' + role + ')':<17}{lag['n']:>8}{lag['p50']:>7.2f}{lag['p95']:>7.2f}"
                f"{lag['max']:>7.2f}{lag['within 1 s']:>8.0%}{lag['missing']:>7}{lag['gap']:>10}{told:>9}"
            )


# -- 3: list and filter latency at 100k ------------------------------------------------------------
def copy_to_postgres(sqlite_path: Path, url: str) -> None:
    """The same 100,000 rows (in the same order) into a PostgreSQL store, with COPY."""
    import psycopg

    src = sqlite3.connect(sqlite_path)
    cols = (
        "id, provider, status, provider_status, to_addr, body, channel, error_code, error_message, created_at, "
        "updated_at, snapshot, raw, first_seen, last_polled, last_changed, next_poll"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            with conn.cursor().copy(f"COPY messages ({cols}) FROM STDIN") as cp:
                for row in src.execute(f"SELECT {cols} FROM messages ORDER BY seq"):
                    cp.write_row(row)
            with conn.cursor().copy(
                "COPY events (message_id, source, status, provider_status, ts, description) FROM STDIN"
            ) as cp:
                for row in src.execute(
                    "SELECT message_id, source, status, provider_status, ts, description FROM events"
                ):
                    cp.write_row(row)
            with conn.cursor().copy(
                "COPY campaign_messages (campaign, message_id) FROM STDIN"
            ) as cp:
                for row in src.execute("SELECT campaign, message_id FROM campaign_messages"):
                    cp.write_row(row)
            for name, created in src.execute("SELECT name, created_at FROM campaigns"):
                conn.execute(
                    "INSERT INTO campaigns VALUES (%s, %s) ON CONFLICT DO NOTHING", (name, created)
                )
        conn.execute("ANALYZE")  # what autovacuum would do shortly after a bulk load
    src.close()


def list_latency(pg, count: int, repeats: int) -> None:
    from benchmarks.seed import seed
    from tui.app.list_model import COUNT_CAP, PAGE_SIZE
    from tui.app.query import parse_query
    from tui.store import ListFilter, SQLiteStore
    from tui.store.postgres import PostgresStore

    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-team-"))
    t0 = time.perf_counter()
    ids = seed(tmp / "100k.sqlite3", count)
    t1 = time.perf_counter()
    url = pg.create_database()
    PostgresStore(url).close()  # the schema, as the app creates it
    copy_to_postgres(tmp / "100k.sqlite3", url)
    t2 = time.perf_counter()
    print(
        f"seeded {count:,} messages: SQLite {t1 - t0:.1f} s (executemany), PostgreSQL {t2 - t1:.1f} s (COPY + ANALYZE)\n"
    )
    stores = {"SQLite": SQLiteStore(tmp / "100k.sqlite3"), "PostgreSQL": PostgresStore(url)}
    everything = ListFilter()
    failed = parse_query("status:failed", ListFilter()).filter
    middle = ids[count // 2]
    a_failed = stores["SQLite"]._read(
        "SELECT id FROM messages WHERE status = 'failed' ORDER BY seq LIMIT 1 OFFSET 2000"
    )[0][0]
    cap = COUNT_CAP + 1
    text = {w: parse_query(w, ListFilter()).filter for w in ("Ada", "30007", "+1415", "ke")}
    queries = {
        "first page (128 rows, newest)": lambda s: s.page(everything, 0, PAGE_SIZE),
        "count, capped at 10,001": lambda s: s.count_upto(everything, cap),
        "last page (End: OFFSET 99,9xx)": lambda s: s.page(
            everything, count - PAGE_SIZE, PAGE_SIZE
        ),
        "status counts (status line)": lambda s: s.status_counts(everything),
        "'Ada' first page": lambda s: s.page(text["Ada"], 0, PAGE_SIZE),
        "'Ada' count (capped)": lambda s: s.count_upto(text["Ada"], cap),
        "'30007' first page": lambda s: s.page(text["30007"], 0, PAGE_SIZE),
        "'30007' count (capped)": lambda s: s.count_upto(text["30007"], cap),
        "'+1415' first page": lambda s: s.page(text["+1415"], 0, PAGE_SIZE),
        "'ke' first page (2 chars)": lambda s: s.page(text["ke"], 0, PAGE_SIZE),
        "status:failed first page": lambda s: s.page(failed, 0, PAGE_SIZE),
        "status:failed count (capped)": lambda s: s.count_upto(failed, cap),
        "status:failed status counts": lambda s: s.status_counts(failed),
        "position() of a row mid-list": lambda s: s.position(middle, everything),
        "position() in status:failed": lambda s: s.position(a_failed, failed),
        "row() of one message": lambda s: s.row(middle),
    }
    times: dict[tuple[str, str], list[float]] = {}
    answers: dict[tuple[str, str], object] = {}
    for name, query in queries.items():
        for backend, store in stores.items():
            answers[(name, backend)] = query(store)  # warm-up (and the answer, to compare)
        for _ in range(repeats):
            for backend, store in stores.items():  # interleaved: noise hits both alike
                t = time.perf_counter()
                query(store)
                times.setdefault((name, backend), []).append(time.perf_counter() - t)
    print(
        f"{'query (the app`s own, 100,000 messages)':<40}{'SQLite p50':>11}{'p95':>10}{'PostgreSQL p50':>16}{'p95':>10}{'PG/SQLite p50':>14}  same answer"
    )
    for name in queries:
        sq, pgt = times[(name, "SQLite")], times[(name, "PostgreSQL")]
        a, b = answers[(name, "SQLite")], answers[(name, "PostgreSQL")]
        same = _same(a, b)
        print(
            f"{name:<40}{statistics.median(sq) * 1000:>9.2f}ms{pct(sq, 0.95) * 1000:>8.2f}ms"
            f"{statistics.median(pgt) * 1000:>14.2f}ms{pct(pgt, 0.95) * 1000:>8.2f}ms"
            f"{statistics.median(pgt) / statistics.median(sq):>14.1f}  {same}"
        )
    for store in stores.values():
        store.close()


def _same(a: object, b: object) -> str:
    if isinstance(a, list) and isinstance(b, list):
        ids_a, ids_b = [r.id for r in a], [r.id for r in b]
        return "yes" if ids_a == ids_b else f"no ({len(ids_a)} vs {len(ids_b)} rows)"
    if hasattr(a, "id") and hasattr(b, "id"):
        return "yes" if a.id == b.id and a.status == b.status else "no"
    return "yes" if a == b else f"no ({a} vs {b})"


# -- main ------------------------------------------------------------------------------------------
def machine_facts(pg_url: str) -> None:
    import psycopg
    import textual

    with psycopg.connect(pg_url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    mem = ""
    try:
        kb = int(
            next(
                x
                for x in Path("/proc/meminfo").read_text().splitlines()
                if x.startswith("MemTotal")
            ).split()[1]
        )
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    print(
        f"Machine: {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}; CPython {platform.python_version()}, "
        f"Textual {textual.__version__}, SQLite {sqlite3.sqlite_version}, PostgreSQL {server} "
        f"(local throw-away server: fsync off; psycopg {psycopg.__version__})"
    )
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--only", choices=["team", "list"], default=None)
    parser.add_argument(
        "--backends", default="SQLite,PostgreSQL", help="team scenarios on these stores"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="override each team scenario's length"
    )
    args = parser.parse_args()
    from tests import pgserver

    count, per_minute, burst = 300, 600.0, 50
    seconds = args.seconds or (25.0 if args.quick else 60.0)
    pg = pgserver.start()
    try:
        machine_facts(pg.admin_url)
        if args.only != "list":
            rows = []
            for backend in args.backends.split(","):
                for team in (False, True):
                    rows.append(team_run(backend, team, count, per_minute, burst, seconds, pg))
            print(
                f"1. Requests: {count} Sent.dm messages sent at t = 0, budget {per_minute:g}/min (burst {burst}), "
                f"each scenario {seconds:g} s;"
            )
            print(
                "   every instance a process of its own on one shared store; ratio = team / one dashboard, same store\n"
            )
            print_requests(rows)
            print(
                "\n2. Change-to-screen lag: each status change the poller stored (its answer's time) until that"
            )
            print(
                "   dashboard's list model held it (changes stored while its ChangeWatcher ran); 'unseen': stored"
            )
            print(
                "   >= 2 s before the end, never shown; 'start gap': stored after the app read the row at start-up but"
            )
            print(
                "   before its watcher started, and never shown; 'told p95': stored until the ChangeWatcher handed the"
            )
            print("   row's id to the app (watching dashboards only)\n")
            print_lags(rows)
            for s in rows:
                for p in s.problems:
                    print(f"   problem ({s.backend}, {s.label}): {p}")
                odd = [
                    d
                    for d in s.dashboards
                    if d["views"] > 1 or d["watcher_errors"] or d.get("exit_error")
                ]
                for d in odd:
                    print(
                        f"   note ({s.backend}, {s.label}): {d['name']} re-read its whole view {d['views']} times, "
                        f"watcher errors {d['watcher_errors']}, probe refills {d['refills']}, exit: {d.get('exit_error') or 'clean'}"
                    )
            print()
        if args.only != "team":
            print(
                "3. List and filter latency at 100,000 messages (the same rows in both stores; "
                f"{10 if args.quick else 30} interleaved runs per query)\n"
            )
            list_latency(pg, 100_000, 10 if args.quick else 30)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
