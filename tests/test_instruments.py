"""The instruments are handed what they watch: the recorder behind the narration, --trace and
/lifecycle takes the app, the step table (the functions themselves, with 000's and 002's
numbers), the two stacks, the proxies and the signals; it takes no module, reads no private name
of a lesson and names no script; and no lesson calls into it."""

import ast
import inspect
import re
import select
import socket
import time

from conftest import ROOT, load, served_by_ours, server_of_ours
from werkzeug.test import Client

from instruments import figure, recorder, sections, serving, watching

lifecycle = load("05_lifecycle")
INSTRUMENTS = sorted((ROOT / "instruments").glob("*.py"))


def test_watch_is_handed_the_step_table_the_stacks_the_proxies_and_the_signals():
    assert list(inspect.signature(watching.watch).parameters) == [
        "app", "steps", "stacks", "proxies", "signals", "get_ident", "storage_view", "idents_in",
    ]  # fmt: skip
    assert set(lifecycle.WATCHED) == set(inspect.signature(watching.watch).parameters) - {"app"}
    assert lifecycle.WATCHED["steps"] is lifecycle.STEPS
    assert lifecycle.WATCHED["stacks"]["_request_ctx_stack"] is lifecycle._request_ctx_stack
    assert lifecycle.WATCHED["proxies"]["request"] is lifecycle.request


