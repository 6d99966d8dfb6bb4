"""06 and 08's serve tried as a careless user and as an attacker would: bad pool settings, bad
input, huge bodies, names with padding, --help, and what the answers say. Each test failed before
its fix."""

import http.client
import json
import socket
import subprocess
import sys
import time
import uuid

import pytest
from conftest import (
    ROOT,
    ScriptProcess,
    free_port,
    load,
    mysql_env,
    run_script,
    served_by_ours,
    wait_for_port,
)
from werkzeug.test import Client

sqlhelper = load("06_sqlhelper")
deployment = load("08_deploy")


@pytest.fixture(scope="module")
def settings(test_database):
    deployment.setup_database(test_database)
    return test_database


@pytest.fixture
def helper(settings):
    helper = deployment.ServingSqlHelper(sqlhelper.create_pool(settings, mincached=0))
    yield helper
    helper.pool.close()


@pytest.fixture
def client(settings):
    helper = sqlhelper.SqlHelper(sqlhelper.create_pool(settings, mincached=0))
    yield Client(deployment.create_serve_app(helper))
    helper.pool.close()


# --- pool settings (1, 2) -------------------------------------------------------------------


def test_mincached_above_maxconnections_is_refused_in_one_line(settings):
    with pytest.raises(sqlhelper.PoolSettingsError) as info:
        sqlhelper.create_pool(settings, mincached=3, maxconnections=2, blocking=False)
    assert str(info.value) == (
        "mincached=3 is more than maxconnections=2: the pool could never open them "
        "(lower mincached or raise maxconnections)"
    )


@pytest.mark.parametrize("value", [0, -1])
def test_maxconnections_below_one_is_refused(settings, value):
    with pytest.raises(sqlhelper.PoolSettingsError, match="no limit at all in DBUtils"):
        sqlhelper.create_pool(settings, mincached=0, maxconnections=value)


