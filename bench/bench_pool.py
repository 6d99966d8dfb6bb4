"""Note 002's argument in numbers: connect per call, a global connection (locked and not),
PersistentDB, PooledDB(maxconnections=6) and 06's SqlHelper, side by side in one run.

Threads 1, 4, 16, 64 x two queries: a cheap `SELECT %s` and `SELECT %s, SLEEP(0.005)`. Every
call echoes a fresh token and checks it comes back. Per cell: successful calls per second, p50
and p99 latency, errors, wrong results, and the server's peak connections for the strategy
(FLUSH STATUS before the cell, Max_used_connections after, minus the connections that were
already open). Uses the same MYSQL_* settings as 06_sqlhelper.py.

Run: python bench/bench_pool.py [--json PATH] [--seconds 1.5] [--threads 1,4,16,64]
Targets (16 threads, SLEEP(0.005)): PooledDB >= 90% of maxconnections / per-query latency;
PooledDB >= 5x the locked global connection; PooledDB's peak <= maxconnections; SqlHelper costs
<= 10% over the bare pool.
"""

import sys
import threading
import time
import uuid
from collections import Counter

import common
import pymysql

from instruments import mysql_settings

sqlhelper = common.load("06_sqlhelper")

QUERIES = {"cheap": ("SELECT %s", ()), "SLEEP(0.005)": ("SELECT %s, SLEEP(%s)", (0.005,))}
MAX_CONNECTIONS = 6


def strategies(settings):
    """name -> factory. Every factory gets the same settings; pools are built per cell."""
    fast = {"ssl_disabled": True}
    return {
        "connect per call (TLS ctx)": lambda: sqlhelper.ConnectPerCall(
            **settings, ssl_disabled=False
        ),
        "connect per call": lambda: sqlhelper.ConnectPerCall(**settings, **fast),
        "global + lock": lambda: sqlhelper.LockedGlobalConnection(**settings),
        "global, no lock": lambda: sqlhelper.GlobalConnection(**settings, read_timeout=2),
        "PersistentDB": lambda: sqlhelper.PersistentStrategy(**settings),
        "PooledDB(6)": lambda: sqlhelper.PooledStrategy(settings=settings),
        "SqlHelper on PooledDB(6)": lambda: sqlhelper.SqlHelperStrategy(settings=settings),
    }


def run_cell(strategy, threads, query, seconds, warmup=0.3):
    sql, extra = QUERIES[query]
    outcome, latencies, lock = Counter(), [], threading.Lock()
    start_line = threading.Barrier(threads + 1)
    timing = {}

    def worker():
        mine, local = [], Counter()
        start_line.wait()
        while time.monotonic() < timing["end"]:
            token = uuid.uuid4().hex
            began = time.perf_counter()
            try:
                rows = strategy.query(sql, (token, *extra))
                result = "ok" if rows and rows[0][0] == token else "wrong"
            except Exception as exc:  # failures are data here
                result = type(exc).__name__
            if time.monotonic() >= timing["measure_from"]:
                local[result] += 1
                if result == "ok":
                    mine.append(time.perf_counter() - began)
        with lock:
            outcome.update(local)
            latencies.extend(mine)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in workers:
        t.start()
    timing["measure_from"] = time.monotonic() + warmup
    timing["end"] = timing["measure_from"] + seconds
    start_line.wait()
    for t in workers:
        t.join(seconds + 30)
    hung = sum(t.is_alive() for t in workers)
    return {
        "ok_per_s": outcome["ok"] / seconds,
        "p50_ms": common.percentile(latencies, 50) * 1e3,
        "p99_ms": common.percentile(latencies, 99) * 1e3,
        "wrong": outcome["wrong"],
        "errors": sum(v for k, v in outcome.items() if k not in ("ok", "wrong")),
        "error_kinds": {k: v for k, v in outcome.items() if k not in ("ok", "wrong")},
        "hung": hung,
    }


class Admin:
    """Our own connection, for FLUSH STATUS and the server's counters."""

    def __init__(self, settings):
        self.conn = pymysql.connect(autocommit=True, ssl_disabled=True, **settings)

    def status(self, name):
        with self.conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
            return int(cur.fetchone()[1])

    def flush(self):
        with self.conn.cursor() as cur:
            cur.execute("FLUSH STATUS")  # Max_used_connections := connections open now

    def wait_for_connections(self, target, timeout=10):
        """Let closing sockets of the last cell finish before the next FLUSH STATUS."""
        deadline = time.monotonic() + timeout
        while self.status("Threads_connected") > target and time.monotonic() < deadline:
            time.sleep(0.05)


