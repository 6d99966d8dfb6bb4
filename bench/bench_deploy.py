"""Beyond one process: 05 and 06 under gunicorn and gevent, and what the notes' lessons become.

Each lesson runs real gunicorn processes on free loopback ports, narrates what it does, and
prints one table (docs/beyond-one-process.md shows a run):

1. ident: 协程 and the ident. N requests meet inside their request contexts, then each reads
   request.args['value'], with the context stacks keyed by the OS thread, the greenlet or a
   ContextVar; under gthread workers, gevent workers, and as N asyncio tasks.
2. pool: one pool per worker process. 06 under gunicorn -w W (gthread, 8 threads each), 32
   clients on /slow; the server's peak connections from the app, sampled from
   information_schema.PROCESSLIST. Then a throwaway mariadbd whose max_connections is below
   W x maxconnections.
3. fork: a pool opened before the fork (gunicorn --preload), kept or replaced in each worker.
4. sessions: 200 requests on /session over 4 workers: the signed cookie, 05's in-process
   store, and the store in MariaDB.
5. throughput: the same small app on ours and on Flask 3 under sync, gthread and gevent
   workers, driven by wrk (Debian's package: apt-get install -y wrk).

Run:    python bench/bench_deploy.py [--lessons ident,pool,fork,sessions,throughput]
Target: requests/s, ours / Flask 3's >= 0.97 under each worker class.
Needs:  a MariaDB for pool, fork and sessions (06's MYSQL_* settings; a database
        deploy_<random> is created there and dropped), mariadbd binaries for the throwaway
        server, and wrk for throughput.
"""

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter

import common
import pymysql

from instruments import mysql_settings

sys.path.insert(0, str(common.ROOT / "tests"))
import dbserver  # noqa: E402  (the tests' throwaway mariadbd, also used here)

sqlhelper = common.load("06_sqlhelper")
deployment = common.load("08_deploy")
READY_HOOKS = str(common.ROOT / "bench" / "gunicorn_ready.py")
WORKER_CLASSES = {  # what each worker class is given here, beside -w
    "sync": [],
    "gthread": ["--threads", "8"],
    "gevent": ["--worker-connections", "1000"],
}


# ==========================================================================================
# 1. 协程 and the ident
# ==========================================================================================


def ident_outcomes(worker_class, ident, n):
    """n requests at once on /together under one worker: Counter of own / another's / 500."""
    options = ["--worker-class", worker_class]
    if worker_class == "gthread":
        options += ["--threads", str(n)]
    app = f'08_deploy:create_ident_app("{ident}")'
    with Gunicorn(app, *options) as server:
        paths = [f"/together?value={i}&n={n}" for i in range(n)]
        answers = get_all_at_once(server.address, paths)
    return Counter(_ident_outcome(str(i), answer) for i, answer in enumerate(answers))


def _ident_outcome(value, answer):
    status, body, _ = answer
    if status == 200:
        return "own" if body == value else "another's"
    return str(status)  # 500: "Popped wrong request context"


def lesson_ident(n=100):
    print(
        f"\n== 1. 协程 and the ident: {n} requests meet in their contexts, then read `request` =="
    )
    print("Each row keys 04's two context stacks differently (08_deploy.use_ident). Each")
    print(f"column serves {n} requests at once in one worker process: gthread gives each its own")
    print("OS thread; gevent serves all in one OS thread, a greenlet each; asyncio runs them as")
    print("tasks in one thread and one greenlet. Cells: requests that read their own value.")
    table = common.Table(
        [("stacks keyed by", 28), ("gthread", 10), ("gevent", 10), ("asyncio", 10)]
    )
    details = {}
    for ident, meaning in deployment.IDENT_STRATEGIES.items():
        cells = {}
        for worker_class in ("gthread", "gevent"):
            cells[worker_class] = ident_outcomes(worker_class, ident, n)
        cells["asyncio"] = deployment.asyncio_ident_race(ident, n)
        details[ident] = {k: dict(v) for k, v in cells.items()}
        table.add(meaning.split(":")[0], *(f"{c['own']}/{n}" for c in cells.values()))
    for ident, cells in details.items():
        wrong = {k: {o: c for o, c in v.items() if o != "own"} for k, v in cells.items()}
        print(f"  {ident}: the others: {wrong}")
    print('  (500 is 05\'s `assert rv is self`: "Popped wrong request context".)')
    return details