@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_serve_refuses_a_bad_maxconnections_in_one_line(settings, value):
    result = run_script(
        "08_deploy", "serve", "--maxconnections", value, env=mysql_env(settings), timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--maxconnections" in lines[0], result.stderr


def test_serve_with_maxconnections_1_serves(settings):
    port = free_port()
    script = ScriptProcess(
        "08_deploy",
        "serve",
        "--port",
        str(port),
        "--maxconnections",
        "1",
        env=mysql_env(settings),
    )
    try:
        wait_for_port(port, script.process, timeout=30)
        answer = client_get(port, "/pool")
        assert answer["maxconnections"] == 1 and answer["in_use"] == 0
    finally:
        script.stop()


def client_get(port, path):
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


# --- what a 503 says (4) --------------------------------------------------------------------


def test_unreachable_database_is_said_in_words(settings):
    closed = free_port()
    helper = sqlhelper.SqlHelper(sqlhelper.create_pool(dict(settings, port=closed), mincached=0))
    response = Client(deployment.create_serve_app(helper)).get("/users")
    assert response.status_code == 503
    assert response.json == {
        "error": f"database unavailable: cannot reach MySQL at 127.0.0.1:{closed}"
    }


def test_an_exhausted_pool_is_said_in_words(settings):
    helper = sqlhelper.SqlHelper(
        sqlhelper.create_pool(settings, mincached=0, maxconnections=1, blocking=False)
    )
    held = helper.pool.connection()
    try:
        response = Client(deployment.create_serve_app(helper)).get("/users")
    finally:
        held.close()
    assert response.status_code == 503
    assert response.json == {
        "error": "database unavailable: pool exhausted (all 1 connections in use)"
    }


# --- request size, names (5, 6) ---------------------------------------------------------


def test_a_body_over_64_kb_is_413_before_it_is_read(client):
    response = client.post("/users", data={"name": "x" * 100_000})
    assert response.status_code == 413


@pytest.mark.parametrize("blank", ["", "   ", "\t \n"])
def test_blank_names_are_refused(client, blank):
    assert client.post("/users", data={"name": blank}).status_code == 400


def test_names_are_stripped_and_the_filter_is_exact(client):
    created = client.post("/users", data={"name": "  bob  "}).json
    assert created["name"] == "bob"
    client.post("/users", data={"name": "bobby"})
    assert [u["name"] for u in client.get("/users?name=bob").json] == ["bob"]
    assert client.get("/users?name=bob%20%20").json == []  # MariaDB pads; we compare bytes
    assert client.get("/users?name=BOB").json == []


# --- --help, the home page, JSON (7, 8) -------------------------------------------------


@pytest.mark.parametrize(
    "script, args",
    [
        ("06_sqlhelper", ["--help"]),
        ("08_deploy", ["--help"]),
        ("08_deploy", ["serve", "--help"]),
        ("08_deploy", ["demo", "--help"]),
    ],
)
def test_help_exits_0_and_explains_every_flag(script, args):
    result = subprocess.run(
        [sys.executable, str(ROOT / f"{script}.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0 and result.stderr == ""
    assert "MYSQL_HOST" in result.stdout
    if args[0] == "serve":
        for flag in ("--host", "--port", "--maxconnections", "--nonblocking"):
            assert flag in result.stdout


def test_home_page_lists_the_database_routes(client):
    page = client.get("/").text
    for route in ("/users", "/slow?seconds=0.2", "/pool", "/case", "/session"):
        assert f'href="{route}"' in page


def test_json_keeps_chinese_readable_and_says_utf_8(client):
    response = client.post("/users", data={"name": "你好"})
    assert response.status_code == 201
    assert "你好".encode() in response.get_data()
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_minus_zero_seconds_is_zero(client):
    assert client.get("/slow?seconds=-0").json == {"slept": 0.0}
    assert client.get("/slow?seconds=-0").get_data() == b'{"slept":0.0}\n'


@pytest.mark.parametrize("script", ["06_sqlhelper", "08_deploy"])
def test_the_demo_piped_into_head_exits_quietly(settings, script):
    import os

    process = subprocess.Popen(
        [sys.executable, str(ROOT / f"{script}.py")],
        cwd=ROOT,
        env=dict(os.environ, **mysql_env(settings)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.readline()
    process.stdout.close()
    errors = process.stderr.read().decode()
    process.stderr.close()
    process.wait(120)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors


def _without(missing, code):
    """Run `code` in a Python where importing `missing` fails, as before `pip install -r
    requirements.txt`: (exit status, stdout, stderr lines)."""
    code = f"import sys; sys.modules[{missing!r}] = None; " + code
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    return result.returncode, result.stdout, result.stderr.strip().splitlines()


@pytest.mark.parametrize("missing", ["pymysql", "dbutils"])
@pytest.mark.parametrize(
    "script, argv", [("06_sqlhelper", []), ("08_deploy", []), ("08_deploy", ["serve"])]
)
def test_run_without_the_requirements_says_what_to_install(missing, script, argv):
    run = f"import runpy; sys.argv = ['{script}.py', *{argv!r}]; "
    run += f"runpy.run_path('{script}.py', run_name='__main__')"
    status, _, lines = _without(missing, run)
    assert status == 1 and lines == [
        f"{script}.py needs {missing}: pip install -r requirements.txt"
    ], lines


@pytest.mark.parametrize("missing", ["pymysql", "dbutils"])
@pytest.mark.parametrize("script", ["06_sqlhelper", "08_deploy"])
def test_without_the_requirements_it_imports_and_explains_itself(missing, script):
    # Importing connects to nothing, so it needs nothing; --help works everywhere (defect 7).
    status, out, lines = _without(
        missing,
        f"import runpy; sys.argv = ['{script}.py', '--help']; "
        f"runpy.run_path('{script}.py', run_name='__main__')",
    )
    assert status == 0 and "MYSQL_HOST" in out and not lines, lines
    status, out, lines = _without(
        missing,
        "sys.path.insert(0, '.'); import importlib\n"
        f"script = importlib.import_module('{script}')\n"
        "try:\n    script.db.fetchone('SELECT 1')\nexcept ImportError as exc:\n    print(exc)",
    )
    assert status == 0 and out.strip() == (
        f"06_sqlhelper.py needs {missing}: pip install -r requirements.txt"
    ), (out, lines)


# --- an idempotent POST, one format per route family, pages, NUL (issue 16, 3 and 5) -------


def post(client, name, key=None):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post("/users", data={"name": name}, headers=headers)


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_stores_nothing(
    client,
):
    key = uuid.uuid4().hex
    first, retry = post(client, "idem-user", key), post(client, "idem-user", key)
    assert first.status_code == retry.status_code == 201 and first.json == retry.json
    rows = client.get("/users?name=idem-user").json
    assert [row["id"] for row in rows] == [first.json["id"]]


def test_an_idempotency_key_used_for_another_name_or_malformed_is_refused(client):
    key = uuid.uuid4().hex
    assert post(client, "first-name", key).status_code == 201
    reused = post(client, "other-name", key)
    assert reused.status_code == 422 and "was used for another request" in reused.json["error"]
    for bad in ("", "has space", "x" * 65, "é"):
        answer = post(client, "any", bad)
        assert answer.status_code == 400 and "Idempotency-Key" in answer.json["error"], bad


def test_a_nul_character_in_a_name_is_refused(client):
    answer = post(client, "nul\x00name")
    assert answer.status_code == 400 and answer.json == {"error": "name contains a NUL character"}


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("POST", "/users", 400),
        ("GET", "/users/999999999", 404),
        ("GET", "/users/abc", 404),
        ("PUT", "/users", 405),
        ("GET", "/slow?seconds=9", 400),
        ("GET", "/users?limit=0", 400),
        ("GET", "/users?limit=%C2%B2", 400),  # '²'.isdigit() is True; int('²') fails
        ("GET", "/users?after=%C2%B2", 400),
        ("GET", "/users?after=%D9%A3", 400),  # an Arabic-Indic 3: int() takes it, SQL may not
    ],
)
def test_the_json_routes_answer_errors_in_json(client, method, path, status):
    answer = client.open(path, method=method)
    assert answer.status_code == status
    assert answer.mimetype == "application/json" and answer.json["error"], answer.text


def test_a_413_on_a_json_route_is_json_and_05s_pages_stay_html(client):
    answer = client.post("/users", data={"name": "x" * (70 * 1024)})
    assert answer.status_code == 413 and answer.mimetype == "application/json"
    assert client.get("/nowhere").mimetype == "text/html"


def test_users_come_in_pages_with_a_link_to_the_next(client):
    ids = [post(client, f"paged-{i}").json["id"] for i in range(5)]
    after = ids[0] - 1
    first = client.get(f"/users?limit=2&after={after}")
    assert [u["id"] for u in first.json] == ids[:2]
    assert f'</users?limit=2&after={ids[1]}>; rel="next"' in first.headers.getlist("Link")
    second = client.get(f"/users?limit=2&after={ids[1]}")
    assert [u["id"] for u in second.json] == ids[2:4]


def test_a_chunked_body_over_64_kb_is_413_not_cut_and_stored(client, settings):
    body = b"name=chunked-cut&pad=" + b"x" * 100_000  # cut at 64 kB, name= alone looked fine
    with served_by_ours(client.application) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.putrequest("POST", "/users")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.endheaders()
        for i in range(0, len(body), 8192):
            part = body[i : i + 8192]
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        conn.send(b"0\r\n\r\n")
        assert conn.getresponse().status == 413
    assert client.get("/users?name=chunked-cut").json == []


def test_after_a_413_the_rest_of_a_huge_body_is_not_read(client):
    """Werkzeug reads what is left of a body after answering (up to 10 GB); the server closes
    the connection instead: the client's sending fails long before its 200 MB are out."""
    sent, size = 0, 200 * 1024 * 1024
    with served_by_ours(client.application) as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(
            b"POST /users HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % size
        )
        chunk = b"x" * 65536
        with pytest.raises(OSError):  # reset or broken pipe: the server closed
            while sent < size:
                sent += sock.send(chunk)
        sock.close()
    assert sent < size // 4, sent


# --- serve's app on a helper of the test's own (moved from test_06_sqlhelper.py) ---------


def test_pool_exhausted_without_blocking_is_503(settings):
    helper = sqlhelper.SqlHelper(
        sqlhelper.create_pool(settings, mincached=0, maxconnections=1, blocking=False)
    )
    client = Client(deployment.create_serve_app(helper))
    held = helper.pool.connection()
    try:
        response = client.get("/users")
        assert response.status_code == 503
        assert response.json == {
            "error": "database unavailable: pool exhausted (all 1 connections in use)"
        }
    finally:
        held.close()
    assert client.get("/users").status_code == 200


def test_sql_error_is_500_and_the_app_keeps_serving(settings):
    missing_table = sqlhelper.SqlHelper(sqlhelper.create_pool(settings, mincached=0))
    client = Client(deployment.create_serve_app(missing_table))
    missing_table.fetchone("RENAME TABLE tb1 TO tb1_away")
    try:
        assert client.get("/users").status_code == 500
    finally:
        missing_table.fetchone("RENAME TABLE tb1_away TO tb1")
    assert client.get("/users").status_code == 200
    assert client.get("/index").text == "hello world"


def test_wrong_password_is_one_line(mysql_server):
    env = mysql_env(dict(mysql_server, password="definitely-wrong"))
    result = run_script("08_deploy", "serve", "--port", "5999", env=env, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "(1045) Access denied" in lines[0], result.stderr


def test_the_2_3_case_route_uses_sqlhelper_on_the_same_pool(settings, monkeypatch):
    helper = sqlhelper.SqlHelper(sqlhelper.create_pool(settings, mincached=0))
    monkeypatch.setattr(sqlhelper, "db", helper)
    helper.execute("INSERT INTO tb1 (name) VALUES (%s)", "case")
    answer = Client(deployment.create_serve_app(helper)).get("/case").json
    assert answer["same pool as /users"] is True
    assert answer["StaticSqlHelper.fetch_one('select * from tb1 limit 1', [])"][1]
    helper.pool.close()


def test_the_narration_shows_a_timed_out_write_stored_and_the_key_keeping_a_retry_single(
    helper, settings, capsys
):
    deployment.demo_ambiguous_write(helper, settings)
    out = capsys.readouterr().out
    assert (
        "no answer in 0.5 s -> (2013) Lost connection to MySQL server during query (timed out)"
        in out
    )
    assert "yet the server finished it: 1 row." in out
    assert "so a blind retry stores it twice: 2 rows" in out
    assert "the first answer again: True; 1 row" in out


def test_a_413_for_a_body_sent_whole_closes_its_connection_at_once(client):
    """A client that sent all of a body too large, and waits: the server has nothing more to
    read, and closes the connection once it has answered (it held it for the 10 s idle
    timeout, reading for bytes that never came)."""
    size = 200 * 1024
    with served_by_ours(client.application) as port:
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        sock.sendall(
            b"POST /users HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % size + b"x" * size
        )
        started, answer = time.monotonic(), b""
        while chunk := sock.recv(65536):  # until the server closes
            answer += chunk
        closed_after = time.monotonic() - started
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413")
    assert closed_after < 2, closed_after