def main():
    p = common.parser(__doc__)
    p.add_argument(
        "--seconds",
        type=common.positive(float),
        default=1.5,
        help="measured time per cell, after a short warm-up (default 1.5)",
    )
    p.add_argument(
        "--threads",
        type=common.thread_counts,
        default=[1, 4, 16, 64],
        help="client thread counts to run, with commas (default 1,4,16,64)",
    )
    args = p.parse_args()
    thread_counts = args.threads
    try:
        settings = mysql_settings.settings_from_env()
        sqlhelper.setup_database(settings)
        admin = Admin(settings)
    except (mysql_settings.SettingsError, pymysql.err.Error) as exc:
        where = "the MYSQL_* settings"
        if isinstance(exc, pymysql.err.Error):
            where = f"MySQL at {settings['host']}:{settings['port']}"
        sys.exit(f"bench_pool.py: no database reachable ({where}): {sqlhelper.describe(exc)}")
    print(
        "bench_pool:",
        common.environment("pymysql", "dbutils"),
        f"server {admin.conn.get_server_info()}",
    )
    baseline = admin.status("Threads_connected")
    table = common.Table(
        [
            ("query", 12),
            ("strategy", 26),
            ("threads", 7),
            ("ok/s", 8),
            ("p50 ms", 7),
            ("p99 ms", 8),
            ("errors", 7),
            ("wrong", 6),
            ("peak conns", 10),
        ]
    )
    results = {}
    for query in QUERIES:
        for name, make in strategies(settings).items():
            for threads in thread_counts:
                admin.wait_for_connections(baseline)
                strategy = make()
                admin.flush()
                already_open = admin.status("Threads_connected") - baseline
                cell = run_cell(strategy, threads, query, args.seconds)
                cell["peak_conns"] = admin.status("Max_used_connections") - baseline
                cell["peak_conns"] = max(cell["peak_conns"], already_open)
                strategy.close()
                results[(query, name, threads)] = cell
                table.add(
                    query,
                    name,
                    threads,
                    cell["ok_per_s"],
                    cell["p50_ms"],
                    cell["p99_ms"],
                    cell["errors"],
                    cell["wrong"],
                    cell["peak_conns"],
                )
    targets = check_targets(results, thread_counts)
    common.write_json(
        args.json,
        {
            "environment": common.environment("pymysql", "dbutils"),
            "cells": [
                dict(query=q, strategy=s, threads=t, **c) for (q, s, t), c in results.items()
            ],
            "targets": targets,
        },
    )


def check_targets(results, thread_counts):
    if 16 not in thread_counts or 1 not in thread_counts:
        print("targets need the 1- and 16-thread cells")
        return {}
    slow = "SLEEP(0.005)"
    pooled, locked = results[(slow, "PooledDB(6)", 16)], results[(slow, "global + lock", 16)]
    helper = results[(slow, "SqlHelper on PooledDB(6)", 16)]
    latency_s = results[(slow, "PooledDB(6)", 1)]["p50_ms"] / 1e3
    bound = MAX_CONNECTIONS / latency_s
    checks = {
        f"PooledDB >= 90% of {MAX_CONNECTIONS}/latency ({bound:.0f}/s)": (
            pooled["ok_per_s"] / bound,
            pooled["ok_per_s"] >= 0.9 * bound,
        ),
        "PooledDB >= 5x global + lock": (
            pooled["ok_per_s"] / locked["ok_per_s"],
            pooled["ok_per_s"] >= 5 * locked["ok_per_s"],
        ),
        f"PooledDB peak connections <= {MAX_CONNECTIONS}": (
            pooled["peak_conns"],
            pooled["peak_conns"] <= MAX_CONNECTIONS,
        ),
        "SqlHelper <= 10% slower than the bare pool": (
            pooled["ok_per_s"] / helper["ok_per_s"],
            helper["ok_per_s"] >= pooled["ok_per_s"] / 1.1,
        ),
    }
    cheap_fast = results[("cheap", "connect per call", 1)]["ok_per_s"]
    cheap_tls = results[("cheap", "connect per call (TLS ctx)", 1)]["ok_per_s"]
    print(
        f"connect per call, 1 thread, cheap query: {cheap_fast:.0f}/s with ssl_disabled=True, "
        f"{cheap_tls:.0f}/s when PyMySQL builds a TLS context per connect "
        f"({cheap_fast / max(cheap_tls, 1e-9):.0f}x)"
    )
    for name, (value, ok) in checks.items():
        print(f"target (16 threads, {slow}): {name}: {value:.2f} -> {common.verdict(ok)}")
    if not all(ok for _, ok in checks.values()):
        print(common.MISS_MEANS)
    return {name: {"value": value, "met": ok} for name, (value, ok) in checks.items()}


if __name__ == "__main__":
    main()