# ==========================================================================================
# 2. A pool per process
# ==========================================================================================


@contextlib.contextmanager
def database_for_run(settings, prefix="deploy"):
    """A fresh database with 06's tables on this server; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    full = dict(settings, database=name)
    deployment.setup_database(full)
    try:
        yield full
    finally:
        dbserver.drop_database(full, name)


mysql_env = dbserver.mysql_env


class PeakConnections:
    """Samples the server's connections to one database every 20 ms, in a thread: `.peak`."""

    def __init__(self, settings):
        self.settings, self.peak, self._stop = settings, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        admin = pymysql.connect(**sqlhelper.connect_kwargs(self.settings, with_database=False))
        try:
            with admin.cursor() as cur:
                while not self._stop.wait(0.02):
                    cur.execute(
                        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s",
                        (self.settings["database"],),
                    )
                    self.peak = max(self.peak, cur.fetchone()[0])
        finally:
            admin.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def pool_peak(settings, workers, clients=32, seconds=3.0, slow=0.2):
    """06 under gunicorn -w `workers` (gthread, 8 threads), `clients` on /slow: the peak of
    the server's connections from the app, and how the requests were answered."""
    options = ["--worker-class", "gthread", *WORKER_CLASSES["gthread"]]
    app = "08_deploy:create_serve_app()"
    with Gunicorn(app, *options, workers=workers, env=mysql_env(settings)) as server:
        for pid in server.worker_pids():  # every worker opens its pool before the load
            server.get_from(pid, "/slow?seconds=0")
        with PeakConnections(settings) as sampler:
            statuses, bodies, slowest = keep_getting(
                server.address, f"/slow?seconds={slow}", clients, seconds
            )
    return sampler.peak, statuses, bodies, slowest


def lesson_pool(settings, workers_list=(1, 2, 4), clients=32, seconds=3.0, low_limit=None):
    maxconnections = sqlhelper.MAXCONNECTIONS  # each worker's `db` pool
    print(f"\n== 2. A pool per process: 06 under gunicorn -w W, {clients} clients on /slow ==")
    print("Each worker process imports 06 and has its own `db`, so its own pool of at most")
    print(f"maxconnections={maxconnections}. The server's peak connections from the app:")
    table = common.Table(
        [("workers W", 9), ("W x maxconn", 11), ("peak conns", 10), ("200s", 6), ("other", 6)]
    )
    rows = []
    for workers in workers_list:
        with database_for_run(settings) as run_settings:
            peak, statuses, _, _ = pool_peak(run_settings, workers, clients, seconds)
        other = sum(statuses.values()) - statuses[200]
        table.add(workers, workers * maxconnections, peak, statuses[200], other)
        rows.append({"workers": workers, "peak": peak, "statuses": dict(statuses)})
    print("So the server needs max_connections >= W x maxconnections + headroom, for every app")
    print("server that uses it (and admin tools, cron jobs, migrations).")
    result = {"peaks": rows}
    if low_limit is not None and not dbserver.binaries_available():
        print("\n(too few connections: skipped, it starts a throwaway mariadbd, and mariadbd or")
        print("mariadb-install-db is not installed: apt-get install -y mariadb-server)")
    elif low_limit is not None:
        result["too_few"] = lesson_too_few_connections(*low_limit, clients=clients)
    return result


def too_few_connections(workers, max_connections, clients=32, seconds=3.0):
    """The same run against a throwaway mariadbd --max-connections below W x 6: the limit the
    server really applies (MariaDB's least is 10), then pool_peak's numbers."""
    server = dbserver.ThrowawayMariaDB(max_connections=max_connections)
    try:
        server.start()
        applied = server_max_connections(server.settings)
        with database_for_run(server.settings) as run_settings:
            return applied, *pool_peak(run_settings, workers, clients, seconds)
    finally:
        server.destroy()


