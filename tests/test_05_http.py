"""05_lifecycle over real HTTP on loopback: run_simple's threaded server, and the script itself."""

import html
import http.client
import http.cookiejar
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from conftest import (
    ROOT,
    STEPS_OF_A_REQUEST,
    ScriptProcess,
    free_port,
    load,
    run_script,
    served_by_ours,
    served_in_thread,
    wait_for_port,
)
from werkzeug.test import Client, EnvironBuilder

from instruments import serving

lifecycle = load("05_lifecycle")


@pytest.fixture(scope="module")
def server():
    """The module-level demo app under Werkzeug's threaded dev server, in a thread."""
    with served_in_thread(lifecycle.app) as url:
        yield url


def get(url, headers=None, opener=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


def get_alone(url):
    """GET, then wait until the demo app has closed the response. Werkzeug closes a body
    ~10 ms after sending it; a request arriving meanwhile overlaps it, and a request is only
    recorded when it is the only one in flight. It waits before sending, too."""
    settle()
    answer = get(url)
    settle()
    return answer


def settle():
    deadline = time.monotonic() + 10
    while lifecycle.app.wsgi_app.in_flight:
        assert time.monotonic() < deadline, "the demo app never closed its responses"
        time.sleep(0.001)


@pytest.mark.parametrize(
    "path, status, body",
    [
        ("/index", 200, "hello world"),
        ("/g", 200, "g.x1 = 123; left by an earlier request: None"),
        ("/echo?value=hi&delay=0.01", 200, "hi"),
        ("/echo?value=%E4%BD%A0%E5%A5%BD", 200, "你好"),
        ("/admin/", 200, "blueprint 'admin', g.area = 'admin'"),
    ],
)
def test_demo_routes(server, path, status, body):
    assert get(server + path)[:2] == (status, body)


def test_home_page_links_every_route(server):
    status, body, headers = get(server + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "<title>05_lifecycle</title>" in body and "<table>" in body
    for url, _ in lifecycle.ROUTES:
        assert f'href="{html.escape(url)}"' in body


def test_every_answer_links_to_the_lifecycle_page(server):
    for path in ("/index", "/g", "/boom", "/missing"):
        assert get(server + path)[2]["Link"] == '</lifecycle>; rel="help"', path


def test_favicon_is_answered_quietly(server):
    before = lifecycle.app.recordings.snapshot()
    status, body, _ = get_alone(server + "/favicon.ico")
    assert (status, body) == (204, "")
    assert lifecycle.app.recordings.snapshot()[:1] == before[:1]  # not recorded


def test_echo_answers_plain_text_so_markup_stays_text(server):
    value = "<script>alert(1)</script>"
    status, body, headers = get(f"{server}/echo?" + urllib.parse.urlencode({"value": value}))
    assert (status, body) == (200, value)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    "query",
    ["value=x&delay=abc", "value=x&delay=2", "value=x&delay=-1", "value=x&delay=nan", "delay=0"],
)
def test_echo_bad_input_is_400(server, query):
    assert get(f"{server}/echo?{query}")[0] == 400


def test_session_counter_through_a_cookie_jar(server):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
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
    assert ("/boom", "ZeroDivisionError('division by zero')") in lifecycle.app.teardowns
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
    barrier = threading.Barrier(clients)

    def client(n):
        barrier.wait()
        results[n] = [
            (value, get(f"{server}/echo?value={value}&delay=0.01")[1])
            for value in (f"c{n}-r{i}" for i in range(per_client))
        ]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == clients
    for got in results.values():
        assert [sent for sent, _ in got] == [back for _, back in got]


def test_requests_really_are_in_flight_together():
    """Four views that each wait at one Barrier can only all answer if the server runs them at
    the same time, each with its own request context (no timing luck involved)."""
    app = lifecycle.Flask("together")
    barrier = threading.Barrier(4, timeout=20)

    @app.route("/meet")
    def meet():
        barrier.wait()  # breaks (500) unless four requests are inside views at once
        return lifecycle.request.args["n"]

    answers = {}
    with served_in_thread(app) as url:
        clients = [
            threading.Thread(
                target=lambda n=n: answers.__setitem__(n, get(f"{url}/meet?n={n}")[:2])
            )
            for n in range(4)
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join(60)
    assert answers == {n: (200, str(n)) for n in range(4)}


def test_storage_shows_no_leftover_contexts(server):
    get(server + "/echo?value=warm")
    status, body, _ = get(server + "/storage")
    data = json.loads(body)
    assert status == 200
    # Only the /storage request itself is in flight: one ident in each stack, its own contexts.
    ((req_ident, req_stack),) = data["_request_ctx_stack"].items()
    ((app_ident, app_stack),) = data["_app_ctx_stack"].items()
    assert req_ident == app_ident
    assert len(req_stack) == 1 and "/storage" in req_stack[0]
    assert len(app_stack) == 1 and app_stack[0].startswith("<AppContext")


# --- /lifecycle over HTTP ------------------------------------------------------------------


def test_lifecycle_page_draws_the_last_request_other_than_itself(server):
    get_alone(server + "/g")
    get_alone(server + "/lifecycle")  # not kept: the page still shows /g
    status, body, headers = get_alone(server + "/lifecycle")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "GET <code>/g</code>" in body
    numbers = [n for n in (s.split('"')[0] for s in body.split('data-n000="')[1:]) if n]
    assert numbers == STEPS_OF_A_REQUEST


def test_lifecycle_n_is_the_number_in_the_title_and_bad_n_is_400(server):
    get_alone(server + "/index")
    get_alone(server + "/g")
    newest = lifecycle.app.recordings.snapshot()[0].number
    body = get_alone(f"{server}/lifecycle?n={newest - 1}")[1]
    assert f"<h1>Request #{newest - 1}: GET <code>/index</code></h1>" in body
    # the list names each request by the same number the title and ?n= use
    assert f'<a href="/lifecycle?n={newest}">#{newest} GET /g</a>' in body
    for bad in ("0", str(newest + 1), "x", "-1", "1e3", "%C2%B2", "%D9%A3"):  # ², an Arabic 3
        status, body, _ = get_alone(f"{server}/lifecycle?n={bad}")
        assert status == 400 and "n must be the number of a recent request" in body, bad


def test_lifecycle_page_draws_each_storage_once_and_3_4_under_the_step_that_calls_it(server):
    get_alone(server + "/session")
    body = get_alone(server + "/lifecycle")[1]
    assert "as drawn above" not in body
    headings = [h.split("</h2>")[0] for h in body.split("<h2>")[1:]]
    assert [h.split(":")[0] for h in headings] == ["push", "dispatch", "respond", "pop"]
    assert "3.4 finalize_request" in headings[1]
    # 3.4's box is drawn inside 第3步's box (full_dispatch_request calls finalize_request)
    third = body.index('data-n000="3"')
    assert third < body.index('data-n000="3.4"') < body.index("<h2>respond")


def test_the_narrations_own_request_is_not_listed(tmp_path):
    app = lifecycle.create_app()
    lifecycle.narrate_request(app, out=lambda line: None)
    assert app.recordings.snapshot() == []


def test_lifecycle_page_escapes_what_the_client_sent(server):
    get_alone(server + "/nowhere?q=%3Cscript%3Ealert(1)%3C/script%3E")
    body = get_alone(server + "/lifecycle")[1]
    assert "<script>" not in body
    assert "/nowhere?q=&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_ring_keeps_the_last_twenty(server):
    for i in range(25):
        get_alone(f"{server}/echo?value=r{i}")
    body = get_alone(server + "/lifecycle")[1]
    assert "/echo?value=r24" in body and "/echo?value=r5" in body
    assert "/echo?value=r4<" not in body and "?n=21" not in body


def test_concurrent_requests_each_recorded_whole_when_tracing(server):
    clients, traced = 12, []
    barrier = threading.Barrier(clients)

    def client(i):
        barrier.wait()
        get(f"{server}/echo?value=c{i}&delay=0.05")

    lifecycle.app.wsgi_app.out = lambda number, line: traced.append(number)
    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        lifecycle.app.wsgi_app.out = None
    recent = {r.path: r for r in lifecycle.app.recordings.snapshot()}
    for i in range(clients):
        steps = [s.n000 for s in recent[f"/echo?value=c{i}&delay=0.05"].steps if s.n000]
        assert steps[0] == "1" and steps[-1] == "5.2.1" and steps.count("2.2") == 1
    assert len(set(traced)) == clients


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_request_arriving_while_another_is_recorded_is_served_unrecorded():
    app = lifecycle.create_app()
    inside, release = threading.Event(), threading.Event()

    @app.route("/hold")
    def hold():
        inside.set()
        release.wait(10)
        return "held"

    with served_in_thread(app) as url:
        holder = threading.Thread(target=get, args=(url + "/hold",))
        holder.start()
        assert inside.wait(10)
        assert get(url + "/index")[:2] == (200, "hello world")  # answered meanwhile
        release.set()
        holder.join(10)
        paths = [r.path for r in app.recordings.snapshot()]
    assert paths == ["/hold"]


def test_recording_one_request_copies_its_own_entry_while_200_others_are_in_flight():
    """The bound: each step's snapshot holds the recorded request's own entry and a count of
    the others, not a copy of all of them (which made a crowd cost the square of its size)."""
    app, others = lifecycle.create_app(), 200
    pushed, release = threading.Barrier(others + 1), threading.Event()

    def in_flight(i):
        with app.test_request_context(f"/other/{i}"):
            pushed.wait(10)
            release.wait(10)

    threads = [threading.Thread(target=in_flight, args=(i,)) for i in range(others)]
    for t in threads:
        t.start()
    try:
        pushed.wait(10)
        with Client(app).get("/index") as response:
            assert response.get_data(as_text=True) == "hello world"
    finally:
        release.set()
        for t in threads:
            t.join(10)
    steps = app.recordings.snapshot()[0].steps
    views = [view for step in steps for view in step.storage.values()]
    assert len(steps) > 20 and all(len(view.entries) <= 1 for view in views)
    assert {view.others for view in views} == {others}
    pushing = next(s for s in steps if s.n000 == "2.2")
    (items,) = pushing.storage["_request_ctx_stack"].entries.values()
    assert items == ["<RequestContext GET /index>"]


# --- the script itself --------------------------------------------------------------------


def lc_mask(text):
    """Thread idents and addresses change between runs; nothing else may."""
    import re

    return re.sub(r"0x[0-9a-f]+", "0x…", text)


def test_demo_prints_7_1_then_one_request_numbered_like_the_notes_and_exits():
    first = run_script("05_lifecycle", "--demo")
    assert first.returncode == 0 and first.stderr == ""
    out = first.stdout
    for heading in (
        "== 7.1 项目启动, 截止目前",
        "== 7.2 有用户请求到来: GET /session",
    ):
        assert heading in out
    assert "took the upper-case names ['SECRET_KEY', 'SESSION_COOKIE_SAMESITE']" in out
    assert "and skipped the lower-case ['greeting']" in out
    assert "  /static/<path:filename>    GET,HEAD,OPTIONS       -> static" in out
    assert "  static             -> Flask.send_static_file" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    second = run_script("05_lifecycle", "--demo")
    assert lc_mask(second.stdout) == lc_mask(out)
    assert lc_mask(out) == (ROOT / "tests" / "snapshots" / "05_demo.txt").read_text("utf-8")


def narrated_numbers(lines):
    """(000, 002) of every numbered line of one request's narration."""
    return [
        (line[:8].strip(), line[8:18].strip("() "))
        for line in lines
        if line[:18].strip() and not line.startswith(("signal", "-------"))
    ]


def test_no_number_names_two_steps_in_one_narration():
    """000 and 002 number the same request differently (000's 2.1 is the app context, 002's
    is ctx.push): 002's numbers are set apart, in parentheses, so "2.1" names one step."""
    out = run_script("05_lifecycle", "--only", "request").stdout
    lines = out.split("the same request as a figure")[0].splitlines()[3:]  # the narration
    lines = [line for line in lines if line[:1].isdigit() or line.startswith(" ")]
    n000 = {line[:8].strip() for line in lines} - {""}
    n002 = {line[8:18].strip() for line in lines} - {""}
    assert n000 and n002 and not n000 & n002, n000 & n002
    assert all(re.fullmatch(r"\(\d\.\d( \d\.\d)?\)", n) for n in n002), n002


def test_demo_numbers_every_step_as_000_and_002_do():
    out = run_script("05_lifecycle", "--demo").stdout
    request = []
    for step in ("第1步", "第2步", "第3步", "第5步"):  # a section each, as the notes split them
        request += out.split(f"== {step}:")[1].split("\n\n==")[0].splitlines()[2:]
    assert narrated_numbers(request) == [
        ("1", "1.0"),
        ("", "1.1"),
        ("", "1.2"),
        ("2", "2.0 2.1"),
        ("2.1", ""),
        ("2.2", "2.2"),
        ("", "2.3"),
        ("2.3", ""),
        ("3", "3.0"),
        ("3.1", ""),
        ("3.2", ""),
        ("3.3", "3.1"),
        ("", "3.2"),
        ("", "3.3"),
        ("", "3.4"),
        ("", "3.5"),
        ("", "3.6"),
        ("", "3.7"),
        ("3.4", ""),
        ("3.4.1", ""),
        ("3.4.1.1", ""),
        ("3.4.1.2", ""),
        ("5", "4.0 4.1"),
        ("5.1", ""),
        ("", "4.2"),
        ("", "4.3"),
        ("", "4.4"),
        ("5.2", ""),
        ("5.2.1", ""),
    ]
    text = "\n".join(request)
    # signals in their true place: appcontext_pushed after 2.1's push put the context on
    assert text.index("{'stack': [<AppContext of 05_lifecycle>]}") < text.index(
        "signal                appcontext_pushed"
    )
    assert "-> Set-Cookie: session=eyJjb3VudGVyIjoxfQ.…; HttpOnly; Path=/;\n" in text
    assert "\n" + " " * 29 + "SameSite=Lax\n" in text  # wrapped to stay within 100 columns


@pytest.fixture
def traced():
    port = free_port()
    script = ScriptProcess("05_lifecycle", "--port", str(port), "--trace")
    try:
        script.read_until("serving on http://127.0.0.1")
        wait_for_port(port, script.process)
        yield f"http://127.0.0.1:{port}", script
    finally:
        script.stop()


def test_trace_numbers_each_served_request_and_drops_the_noise(traced):
    url, script = traced
    assert get(url + "/favicon.ico")[0] == 204  # answered, never traced
    assert get(url + "/index")[:2] == (200, "hello world")
    index = [line for line in script.read_until("appcontext_popped") if line.startswith("#")]
    assert get(url + "/nowhere")[0] == 404
    missing = [line for line in script.read_until("appcontext_popped") if line.startswith("#")]
    number = int(index[0].split()[0][1:])  # the narration before serving took the first ones
    assert index[0].startswith(f"#{number} ------- GET /index")
    assert missing[0].startswith(f"#{number + 1} ------- GET /nowhere")
    assert all(line.startswith(f"#{number} ") for line in index)
    text = "\n".join(index + missing)
    assert "favicon" not in text
    assert "-> the session did not change: no Set-Cookie" in text and "Set-Cookie: None" not in text
    assert "dispatch_request(): no rule matched -> raise NotFound" in text
    assert "view_functions[None]" not in text


def test_port_in_use_is_a_one_line_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(ROOT / "05_lifecycle.py"), "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"05_lifecycle.py: cannot listen on 127.0.0.1:{port}: port already in use "
        "(try another --port)"
    ]
    assert result.stdout == ""  # no narration before an error


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "abc"], "port must be a number, got 'abc'"),
        (["--port", "70000"], "port must be from 1 to 65535, got 70000"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--host", "no.such.host.invalid"], "cannot listen on no.such.host.invalid:5000"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    result = subprocess.run(
        [sys.executable, str(ROOT / "05_lifecycle.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_the_recording_server_survives_a_thousand_mixed_requests():
    """Every request is recorded with sys.setprofile; under load that must never crash the
    process (keying recordings by greenlet inside the profile function once segfaulted it)."""
    port = free_port()
    script = ScriptProcess("05_lifecycle", "--port", str(port))
    paths = [
        "/",
        "/lifecycle",
        "/session",
        "/boom",
        "/echo?value=x",
        "/nowhere",
        "/g",
        "/admin/",
        "/storage",
        "/index",
        "/echo",
        "/lifecycle?n=3",
    ]
    answered, barrier = [], threading.Barrier(8)

    def client(n):
        barrier.wait()
        for i in range(125):
            answered.append(get(f"http://127.0.0.1:{port}{paths[(n + i) % len(paths)]}")[0])

    try:
        wait_for_port(port, script.process)
        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert script.process.poll() is None, "the server died"
    finally:
        script.stop()
    assert len(answered) == 1000 and set(answered) <= {200, 400, 404, 500}


# --- broken pipes: `python 05_lifecycle.py --trace | head`, and every script | head -----------


def test_a_closed_stdout_stops_the_trace_and_serving_goes_on():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "05_lifecycle.py"), "--port", str(port), "--trace"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        for line in process.stdout:  # like `| head`: read a while, then go away
            if "serving on" in line:
                break
        process.stdout.close()
        wait_for_port(port, process)
        for _ in range(3):
            assert get(f"http://127.0.0.1:{port}/index")[:2] == (200, "hello world")
    finally:
        process.terminate()
        process.wait(10)
    errors = process.stderr.read()
    process.stderr.close()
    assert "Traceback" not in errors
    assert "05_lifecycle.py: stdout was closed; tracing stops, serving goes on" in errors


@pytest.mark.parametrize(
    "script, args",
    [
        ("01_stack", []),
        ("02_local", []),
        ("03_localstack", []),
        ("04_proxy", []),
        ("05_lifecycle", ["--demo"]),
    ],
)
def test_every_script_piped_into_head_exits_quietly(script, args):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / f"{script}.py"), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.readline()
    process.stdout.close()  # what `| head -1` does once it has its line
    errors = process.stderr.read().decode()
    process.stderr.close()
    process.wait(60)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors


@pytest.mark.parametrize("host", ["no.such.host.invalid", "192.0.2.1"])  # 192.0.2.1: not ours
def test_a_bad_host_gets_a_hint_about_the_host(host):
    result = subprocess.run(
        [sys.executable, str(ROOT / "05_lifecycle.py"), "--host", host],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    (line,) = result.stderr.strip().splitlines()
    assert result.returncode != 0 and line.startswith(f"05_lifecycle.py: cannot listen on {host}:")
    assert line.endswith("(check --host: an address of this machine, e.g. 127.0.0.1 or ::1)")


def test_an_ipv6_host_is_written_in_brackets():
    assert serving.url_of("::1", 5009) == "http://[::1]:5009/"
    assert serving.url_of("127.0.0.1", 5009) == "http://127.0.0.1:5009/"
    port = free_port()
    script = ScriptProcess("05_lifecycle", "--host", "::1", "--port", str(port))
    try:
        lines = script.read_until("serving on")
    finally:
        script.stop()
    assert f"serving on http://[::1]:{port}/" in lines[-1]


def test_a_broken_chunked_body_is_a_400_not_a_traceback(caplog):
    """flask111's Request (08 serves forms on it)."""
    app = load("flask111").Flask("chunked")
    app.route("/form", methods=["POST"])(lambda: dict(lifecycle.request.form))
    with served_in_thread(app) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(
                b"POST /form HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\nZZZ\r\na=1\r\n0\r\n\r\n"
            )
            reply = s.recv(1024)
    assert reply.startswith(b"HTTP/1.1 400"), reply
    assert not any(record.exc_info for record in caplog.records)  # no traceback logged


def test_a_session_value_of_the_wrong_type_starts_a_fresh_count():
    app = lifecycle.create_app()
    signer = lifecycle.SecureCookieSessionInterface().get_signing_serializer(app)
    for forged in ({"counter": "x"}, {"counter": [1]}, {"counter": True}):
        client = Client(app)
        client.set_cookie("session", signer.dumps(forged))
        response = client.get("/session")
        assert (response.status_code, response.text) == (200, "1"), forged


def test_the_served_app_signs_with_secret_key_from_the_environment(monkeypatch):
    said = []
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert serving.use_secret_key(lifecycle.create_app(), say=said.append).secret_key == (
        "from-the-environment"
    )
    monkeypatch.delenv("SECRET_KEY")
    keys = {
        serving.use_secret_key(lifecycle.create_app(), say=said.append).secret_key for _ in "ab"
    }
    assert len(keys) == 2 and lifecycle.DemoConfig.SECRET_KEY not in keys  # random, per start
    assert said == [said[0]] * 2 and said[0].startswith("SECRET_KEY is not set")


def test_home_page_draws_the_descriptions_names_as_code_not_backticks(server):
    body = get(server + "/")[1]
    assert "`" not in body and "read through <code>request</code> after sleeping" in body


def test_the_demo_prints_step_4_and_g():
    out = run_script("05_lifecycle", "--demo").stdout
    step_4 = out.split("== 第4步")[1].split("\n\n==")[0]
    for expected in (
        "handle_user_exception(ZeroDivisionError('division by zero')): response, or raise",
        "\n4                 handle_exception(e): unhandled -> a 500",
        "got_request_exception(exception=ZeroDivisionError('division by zero'))",
        "teardown_request remember_teardown(exc)",
        "request_tearing_down(exc=ZeroDivisionError('division by zero'))",
        "-> 500 INTERNAL SERVER ERROR",
    ):
        assert expected in step_4, expected
    for expected in (
        "request 2: GET /g -> 'g.x1 = 123; left by an earlier request: None'",
        "the notes say its Rule holds methods = [GET,POST]; it holds ['GET', 'HEAD', 'OPTIONS']",
        "does POST /index match? False (a 405)",
        "Flask 1.1.1 has 29 default keys; 05 keeps the 15 that a request here reads",
        "is_null_session(ctx.session): isinstance(obj, NullSession)",
        "GET /session: the test client -> app.__call__ -> app.wsgi_app(environ, start_response)",
        "(3.2)         request = LocalProxy(partial(_lookup_req_object, 'request')), made at",
    ):
        assert expected in out, expected


def test_trace_shows_a_clients_control_characters_escaped(traced):
    """A path, a query value or a header that holds a terminal escape is printed escaped: a
    client must not clear (or color) the terminal of whoever runs --trace."""
    url, script = traced
    hostile = "/echo?value=%1b%5b2J%1b%5b31mCLEARED%07"
    assert get(url + "/%1b%5b2J%1b%5b31mCLEARED")[0] == 404
    lines = script.read_until("appcontext_popped")
    assert get(url + hostile)[0] == 200
    lines += script.read_until("appcontext_popped")
    traced_lines = [line for line in lines if line.startswith("#")]
    assert traced_lines and not any("\x1b" in line or "\x07" in line for line in traced_lines)
    assert any("\\x1b[2J\\x1b[31mCLEARED" in line for line in traced_lines)


def test_a_request_then_lifecycle_shows_that_request_every_time():
    """A client that sends its next request as soon as an answer arrives: the answer is in,
    but the server has not closed its body yet. The request must still be recorded, and
    /lifecycle must draw it, every time (issue 27: 14 to 58 times in 20 to 60). Served with
    instruments.serving's handler, as 05 serves (here on 08's server, which has the same)."""
    with served_by_ours(lifecycle.create_app()) as port:
        url = f"http://127.0.0.1:{port}"
        for i in range(20):
            assert get(f"{url}/echo?value={i}")[:2] == (200, str(i))
            body = get(url + "/lifecycle")[1]
            assert f"GET <code>/echo?value={i}</code>" in body, f"round {i}"


def test_a_request_is_recorded_while_an_earlier_answer_waits_to_be_closed():
    """The server closes a body after the client has it all: a request the client sends then
    finds the earlier one not closed. It is still recorded, and /lifecycle draws it."""
    app = lifecycle.create_app()

    def call(path):
        body = app(EnvironBuilder(path).get_environ(), lambda status, headers: None)
        return body, b"".join(body)

    first, _ = call("/index")  # answered in full, not closed yet
    second, _ = call("/g")
    first.close()
    second.close()
    page, text = call("/lifecycle")
    page.close()
    assert "GET <code>/g</code>" in text.decode()


def test_the_lifecycle_page_shows_a_paths_control_characters_escaped():
    app = lifecycle.create_app()
    client = Client(app)
    assert client.get("/%00nul%1b[31m").status_code == 404
    page = client.get("/lifecycle").get_data(as_text=True)
    assert "\x00" not in page and "\x1b" not in page
    assert "/\\x00nul\\x1b[31m" in page


def test_a_fresh_server_draws_the_narrations_request_until_one_of_yours_arrives():
    """`python 05_lifecycle.py`, then /lifecycle: never empty. Before any request of the
    reader's it draws the narration's (GET /session), labelled so and not numbered; then the
    reader's own."""
    port = free_port()
    script = ScriptProcess("05_lifecycle", "--port", str(port))
    try:
        script.read_until("serving on http://127.0.0.1")
        wait_for_port(port, script.process)
        url = f"http://127.0.0.1:{port}"
        body = get(url + "/lifecycle")[1]
        assert "No request recorded yet" not in body
        assert "<h1>The narration's request: GET <code>/session</code></h1>" in body
        assert "Request #" not in body and 'data-n000="2.1"' in body
        get(url + "/index")
        body = get(url + "/lifecycle")[1]
        assert re.search(r"<h1>Request #\d+: GET <code>/index</code></h1>", body)
        assert "The narration's request" not in body
    finally:
        script.stop()


def test_storage_in_a_browser_is_a_page_with_a_way_back(server):
    """/storage is JSON for a program; a browser (Accept: text/html) gets the same JSON on a
    page with links home and to /lifecycle."""
    status, body, headers = get(server + "/storage", headers={"Accept": "text/html,*/*;q=0.8"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<a href="/">' in body and '<a href="/lifecycle">' in body
    assert "_request_ctx_stack" in body
    status, body, headers = get(server + "/storage")
    assert headers["Content-Type"] == "application/json" and json.loads(body)["_app_ctx_stack"]
