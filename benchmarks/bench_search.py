"""Free-text search at 100,000 messages: SQLite (FTS5 trigram index) vs PostgreSQL (one generated,
lower-cased search column with one pg_trgm GIN index), on the same rows.

For each query, what the find bar runs per keystroke: the first page of the list (128 rows, newest
first) and the capped count (10,001), through the store's own `page()` and `count_upto()`. The
baseline, measured in the same run, is a plain indexed lookup of one message by id (`row()`).
Runs are interleaved between the backends so machine noise hits both alike.

Run: .venv/bin/python -m benchmarks.bench_search [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAGE_SIZE = 128  # the list model's page (tui/app/list_model.py)
COUNT_CAP = 10_001  # the list's capped count, plus one


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def queries(ids: list[str], sample_body: str) -> dict[str, str]:
    """The kinds of text the issue names, with values that occur in the seeded rows."""
    word = sample_body.split()[1].rstrip(",")  # a name from a body ("Hi Ada, your code is ...")
    return {
        "phone prefix '+1415'": "+1415",
        "digit string '4821'": "4821",
        "error code '30007'": "30007",
        f"body word '{word}'": word,
        f"ID prefix '{ids[len(ids) // 3][:8]}'": ids[len(ids) // 3][:8],
    }


def measure(stores: dict[str, Any], runs: dict[str, Callable[[Any], object]], repeats: int):
    times: dict[tuple[str, str], list[float]] = {}
    answers: dict[tuple[str, str], object] = {}
    for name, run in runs.items():
        for backend, store in stores.items():
            answers[(name, backend)] = run(store)  # warm-up, and the answer to compare
        for _ in range(repeats):
            for backend, store in stores.items():
                started = time.perf_counter()
                run(store)
                times.setdefault((name, backend), []).append(time.perf_counter() - started)
    return times, answers


def same(a: object, b: object) -> str:
    if isinstance(a, list) and isinstance(b, list):
        return "yes" if [r.id for r in a] == [r.id for r in b] else f"no ({len(a)} vs {len(b)})"
    if hasattr(a, "id") and hasattr(b, "id"):
        return "yes" if a.id == b.id else "no"
    return "yes" if a == b else f"no ({a} vs {b})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    repeats = 10 if args.quick else 40

    from benchmarks.bench_team import copy_to_postgres
    from benchmarks.seed import seed
    from tests import pgserver
    from tui.store import ListFilter, PostgresStore, SQLiteStore

    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-search-"))
    pg = pgserver.start()
    try:
        started = time.perf_counter()
        ids = seed(tmp / "seed.sqlite3", args.count)
        url = pg.create_database()
        PostgresStore(url).close()  # the schema, as the app creates it
        copy_to_postgres(tmp / "seed.sqlite3", url)
        stores = {"SQLite": SQLiteStore(tmp / "seed.sqlite3"), "PostgreSQL": PostgresStore(url)}
        print(_machine(pg.admin_url))
        print(f"seeded {args.count:,} messages in {time.perf_counter() - started:.0f} s\n")
        body = stores["SQLite"].row(ids[0]).body or "Hi Ada, your code"
        runs: dict[str, Callable[[Any], object]] = {
            "baseline: row() by id": lambda s, mid=ids[len(ids) // 2]: s.row(mid)
        }
        for label, text in queries(ids, body).items():
            flt = ListFilter(text=text)
            runs[f"{label} first page"] = lambda s, f=flt: s.page(f, 0, PAGE_SIZE)
            runs[f"{label} count"] = lambda s, f=flt: s.count_upto(f, COUNT_CAP)
        times, answers = measure(stores, runs, repeats)
        print(
            f"{'query (100,000 messages, ' + str(repeats) + ' interleaved runs)':<44}"
            f"{'SQLite p50':>11}{'p95':>9}{'PostgreSQL p50':>16}{'p95':>9}  rows  same answer"
        )
        for name in runs:
            sq, pq = times[(name, "SQLite")], times[(name, "PostgreSQL")]
            answer = answers[(name, "SQLite")]
            rows = len(answer) if isinstance(answer, list) else answer
            rows = rows if isinstance(rows, int) else 1
            print(
                f"{name:<44}{statistics.median(sq) * 1000:>9.2f}ms{pct(sq, 0.95) * 1000:>7.2f}ms"
                f"{statistics.median(pq) * 1000:>14.2f}ms{pct(pq, 0.95) * 1000:>7.2f}ms"
                f"{rows:>6}  {same(answer, answers[(name, 'PostgreSQL')])}"
            )
        for store in stores.values():
            store.close()
    finally:
        pg.stop()


def _machine(admin_url: str) -> str:
    import psycopg

    with psycopg.connect(admin_url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    return (
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"CPython {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {server} "
        f"(local throw-away server: fsync off); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


if __name__ == "__main__":
    main()