def server_max_connections(settings):
    conn = pymysql.connect(**sqlhelper.connect_kwargs(settings, with_database=False))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@max_connections")
            return cur.fetchone()[0]
    finally:
        conn.close()


def lesson_too_few_connections(workers, max_connections, clients=32, seconds=3.0):
    applied, peak, statuses, bodies, slowest = too_few_connections(
        workers, max_connections, clients, seconds
    )
    print(
        f"\nAnd with too few: a throwaway mariadbd --max-connections={max_connections} "
        f"(applied: {applied}), below {workers} x 6 = {workers * 6}:"
    )
    print(f"  peak connections {peak}; answers {dict(statuses)}; slowest {slowest:.2f} s")
    for body, count in bodies.most_common(3):
        print(f"  {count} x {body}")
    return {
        "max_connections": applied,
        "peak": peak,
        "statuses": dict(statuses),
        "bodies": dict(bodies),
        "slowest": slowest,
    }


# ==========================================================================================
# 3. A pool opened before the fork
# ==========================================================================================


def fork_answers(settings, per_process, one_at_a_time=20, at_once=16, rounds=3):
    """gunicorn --preload -w 2 with a one-connection pool opened in the master; /connection
    asked `one_at_a_time` times of the two workers in turn, then `rounds` x `at_once` times at
    once. Returns the master's pid and the two lists of answers."""
    app = f"08_deploy:create_app_with_pool_opened_now(per_process={per_process})"
    with Gunicorn(app, "--preload", workers=2, env=mysql_env(settings)) as server:
        pids = server.worker_pids()
        in_turn = [server.get_from(pids[i % 2], "/connection") for i in range(one_at_a_time)]
        together = []
        for _ in range(rounds):
            together += get_all_at_once(server.address, ["/connection"] * at_once, timeout=10)
        return server.process.pid, in_turn, together


def summarize_fork(master, in_turn, together):
    """What the /connection answers say. In turn: which workers answered, whose pool they
    used, on how many server connections, how many of those more than one worker used, and how
    often the connection's last user was another process. At once: how many failed."""
    pids, pool_from, users, crossed = set(), set(), {}, 0
    for status, body, _ in in_turn:
        if status != 200:
            continue
        data = json.loads(body)
        pids.add(data["pid"])
        pool_from.add("master" if data["pool_opened_in"] == master else "itself")
        users.setdefault(data["connection_id"], set()).add(data["pid"])
        crossed += data["last_used_by"] not in (None, data["pid"])
    return {
        "workers": len(pids),
        "pool opened by": " and ".join(sorted(pool_from)) or "-",
        "connections": len(users),
        "used by 2+ workers": sum(1 for pids_of in users.values() if len(pids_of) > 1),
        "last user another": crossed,
        "failed in turn": sum(1 for status, _, _ in in_turn if status != 200),
        "failed at once": sum(1 for status, _, _ in together if status != 200),
        "at once": len(together),
    }


def lesson_fork(settings, one_at_a_time=20, at_once=16, rounds=3):
    print("\n== 3. Where the pool is opened: before the fork, or in each worker ==")
    print("gunicorn --preload -w 2 imports the app in the master, then forks the workers. The")
    print("app opens a one-connection pool at once (as 002's module-level POOL does at import),")
    print("so the connection is the master's. /connection answers which process answered, on")
    print("which server connection (CONNECTION_ID()), and which process used it before")
    print(f"(@used_by). Asked {one_at_a_time} times, the two workers in turn (the other paused")
    print(f"with SIGSTOP for each request), then {rounds} x {at_once} at once:")
    table = common.Table(
        [
            ("the pool in each worker", 29),
            ("workers", 7),
            ("pool from", 9),
            ("conns", 5),
            ("shared", 6),
            ("crossed", 7),
            ("failed at once", 14),
        ]
    )
    rows = {}
    for per_process, label in (
        (False, "kept (InheritedPoolSqlHelper)"),
        (True, "reopened (SqlHelper)"),
    ):
        with database_for_run(settings) as run_settings:
            master, in_turn, together = fork_answers(
                run_settings, per_process, one_at_a_time, at_once, rounds
            )
        row = rows[label] = summarize_fork(master, in_turn, together)
        table.add(
            label,
            row["workers"],
            row["pool opened by"],
            row["connections"],
            row["used by 2+ workers"],
            row["last user another"],
            f"{row['failed at once']}/{row['at once']}",
        )
    print("shared: server connections that more than one worker process talked on.")
    print("crossed: answers whose connection was last used by another process.")
    print("failed: 500 (2014 Command Out of Sync: two processes' replies on one socket) or 503")
    print("(lost connection); after a failure, the worker discards the connection and opens its")
    print("own, so the damage stops there, after a few broken requests.")
    return rows


