"""05_lifecycle over real HTTP on loopback: run_simple's threaded server, and the script itself."""

import http.client
import http.cookiejar
import json
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import ROOT, load
from werkzeug.serving import make_server

lc = load("05_lifecycle")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """The module-level demo app under Werkzeug's threaded dev server, in a thread."""
    srv = make_server("127.0.0.1", 0, lc.app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(5)


def get(url, headers=None, opener=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


@pytest.mark.parametrize("path, status, body", [
    ("/index", 200, "hello world"),
    ("/g", 200, "123"),
    ("/echo?value=hi&delay=0.01", 200, "hi"),
    ("/echo?value=%E4%BD%A0%E5%A5%BD", 200, "你好"),
    ("/admin/", 200, "blueprint 'admin', g.area = 'admin'"),
])
def test_demo_routes(server, path, status, body):
    assert get(server + path)[:2] == (status, body)


def test_home_page_lists_the_routes(server):
    status, body, headers = get(server + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    for url, _ in lc.ROUTES:
        assert f'href="{url}"' in body


@pytest.mark.parametrize("query", ["value=x&delay=abc", "value=x&delay=2", "value=x&delay=-1",
                                   "value=x&delay=nan", "delay=0"])
def test_echo_bad_input_is_400(server, query):
    assert get(f"{server}/echo?{query}")[0] == 400


def test_session_counter_through_a_cookie_jar(server):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    assert [get(server + "/session", opener=opener)[1] for _ in range(3)] == ["1", "2", "3"]
    assert get(server + "/session")[1] == "1"  # another client, another session


def test_garbage_cookie_does_no_harm(server):
    assert get(server + "/session", headers={"Cookie": "session=garbage.%%%.!!"})[:2] == (200, "1")
    assert get(server + "/session", headers={"Cookie": "session=" + "A" * 3000})[:2] == (200, "1")


def test_404_and_405_with_allow(server):
    assert get(server + "/missing")[0] == 404
    conn = http.client.HTTPConnection(server.split("//")[1], timeout=10)
    conn.request("POST", "/index")
    response = conn.getresponse()
    assert response.status == 405
    assert set(response.getheader("Allow").split(", ")) == {"GET", "HEAD", "OPTIONS"}
    conn.close()


def test_boom_is_500_teardown_runs_and_the_server_keeps_serving(server):
    status, body, _ = get(server + "/boom")
    assert status == 500 and "Internal Server Error" in body
    assert ("/boom", "ZeroDivisionError('division by zero')") in lc.app.teardowns
    assert get(server + "/index")[:2] == (200, "hello world")


def test_malformed_request_line_does_no_harm(server):
    host, port = server.split("//")[1].split(":")
    for garbage in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"\x00\xff\xfe junk\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(garbage)
            reply = s.recv(1024)
        # A one-word request line is answered HTTP/0.9-style: no status line, a 400 page.
        assert b"400" in reply and b"Bad request" in reply
    assert get(server + "/index")[0] == 200


def test_concurrent_clients_each_get_their_own_value(server):
    clients, per_client = 16, 25
    results = {}
    intervals = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(n):
        barrier.wait()
        got = []
        for i in range(per_client):
            value = f"c{n}-r{i}"
            start = time.perf_counter()
            got.append((value, get(f"{server}/echo?value={value}&delay=0.01")[1]))
            with lock:
                intervals.append((start, time.perf_counter()))
        results[n] = got

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == clients
    for got in results.values():
        assert [sent for sent, _ in got] == [back for _, back in got]
    assert max_overlap(intervals) >= 4  # the requests really were in flight together


def max_overlap(intervals):
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = best = 0
    for _, delta in events:
        current += delta
        best = max(best, current)
    return best


def test_storage_shows_no_leftover_contexts(server):
    get(server + "/echo?value=warm")
    status, body, _ = get(server + "/storage")
    data = json.loads(body)
    assert status == 200
    # Only the /storage request itself is in flight: one ident in each stack, its own contexts.
    (req_ident, req_stack), = data["_request_ctx_stack"].items()
    (app_ident, app_stack), = data["_app_ctx_stack"].items()
    assert req_ident == app_ident
    assert len(req_stack) == 1 and "/storage" in req_stack[0]
    assert len(app_stack) == 1 and app_stack[0].startswith("<AppContext")


# --- the script itself --------------------------------------------------------------------


def start_script(*args):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "05_lifecycle.py"), *args], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                     daemon=True).start()
    return process, lines


def wait_for_port(port, process, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server did not start")


def collect_until(lines, marker, timeout=15):
    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        got.append(line.rstrip("\n"))
        if marker in line:
            return got
    raise AssertionError(f"never saw {marker!r} in {got}")


def test_trace_prints_the_numbered_steps_in_order():
    port = free_port()
    process, lines = start_script("--port", str(port), "--trace")
    try:
        wait_for_port(port, process)
        assert get(f"http://127.0.0.1:{port}/session")[:2] == (200, "1")
        trace = collect_until(lines, "app_ctx popped")
    finally:
        process.terminate()
        process.wait(10)
    steps = [line.split()[1] for line in trace if line.startswith("#1 ")]
    assert steps == ["-------", "1", "2", "signal", "2.1", "2.2", "2.3", "2.x", "3", "3.1",
                     "signal", "3.2", "3.3", "3.4", "3.4.1", "3.4.1.2", "signal", "5", "5.1",
                     "signal", "5.2", "5.2.1", "signal", "signal", "5.2"]
    text = "\n".join(trace)
    assert "3.4.1.2 save_session({'counter': 1}) -> Set-Cookie: session=" in text
    assert "#1 5.2     app_ctx popped -> _request_ctx_stack={} _app_ctx_stack={}" in text


def test_port_in_use_is_a_one_line_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, str(ROOT / "05_lifecycle.py"), "--port",
                                 str(port)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"05_lifecycle.py: cannot listen on 127.0.0.1:{port}: port already in use "
        "(try another --port)"]


@pytest.mark.parametrize("args, message", [
    (["--port", "abc"], "port must be a number, got 'abc'"),
    (["--port", "70000"], "port must be from 1 to 65535, got 70000"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--host", "no.such.host.invalid"], "cannot listen on no.such.host.invalid:5000"),
])
def test_bad_arguments_are_one_line_errors(args, message):
    result = subprocess.run([sys.executable, str(ROOT / "05_lifecycle.py"), *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