def code_of(path):
    """The file's code without its comments and docstrings' prose: what it runs."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'"""(.|\n)*?"""', '""', text)
    return "\n".join(line.split("#")[0] for line in text.splitlines())


def test_the_instruments_name_no_script_and_read_no_private_name_of_a_lesson():
    private = [
        "._local",
        "__storage__.",
        "_got_first_request",
        "_LocalProxy__",
        "_getframe",
        "localstack.",
        "localproxy.",
        "module.",
    ]
    for path in INSTRUMENTS:
        code = code_of(path)
        assert not re.search(r"\b0\d_[a-z]+", code), path.name
        for name in private:
            assert name not in code, (path.name, name)
        # paste.py writes `importlib.import_module(...)` lines for a pasted block; it imports
        # no script itself (no importlib among its own imports)
        assert "import_module" not in code or path.name in ("sections.py", "paste.py"), path.name
    imported = {
        alias.name
        for node in ast.parse((ROOT / "instruments" / "paste.py").read_text()).body
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert "importlib" not in imported


def test_no_lesson_calls_into_the_recorder():
    for script in ("05_lifecycle", "07_flask_basics", "08_deploy", "09_elsewhere", "flask111"):
        code = code_of(ROOT / f"{script}.py")
        assert "recorder" not in code, script
        assert "wsgi_app.narrating" not in code and "wsgi_app.wsgi_app" not in code, script


def numbered_lines(app, path="/index"):
    """(000's number, 002's numbers) of each numbered line a narrated request prints."""
    lines = []
    with watching.narrating(app, lines.append), Client(app).get(path):
        pass
    return [
        (line[:8].strip(), line[8:18].strip("() ").split())
        for line in lines
        if line[:18].strip() and not line.startswith(("signal", "-------"))
    ]


def test_the_recorder_follows_the_step_table_it_is_handed():
    """Handed a table of three rows, it records those three steps and nothing else."""
    chosen = [s for s in lifecycle.STEPS if s.n000 in ("1", "3.3", "5")]
    app = lifecycle.Flask("watched")
    app.route("/index")(lambda: "hello world")
    watching.watch(app, **{**lifecycle.WATCHED, "steps": chosen})
    assert numbered_lines(app) == [("1", ["1.0"]), ("3.3", ["3.1"]), ("5", ["4.0", "4.1"])]


def test_the_recorder_numbers_each_step_as_the_table_does():
    app = lifecycle.create_app()
    recorded = [(n000, n002) for n000, n002 in numbered_lines(app, "/session") if n000]
    table = [(s.n000, s.n002.split()) for s in lifecycle.STEPS if s.n000 and s.n000 != "4"]
    assert recorded == table


def test_unwatch_gives_the_app_its_own_wsgi_app_back():
    app = lifecycle.create_app()
    assert isinstance(app.wsgi_app, recorder.RecordingMiddleware)
    watching.unwatch(app)
    assert app.wsgi_app.__func__ is lifecycle.Flask.wsgi_app
    assert Client(app).get("/index").text == "hello world"
    assert app.recordings.snapshot() == []


def test_what_a_stop_cuts_says_which_requests_had_their_answer_ready():
    """A request whose answer had started going out (a write committed, say) is cut too: its
    client never hears so. The line says how many."""
    tracker = serving.Tracker()
    for _ in range(3):
        tracker.request_started()
    tracker.request_answering()
    assert tracker.cut() == (
        "cut 3 request(s) in flight, their clients unanswered "
        "(1 with its answer ready: what it did is done, unknown to its client)"
    )
    tracker.request_finished(True)
    assert tracker.cut() == "cut 2 request(s) in flight, their clients unanswered"


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def answer_to(sock, request=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
    sock.sendall(request)
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    return answer


def test_connections_beyond_the_cap_are_answered_503_at_once(monkeypatch):
    """Each connection holds a thread while it waits for its request; beyond MAX_CONNECTIONS a
    new one is answered 503 and closed, not given a thread to hold (1,500 slow clients made
    1,501 threads). A connection that goes frees its place."""
    monkeypatch.setattr(serving, "MAX_CONNECTIONS", 3, raising=False)
    with server_of_ours(hello) as server:
        port, tracker = server.port, server.tracker
        held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
        # each is counted in by its own thread: wait for all three, or the fourth's thread may
        # count itself in first and one held connection gets the 503 (seen in CI on 3.13)
        assert tracker.wait_until(lambda: len(tracker.connections) == 3, time.monotonic() + 10)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
                answer = answer_to(extra)
            assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in answer
            assert answer_to(held.pop()).startswith(b"HTTP/1.1 200 ")  # its request, served
            deadline = time.monotonic() + 10
            while True:  # once the server has closed it, there is a place again
                with socket.create_connection(("127.0.0.1", port), timeout=10) as again:
                    answer = answer_to(again)
                if answer.startswith(b"HTTP/1.1 200 ") or time.monotonic() > deadline:
                    break
            assert answer.startswith(b"HTTP/1.1 200 "), answer
        finally:
            for sock in held:
                sock.close()


def test_a_request_head_sent_a_byte_at_a_time_is_bounded_in_time(monkeypatch):
    """The idle timeout bounds each read; a client that sends one header byte just before each
    read would time out held its thread for ever. The whole head gets HEAD_TIMEOUT."""
    monkeypatch.setattr(serving, "HEAD_TIMEOUT", 1.0, raising=False)
    with served_by_ours(hello) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n")
            started, closed = time.monotonic(), False
            while time.monotonic() - started < 5:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    closed = True
                    break
                readable, _, _ = select.select([sock], [], [], 0.2)
                if readable and not sock.recv(4096):
                    closed = True
                    break
            assert closed and time.monotonic() - started < 3


def test_a_repr_cut_short_in_a_narration_ends_with_an_ellipsis():
    """`{e!r:.40}` cut reprs mid-word, quotes unbalanced and no sign of the cut:
    finalize_request(<InternalServerError '500: Internal Serv)."""
    args = {"rv": "x" * 60, "short": "abc"}
    said = recorder.render("finalize_request({rv!r:.20}) {short!r:.20}", args)
    assert said == "finalize_request('xxxxxxxxxxxxxxxxxx…) 'abc'"


def test_the_figure_draws_each_recorded_step_once_in_order_from_its_caller():
    """The notes' lifecycle diagrams, drawn again from what ran: one arrow per recorded step,
    numbered as the narration numbers it, each from the participant that called it."""
    app = lifecycle.create_app()
    printed = []
    with watching.narrating(app, printed.append, ""), Client(app).get("/session"):
        pass
    drawn = printed[printed.index(figure.FIRST_LINE) :]
    arrows = [line.split(": ", 1) for line in drawn if "->>" in line]
    steps = watching._narrated["last"].steps
    assert [text for _, text in arrows] == [figure.label(step) for step in steps]
    assert arrows[0][0] == "    Server->>Flask" and arrows[0][1] == "1 request_context"
    assert "    RequestContext->>AppContext: 2.1 push" in drawn
    assert "    LocalProxy->>_lookup_req_object: (3.5) _lookup_req_object" in drawn
    assert "    AppContext->>Flask: 5.2.1 do_teardown_appcontext" in drawn
    declared = [line.split()[1] for line in drawn if line.startswith("    participant")]
    used = {name for arrow, _ in arrows for name in arrow.strip().split("->>")}
    assert set(declared) == used and len(declared) == len(set(declared))


def test_markdown_adds_the_printed_figure_as_a_mermaid_block():
    section = lifecycle.SECTIONS["request"]
    output = "\n".join(["x", figure.FIRST_LINE, "    participant A", "    A->>B: 1 go", "y"])
    text = sections.markdown(section, output, "05_lifecycle.py")
    block = text.split("```mermaid\n")[1].split("\n```")[0]
    assert block == "sequenceDiagram\n    participant A\n    A->>B: 1 go"
    assert sections.markdown(section, "no figure", "05_lifecycle.py").count("```mermaid") == 0
