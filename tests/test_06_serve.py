"""`python 06_sqlhelper.py serve` over real HTTP, against a real MariaDB."""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

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
def served(test_database):
    server = Serve(test_database)
    yield server
    server.stop()


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


def server_status(admin, name):
    with admin.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
        return int(cur.fetchone()[1])


def test_32_clients_never_exceed_maxconnections(served, mysql_server):
    pool_before = json.loads(request(served.url + "/pool")[1])
    admin = pymysql.connect(ssl_disabled=True, autocommit=True, **mysql_server)
    try:
        with admin.cursor() as cur:
            cur.execute("FLUSH STATUS")  # Max_used_connections := connections open right now
        others = server_status(admin, "Threads_connected") - (
            pool_before["idle"] + pool_before["in_use"]
        )
        results, barrier = [], threading.Barrier(32)

        def client():
            barrier.wait()
            results.append(request(served.url + "/slow?seconds=0.2", timeout=60)[0])

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        elapsed = time.perf_counter() - started
        peak = server_status(admin, "Max_used_connections") - others
    finally:
        admin.close()
    assert results == [200] * 32
    assert 2 <= peak <= MAX_CONNECTIONS
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