# ==========================================================================================
# 4. Sessions across workers
# ==========================================================================================


def session_counts(settings, store, workers=4, requests=200, in_turn=False):
    """`requests` GETs on /session, one client with a cookie jar: (how many counted right,
    how many workers answered). Any worker may answer each; in_turn: each worker in turn."""
    app = f'08_deploy:create_serve_app(sessions="{store}")'
    env = mysql_env(settings) if settings else {}
    right, pids, cookie = 0, set(), None
    with Gunicorn(app, workers=workers, env=env) as server:
        workers_pids = server.worker_pids()
        for expected in range(1, requests + 1):
            headers = {"Cookie": cookie} if cookie else {}
            if in_turn:
                pid = workers_pids[expected % len(workers_pids)]
                status, body, headers = server.get_from(pid, "/session", headers)
            else:
                status, body, headers = get(server.address, "/session", headers)
            pids.add(headers.get("X-Worker-Pid"))
            right += status == 200 and body == str(expected)
            set_cookie = headers.get("Set-Cookie")
            if set_cookie:
                cookie = set_cookie.split(";", 1)[0]
    return right, len(pids)


def lesson_sessions(settings, workers=4, requests=200):
    print(f"\n== 4. Sessions across {workers} workers: {requests} requests on /session ==")
    print("One client with a cookie jar asks /session again and again; any worker may answer.")
    print("Right: the counter said 1, 2, 3, ... as it should.")
    table = common.Table([("session store", 66), ("right", 9), ("workers", 7)])
    rows = {}
    for store, meaning in deployment.SESSION_STORES.items():
        with database_for_run(settings) as run_settings:
            right, answered_by = session_counts(run_settings, store, workers, requests)
        rows[store] = {"right": right, "workers": answered_by}
        table.add(meaning, f"{right}/{requests}", answered_by)
    return rows


# ==========================================================================================
# 5. Throughput: ours and Flask 3 under each worker class
# ==========================================================================================


def app_on(framework):
    """bench_lifecycle's app on ours or on Flask 3: gunicorn 'bench_deploy:app_on("ours")'."""
    import bench_lifecycle

    if framework == "ours":
        return bench_lifecycle.build(bench_lifecycle.lifecycle)
    if framework == "flask":
        return bench_lifecycle.build(bench_lifecycle.flask)
    raise ValueError(f"framework {framework!r} is not ours or flask")


def wrk_run(address, seconds, connections):
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            f"http://{address}/item/42?q=x",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, total, int(errors.group(1)) if errors else 0


def throughput(framework, worker_class, workers, seconds, connections):
    options = ["--worker-class", worker_class, *WORKER_CLASSES[worker_class]]
    with Gunicorn(f'bench_deploy:app_on("{framework}")', *options, workers=workers) as server:
        get(server.address, "/item/1?q=warm")
        cpu_before = server.cpu_seconds()
        rps, total, errors = wrk_run(server.address, seconds, connections)
        cpu = server.cpu_seconds() - cpu_before
    return rps, cpu / total * 1e6, errors


