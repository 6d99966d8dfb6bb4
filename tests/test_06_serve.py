"""`python 06_sqlhelper.py serve` over real HTTP, against a real MariaDB."""

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import dbserver
import pymysql
import pytest
from conftest import ScriptProcess, free_port, mysql_env, wait_for_port

MAX_CONNECTIONS = 6


def request(url, data=None, timeout=30):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, data=body, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Serve:
    """`06_sqlhelper.py serve` in a subprocess (its output read as it comes)."""

    def __init__(self, settings, *args):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.script = ScriptProcess(
            "06_sqlhelper", "serve", "--port", str(self.port), *args, env=mysql_env(settings)
        )
        self.process = self.script.process
        wait_for_port(self.port, self.process)

    def stop(self):
        self.script.stop()


@pytest.fixture(scope="module")
def served(test_database, mysql_server):
    """`serve` on a database of its own, so the process list counts its connections only
    (the other modules' pools and closing connections use test_database)."""
    settings = dict(test_database, database=f"{test_database['database']}_serve")
    server = Serve(settings)
    server.database = settings["database"]
    yield server
    server.stop()
    dbserver.drop_database(mysql_server, settings["database"])


def test_users_create_list_filter_get(served):
    status, body = request(served.url + "/users", {"name": "alice"})
    assert status == 201
    created = json.loads(body)
    assert created["name"] == "alice" and isinstance(created["id"], int)
    request(served.url + "/users", {"name": "bob"})
    status, body = request(served.url + "/users")
    names = [u["name"] for u in json.loads(body)]
    assert status == 200 and "alice" in names and "bob" in names
    status, body = request(served.url + "/users?name=alice")
    assert status == 200 and {u["name"] for u in json.loads(body)} == {"alice"}
    status, body = request(f"{served.url}/users/{created['id']}")
    assert (status, json.loads(body)) == (200, created)


def test_hostile_name_over_http_is_stored_verbatim(served):
    name = "x'); DROP TABLE tb1; -- 你好 😀"
    status, body = request(served.url + "/users", {"name": name})
    assert status == 201
    status, body = request(served.url + "/users?" + urllib.parse.urlencode({"name": name}))
    assert [u["name"] for u in json.loads(body)] == [name]


@pytest.mark.parametrize(
    "path, data",
    [
        ("/users", {}),
        ("/users", {"name": ""}),
        ("/users", {"name": "x" * 65}),
        ("/slow?seconds=abc", None),
        ("/slow?seconds=2", None),
        ("/slow?seconds=-1", None),
    ],
)
def test_bad_input_is_400(served, path, data):
    assert request(served.url + path, data)[0] == 400


def test_missing_user_is_404(served):
    assert request(served.url + "/users/999999999")[0] == 404


def test_slow_and_05s_routes(served):
    assert request(served.url + "/slow?seconds=0.05") == (200, '{"slept":0.05}\n')
    assert request(served.url + "/index") == (200, "hello world")


def app_connections(admin, database):
    """The server's connections to this run's own database: the app's, nobody else's."""
    with admin.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s", (database,)
        )
        return cur.fetchone()[0]


def test_32_clients_never_exceed_maxconnections(served, mysql_server):
    admin = pymysql.connect(ssl_disabled=True, autocommit=True, **mysql_server)
    results, barrier, done = [], threading.Barrier(33), threading.Event()
    samples = []

    def client():
        barrier.wait()
        results.append(request(served.url + "/slow?seconds=0.2", timeout=60)[0])

    try:
        threads = [threading.Thread(target=client) for _ in range(32)]
        for t in threads:
            t.start()
        barrier.wait()  # the 32 clients are off; count the app's connections while they run
        started = time.perf_counter()
        waiter = threading.Thread(target=lambda: [t.join(120) for t in threads] and done.set())
        waiter.start()
        while not done.is_set() and len(samples) < 2000:
            samples.append(app_connections(admin, served.database))
        waiter.join(130)
        elapsed = time.perf_counter() - started
    finally:
        admin.close()
    assert results == [200] * 32
    # Counted in the process list, by database: the server's other clients do not count.
    assert 2 <= max(samples) <= MAX_CONNECTIONS, samples
    assert elapsed >= 32 * 0.2 / MAX_CONNECTIONS * 0.9  # six at a time, not thirty-two
    pool_after = json.loads(request(served.url + "/pool")[1])
    assert pool_after["in_use"] == 0 and pool_after["maxconnections"] == MAX_CONNECTIONS


def test_database_restart_gives_503_then_recovers(throwaway_factory):
    server = throwaway_factory()
    settings = dict(server.settings, database="restart_test")
    served = Serve(settings)
    try:
        assert request(served.url + "/users", {"name": "before"})[0] == 201
        server.stop()
        for _ in range(3):
            status, body = request(served.url + "/users")
            assert status == 503, body
            assert json.loads(body)["error"].startswith("database unavailable: ")
        assert request(served.url + "/index") == (200, "hello world")  # the rest still serves
        server.start()
        deadline, status = time.monotonic() + 30, None
        while time.monotonic() < deadline and status != 200:
            status, body = request(served.url + "/users")
            time.sleep(0.2)
        assert status == 200 and [u["name"] for u in json.loads(body)] == ["before"]
        assert json.loads(request(served.url + "/pool")[1])["in_use"] == 0
    finally:
        served.stop()


def test_a_hung_database_gives_503s_within_seconds_then_recovers(throwaway_factory):
    """The server stopped (SIGSTOP: it accepts connections and never answers). Each request's
    503 must come within ~5 s, not after minutes of retries, and service comes back alone."""
    server = throwaway_factory()
    served = Serve(dict(server.settings, database="hung_test"))
    answers = [None] * 8
    try:
        assert request(served.url + "/users", {"name": "before"})[0] == 201
        os.kill(server.process.pid, signal.SIGSTOP)
        barrier = threading.Barrier(8)

        def client(i):
            barrier.wait()
            started = time.perf_counter()
            status, body = request(served.url + "/users", timeout=60)
            answers[i] = (status, json.loads(body)["error"], time.perf_counter() - started)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        os.kill(server.process.pid, signal.SIGCONT)
        deadline, status = time.monotonic() + 30, None
        while time.monotonic() < deadline and status != 200:
            status, body = request(served.url + "/users")
        assert status == 200 and [u["name"] for u in json.loads(body)] == ["before"]
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        served.stop()
    for status, error, seconds in answers:
        assert status == 503 and error.startswith("database unavailable: MySQL at ")
        assert seconds < 6, answers  # 2 s read timeout + 2 s for the retry's handshake


def test_ctrl_c_with_database_requests_in_flight_finishes_them_and_exits_0(
    test_database, mysql_server
):
    """Stop accepting, let the requests in flight finish, close the pool, exit 0: no thread is
    left holding a connection while the interpreter shuts down (that aborted with a fatal
    error in DBUtils' __del__)."""
    server = Serve(test_database)
    answers, in_flight = [], 3
    try:
        threads = [
            threading.Thread(target=lambda: answers.append(request(f"{server.url}/slow?seconds=1")))
            for _ in range(in_flight)
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while json.loads(request(server.url + "/pool")[1])["in_use"] < in_flight:
            assert time.monotonic() < deadline, "the slow requests never held their connections"
        server.process.send_signal(signal.SIGINT)
        for t in threads:
            t.join(15)
        assert answers == [(200, '{"slept":1.0}\n')] * in_flight
        assert server.process.wait(15) == 0
        output = "\n".join(server.script.read_until("stopped", timeout=5))
        assert "Fatal" not in output and "Traceback" not in output
    finally:
        server.stop()
