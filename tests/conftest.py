"""Shared helpers: load a numbered script as a module, run it as a program or a server.

A file name that starts with a digit cannot be imported with `import 03_localstack`, so the
scripts are loaded with `importlib.import_module("03_localstack")` (the project root is on
sys.path through pyproject's `pythonpath = ["."]`).
"""

import contextlib
import importlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dbserver
import pytest
from dbserver import free_port, mysql_env  # noqa: F401  (re-exported for the tests)

ROOT = Path(__file__).resolve().parent.parent

# Note 000's numbers of the steps one successful request goes through (第1步–第5步), read from
# 05's table of steps (第4步 is the unhandled error: not part of a successful request).
STEPS_OF_A_REQUEST = [
    step.n000
    for step in importlib.import_module("05_lifecycle").STEPS
    if step.n000 not in ("", "4")
]


# The numbered scripts, in their reading order's numbering.
SCRIPTS = [
    "01_stack",
    "02_local",
    "03_localstack",
    "04_proxy",
    "05_lifecycle",
    "06_sqlhelper",
    "07_flask_basics",
    "08_deploy",
    "09_elsewhere",
    "10_then_and_now",
]


def load(name):
    """Import a numbered script (e.g. "03_localstack") by its module name."""
    return importlib.import_module(name)


def run_script(name, *args, timeout=60, env=None):
    """Run `python <name>.py args...` from the project root; return the CompletedProcess."""
    full_env = dict(os.environ, PYTHONIOENCODING="utf-8", **(env or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / f"{name}.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=full_env,
    )


def run_in_threads(task, count):
    """task(i, barrier) in `count` threads that all wait at one barrier; results in index
    order. (02's run_in_threads is part of its lesson; the tests share this one.)"""
    results, barrier = [None] * count, threading.Barrier(count)

    def runner(i):
        results[i] = task(i, barrier)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@contextlib.contextmanager
def served_in_thread(app):
    """`app` under Werkzeug's threaded dev server on a free port, in a thread of this process;
    yields its base URL, e.g. http://127.0.0.1:40123, and stops the server afterwards."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@contextlib.contextmanager
def served_by_ours(app):
    """`app` under the scripts' own server (instruments.serving, as 05 and 08 serve), in a
    thread of this process, on a free port; yields the port."""
    with server_of_ours(app) as server:
        yield server.port


@contextlib.contextmanager
def server_of_ours(app):
    """The same, yielding the server itself (its tracker counts what it serves)."""
    from instruments import serving

    server = serving.bind("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def table_counts(settings, tables):
    """{table: its row count} on the database of these settings."""
    import pymysql

    sqlhelper = load("06_sqlhelper")
    conn = pymysql.connect(**sqlhelper.connect_kwargs(settings))
    try:
        with conn.cursor() as cur:
            counts = {}
            for table in tables:
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                counts[table] = cur.fetchone()[0]
            return counts
    finally:
        conn.close()


def wait_for_port(port, process=None, timeout=30):
    """Until something accepts on 127.0.0.1:port; fails early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on port {port} within {timeout}s")


class ScriptProcess:
    """`python <script>.py args...` running in the background; its output read line by line."""

    def __init__(self, name, *args, env=None):
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / f"{name}.py"), *args],
            cwd=ROOT,
            env=dict(os.environ, PYTHONIOENCODING="utf-8", **(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def read_until(self, marker, timeout=30):
        """The lines printed up to and including the first one containing `marker`."""
        got, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            got.append(line)
            if marker in line:
                return got
        raise AssertionError(f"never saw {marker!r}; got {got[-20:]}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process.stdout.close()


# --- a real MariaDB for the 06 tests ----------------------------------------------------------


def missing(what, reason):
    """Skip a test whose `what` (a database, Flask 1.1.1's venv) cannot be had here; under CI
    (CI=true), where it must be had, fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is needed under CI: {reason}")
    pytest.skip(f"no {what}: {reason}")


def _no_database(reason):
    missing("database for the DB tests", reason)


@pytest.fixture(scope="session")
def throwaway_factory():
    """Start private mariadbd servers on demand; all are stopped and removed at the end."""
    servers = []

    def make(**options):
        if not dbserver.binaries_available():
            _no_database("mariadbd / mariadb-install-db are not installed")
        server = dbserver.ThrowawayMariaDB(**options)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.destroy()


@pytest.fixture(scope="session")
def mysql_server(throwaway_factory):
    """Connection settings (no database) of a server that answers."""
    settings = dbserver.env_settings()
    reason = dbserver.answers(settings)
    if reason is None:
        return settings
    if not dbserver.binaries_available():
        _no_database(
            f"{settings['host']}:{settings['port']} does not answer ({reason}) and "
            "mariadbd is not installed"
        )
    return throwaway_factory().settings


@pytest.fixture(scope="session")
def test_database(mysql_server):
    """A uniquely named database for this test run, dropped afterwards."""
    name = f"pooltest_{uuid.uuid4().hex[:10]}"
    settings = dict(mysql_server, database=name)
    yield settings
    dbserver.drop_database(mysql_server, name)


def stall_database(pid, seconds, in_full_swing, timeout=60):
    """Once in_full_swing() holds, stop the database process (SIGSTOP: it accepts connections
    and answers nothing) for `seconds`, then let it go on; returns the moment it resumed."""
    deadline = time.monotonic() + timeout
    while not in_full_swing():
        assert time.monotonic() < deadline, "the clients never got going"
        time.sleep(0.01)
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)  # the stall itself: a length of time, not a wait for an event
    finally:
        os.kill(pid, signal.SIGCONT)
    return time.monotonic()


def seconds_until_ok(since, status_of_a_request, timeout=10):
    """How long after `since` a request first answers 200 (fails after `timeout`)."""
    while status_of_a_request() != 200:
        assert time.monotonic() - since < timeout, "the service never came back"
    return time.monotonic() - since


# --- markers: cut the suite by what a test needs (pytest -m "not db and not browser") ------

NEEDS_A_DATABASE = {"mysql_server", "test_database", "throwaway_factory"}
MARKED_BY_FILE = {
    "test_08_deploy.py": "deploy",  # real gunicorn processes
    "test_05_page.py": "browser",  # headless Chromium
    "test_05_flask111.py": "flask111",  # a side venv with Flask 1.1.1 and Werkzeug 1.0.1
    "test_flask111_suite.py": "flask111",  # Flask 1.1.1's source, for its own tests
}


def pytest_collection_modifyitems(items):
    for item in items:
        if NEEDS_A_DATABASE & set(item.fixturenames):
            item.add_marker("db")
        marker = MARKED_BY_FILE.get(item.path.name)
        if marker is not None:
            item.add_marker(marker)