def lesson_throughput(rounds=5, seconds=3, workers=1, connections=16):
    print(f"\n== 5. Throughput: the same app on ours and Flask 3, gunicorn -w {workers} ==")
    print(
        f"bench_lifecycle's app; wrk, {connections} connections, {seconds} s a run; {rounds} runs"
    )
    print("each, alternating ours and Flask 3; medians (ratio: of each round's pair). CPU:")
    print("user + system of the master and its workers, per request.")
    table = common.Table(
        [
            ("worker class", 12),
            ("ours req/s", 10),
            ("Flask req/s", 11),
            ("ratio", 6),
            ("ours CPU µs", 11),
            ("Flask CPU µs", 12),
            ("target", 6),
            ("", 4),
        ]
    )
    rows = {}
    for worker_class in WORKER_CLASSES:
        runs = {"ours": [], "flask": []}
        for _ in range(rounds):
            for framework in runs:
                runs[framework].append(
                    throughput(framework, worker_class, workers, seconds, connections)
                )
        ours_rps = common.median([r[0] for r in runs["ours"]])
        flask_rps = common.median([r[0] for r in runs["flask"]])
        ours_cpu = common.median([r[1] for r in runs["ours"]])
        flask_cpu = common.median([r[1] for r in runs["flask"]])
        # Each round's two runs are back to back: their ratio shares the machine's mood.
        ratio = common.median(
            [o[0] / f[0] for o, f in zip(runs["ours"], runs["flask"], strict=True)]
        )
        errors = sum(r[2] for rs in runs.values() for r in rs)
        table.add(
            worker_class,
            ours_rps,
            flask_rps,
            ratio,
            ours_cpu,
            flask_cpu,
            ">= 0.97",
            common.verdict(ratio >= 0.97),
        )
        if errors:
            print(f"  ({errors} answers were not 2xx: these numbers are not worth comparing)")
        rows[worker_class] = {
            "ours_rps": ours_rps,
            "flask_rps": flask_rps,
            "ratio": ratio,
            "ours_cpu_us": ours_cpu,
            "flask_cpu_us": flask_cpu,
            "non_2xx": errors,
        }
    return rows


# ==========================================================================================
# Running gunicorn and talking to it
# ==========================================================================================


class Gunicorn:
    """`gunicorn APP options...` on a free loopback port; `with` waits until every worker has
    loaded the app, and stops the master (and with it the workers) by its pid afterwards."""

    def __init__(self, app, *options, workers=1, env=None, ready_timeout=60):
        self.app, self.workers, self.ready_timeout = app, workers, ready_timeout
        self.port = dbserver.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="gunicorn", suffix=".log")
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            self.address,
            "--workers",
            str(workers),
            "--config",
            READY_HOOKS,
            "--pythonpath",
            f"{common.ROOT},{common.ROOT / 'bench'}",
            "--graceful-timeout",
            "5",
            *options,
            app,
        ]
        self.env = dict(os.environ, **(env or {}))
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            self.command,
            cwd=common.ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _wait_until_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.app} exited: {self.log_tail()}")
            if len(re.findall(r"worker \d+ ready", self.log_text())) >= self.workers:
                return
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn {self.app}: workers not ready: {self.log_tail()}")

    def log_text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_tail(self, lines=8):
        return " | ".join(self.log_text().splitlines()[-lines:])

    def worker_pids(self):
        """The master's children that have not exited (a zombie is still a child)."""
        path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
        with open(path) as f:
            return [int(pid) for pid in f.read().split() if not _exited(int(pid))]

    def cpu_seconds(self):
        """User + system CPU of the master and its workers so far."""
        total = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")

    @contextlib.contextmanager
    def only(self, pid):
        """Every other worker paused (SIGSTOP), so the next connection is `pid`'s to accept:
        a paused worker cannot call accept(). Call it between requests, not during one."""
        workers = self.worker_pids()
        if pid not in workers:
            raise RuntimeError(f"gunicorn worker {pid} is gone: {self.log_tail(20)}")
        others = [other for other in workers if other != pid]
        for other in others:
            os.kill(other, signal.SIGSTOP)
        try:
            yield
        finally:
            gone = []
            for other in others:
                try:
                    os.kill(other, signal.SIGCONT)
                except ProcessLookupError:
                    gone.append(other)
            if gone:
                raise RuntimeError(f"gunicorn workers {gone} died paused: {self.log_tail(20)}")

    def get_from(self, pid, path, headers=None, timeout=10):
        """GET `path` answered by the worker `pid` (see only). The others are paused meanwhile
        and cannot tell gunicorn's master they are alive, so this waits well under its 30 s
        --timeout: a worker that does not answer is an error that shows gunicorn's log."""
        with self.only(pid):
            status, body, headers = get(self.address, path, headers, timeout)
        if status == 0:
            raise RuntimeError(
                f"gunicorn worker {pid} did not answer {path}: {body}: {self.log_tail(20)}"
            )
        return status, body, headers

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn stops its workers, then exits
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def _exited(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in "ZX"  # zombie or dead
    except OSError:
        return True


def get(address, path, headers=None, timeout=30):
    """(status, body text, response headers); status 0 and the error when the server did not
    answer at all."""
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace"), response.headers
    except OSError as exc:
        return 0, f"{type(exc).__name__}: {exc}", {}
    finally:
        conn.close()


def get_all_at_once(address, paths, timeout=30):
    """Every path at once, a thread and a connection each; the answers in the same order."""
    answers = [None] * len(paths)

    def one(i):
        answers[i] = get(address, paths[i], timeout=timeout)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return answers


def keep_getting(address, path, clients, seconds, timeout=30):
    """`clients` threads GET `path` again and again for `seconds`: Counter of statuses, the
    503 bodies seen, and the slowest answer in seconds."""
    statuses, bodies, slowest, lock = Counter(), Counter(), [0.0], threading.Lock()
    end = time.monotonic() + seconds

    def client():
        while time.monotonic() < end:
            start = time.monotonic()
            status, body, _ = get(address, path, timeout=timeout)
            took = time.monotonic() - start
            with lock:
                statuses[status] += 1
                slowest[0] = max(slowest[0], took)
                if status != 200:
                    bodies[body.strip()[:200]] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 5)
    return statuses, bodies, slowest[0]


# ==========================================================================================
# Command line
# ==========================================================================================

LESSONS = ("ident", "pool", "fork", "sessions", "throughput")


def lessons(text):
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in LESSONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"expected some of {','.join(LESSONS)} with commas, got {text!r}"
        )
    return chosen


def database_settings():
    try:
        settings = mysql_settings.settings_from_env()
    except mysql_settings.SettingsError as exc:
        sys.exit(f"bench_deploy.py: {exc}")
    settings.pop("database")
    reason = dbserver.answers(settings)
    if reason:
        sys.exit(
            f"bench_deploy.py: the pool, fork and sessions lessons need MariaDB at "
            f"{settings['host']}:{settings['port']} ({reason}); set MYSQL_* or skip them "
            "with --lessons ident,throughput"
        )
    return settings


def main():
    parser = common.parser(__doc__)
    parser.add_argument(
        "--lessons", type=lessons, default=list(LESSONS), help=f"some of {','.join(LESSONS)}"
    )
    parser.add_argument(
        "--requests",
        type=common.positive(int),
        default=100,
        help="requests at once in the ident lesson (default 100)",
    )
    parser.add_argument(
        "--workers",
        type=common.positive(int),
        default=1,
        help="gunicorn workers in the throughput runs (default 1: wrk gets the other core)",
    )
    parser.add_argument(
        "--seconds",
        type=common.positive(int),
        default=3,
        help="seconds of each wrk run (default 3)",
    )
    parser.add_argument(
        "--rounds",
        type=common.positive(int),
        default=5,
        help="wrk runs per framework and worker class (default 5)",
    )
    args = parser.parse_args()
    if "throughput" in args.lessons and shutil.which("wrk") is None:
        sys.exit("bench_deploy.py: throughput needs wrk: apt-get install -y wrk")
    needs_db = {"pool", "fork", "sessions"} & set(args.lessons)
    settings = database_settings() if needs_db else None
    print(f"bench_deploy: {common.environment('werkzeug', 'flask', 'gunicorn', 'gevent')}")
    results = {}
    if "ident" in args.lessons:
        results["ident"] = lesson_ident(args.requests)
    if "pool" in args.lessons:
        results["pool"] = lesson_pool(settings, low_limit=(2, 10))
    if "fork" in args.lessons:
        results["fork"] = lesson_fork(settings)
    if "sessions" in args.lessons:
        results["sessions"] = lesson_sessions(settings)
    if "throughput" in args.lessons:
        results["throughput"] = lesson_throughput(args.rounds, args.seconds, args.workers)
    common.write_json(args.json, results)


if __name__ == "__main__":
    main()
