"""05_lifecycle in-process: hook/signal order, side by side with real Flask, sessions, config.

The same app definition (`make_app`) is built on `flask.Flask` and on ours and driven through
Werkzeug's test Client; statuses, bodies and the recorded order of hooks and signals must match.
Where Flask 1.1.1 (which the notes read, and 05 follows) and Flask 3 differ, the test says so
("Flask >= 2.x differs from 1.1.1 here"); tests/test_05_flask111.py checks 05 against 1.1.1.
"""

import sys
import types

import flask
import flask.sessions
import pytest
from conftest import ROOT, load
from werkzeug.test import Client

lifecycle = load("05_lifecycle")
flask111 = load("flask111")

SIGNALS = [
    "appcontext_pushed",
    "request_started",
    "request_finished",
    "got_request_exception",
    "request_tearing_down",
    "appcontext_tearing_down",
    "appcontext_popped",
]


def both_stacks_empty():
    return (
        lifecycle._request_ctx_stack._local.__storage__ == {}
        and lifecycle._app_ctx_stack._local.__storage__ == {}
    )


def make_app(api, events, with_first_request=False):
    """One app definition for both implementations; `api` is the flask module or ours."""
    app = api.Flask("sidebyside")
    app.secret_key = "side-by-side-secret"

    def record(name):
        events.append(name)

    @app.before_request
    def before1():
        record("before1")

    @app.before_request
    def before2():
        record("before2")
        if api.request.args.get("early"):
            return "early answer"

    @app.after_request
    def after1(response):
        record("after1")
        return response

    @app.after_request
    def after2(response):
        record("after2")
        return response

    @app.teardown_request
    def teardown_request1(exc):
        record(f"teardown_request1 {exc!r}")

    @app.teardown_request
    def teardown_request2(exc):
        record(f"teardown_request2 {exc!r}")

    @app.teardown_appcontext
    def teardown_appcontext1(exc):
        record(f"teardown_appcontext1 {exc!r}")

    @app.teardown_appcontext
    def teardown_appcontext2(exc):
        record(f"teardown_appcontext2 {exc!r}")

    @app.errorhandler(KeyError)
    def handle_key_error(e):
        record(f"errorhandler {e!r}")
        return "handled", 418

    if with_first_request:
        app.before_first_request(lambda: record("before_first_request"))

    @app.route("/ok")
    def ok():
        record("view")
        return "ok"

    @app.route("/handled")
    def handled():
        record("view")
        raise KeyError("missing")

    @app.route("/unhandled")
    def unhandled():
        record("view")
        raise ZeroDivisionError("boom")

    @app.route("/session")
    def counter():
        api.session["counter"] = api.session.get("counter", 0) + 1
        return str(api.session["counter"])

    @app.route("/g")
    def show_g():
        api.g.x = api.request.args.get("x", "none")
        return f"{api.g.x} {'x' in api.g} {api.current_app.name}"

    @app.route("/json")
    def as_json():
        return {"b": 1, "a": [1, 2], "ü": "ß"}

    @app.route("/tuple3")
    def tuple3():
        return "body", 201, {"X-A": "1"}

    @app.route("/tuple-headers")
    def tuple_headers():
        return "body", {"X-B": "2"}

    @app.route("/tuple-status-text")
    def tuple_status_text():
        return "body", "202 ACCEPTED"

    @app.route("/bytes")
    def as_bytes():
        return b"raw"

    @app.route("/response")
    def response():
        return api.Flask.response_class("made", status=203)

    @app.route("/abort")
    def do_abort():
        api.abort(403)

    @app.route("/user/<int:uid>", methods=["GET", "POST"])
    def user(uid):
        return f"{api.request.method} user {uid} {api.request.endpoint}"

    return app


def connect_signals(api_signals, events):
    receivers = []
    for name in SIGNALS:

        def receiver(sender, _name=name, **kwargs):
            extra = "".join(f" {k}={type(v).__name__}" for k, v in sorted(kwargs.items()))
            events.append(f"signal {_name}{extra}")

        getattr(api_signals, name).connect(receiver)
        receivers.append(receiver)  # keep the receivers alive (blinker holds weak refs)
    return receivers


@pytest.fixture
def pair():
    """(ours, flask) each as (client, app, events)."""
    built = {}
    # Ours is flask111's Flask: 05's lifecycle, with the errorhandler the app below registers.
    for label, api, signals in (("ours", flask111, flask111), ("flask", flask, flask.signals)):
        events = []
        app = make_app(api, events)
        keep = connect_signals(signals, events)
        built[label] = types.SimpleNamespace(client=Client(app), app=app, events=events, keep=keep)
    yield built["ours"], built["flask"]
    assert both_stacks_empty()


NORMAL = [
    "signal appcontext_pushed",
    "signal request_started",
    "before1",
    "before2",
    "view",
    "after2",
    "after1",
    "signal request_finished response=Response",
    "teardown_request2 None",
    "teardown_request1 None",
    "signal request_tearing_down exc=NoneType",
    "teardown_appcontext2 None",
    "teardown_appcontext1 None",
    "signal appcontext_tearing_down exc=NoneType",
    "signal appcontext_popped",
]


def run(side, path, method="GET", **kwargs):
    side.events.clear()
    response = side.client.open(path, method=method, **kwargs)
    return response.status_code, response.get_data(as_text=True), list(side.events)


def test_normal_request_order(pair):
    ours, real = pair
    status, body, events = run(ours, "/ok")
    assert (status, body, events) == (200, "ok", NORMAL)
    assert run(real, "/ok") == (200, "ok", NORMAL)
    assert both_stacks_empty()


def test_before_request_returning_early(pair):
    ours, real = pair
    expected = [e for e in NORMAL if e not in ("before2", "view")]
    expected.insert(expected.index("signal request_started") + 2, "before2")
    status, body, events = run(ours, "/ok?early=1")
    assert (status, body) == (200, "early answer")
    assert events == expected
    assert run(real, "/ok?early=1") == (status, body, events)


def test_error_handled_by_errorhandler(pair):
    ours, real = pair
    expected = NORMAL.copy()
    expected.insert(expected.index("view") + 1, "errorhandler KeyError('missing')")
    result = run(ours, "/handled")
    assert result == (418, "handled", expected)  # no got_request_exception; teardown sees None
    assert run(real, "/handled") == result


def test_unhandled_error(pair):
    ours, real = pair
    exc = "ZeroDivisionError('boom')"
    expected = [
        "signal appcontext_pushed",
        "signal request_started",
        "before1",
        "before2",
        "view",
        "signal got_request_exception exception=ZeroDivisionError",
        "after2",
        "after1",
        "signal request_finished response=Response",
        f"teardown_request2 {exc}",
        f"teardown_request1 {exc}",
        "signal request_tearing_down exc=ZeroDivisionError",
        f"teardown_appcontext2 {exc}",
        f"teardown_appcontext1 {exc}",
        "signal appcontext_tearing_down exc=ZeroDivisionError",
        "signal appcontext_popped",
    ]
    status, body, events = run(ours, "/unhandled")
    assert status == 500 and "Internal Server Error" in body and events == expected
    real_status, _, real_events = run(real, "/unhandled")
    assert (real_status, real_events) == (500, expected)


def test_bare_app_context(pair):
    for side in pair:
        side.events.clear()
        with side.app.app_context():
            side.events.append("body")
        assert side.events == [
            "signal appcontext_pushed",
            "body",
            "teardown_appcontext2 None",
            "teardown_appcontext1 None",
            "signal appcontext_tearing_down exc=NoneType",
            "signal appcontext_popped",
        ]
    assert both_stacks_empty()


def test_nested_app_context_tears_down_once(pair):
    for side in pair:
        side.events.clear()
        with side.app.app_context() as ctx:
            with ctx:
                side.events.append("inner")
            side.events.append("outer")
        assert side.events == [
            "signal appcontext_pushed",
            "signal appcontext_pushed",
            "inner",
            "signal appcontext_popped",
            "outer",
            "teardown_appcontext2 None",
            "teardown_appcontext1 None",
            "signal appcontext_tearing_down exc=NoneType",
            "signal appcontext_popped",
        ]


def test_before_first_request_runs_once_and_first():
    events = []
    app = make_app(flask111, events, with_first_request=True)
    client = Client(app)
    client.get("/ok")
    client.get("/ok")
    assert events.count("before_first_request") == 1
    assert events[0] == "before_first_request"


@pytest.mark.parametrize(
    "path, method",
    [
        ("/json", "GET"),
        ("/tuple3", "GET"),
        ("/tuple-headers", "GET"),
        ("/tuple-status-text", "GET"),
        ("/bytes", "GET"),
        ("/response", "GET"),
        ("/abort", "GET"),
        ("/user/7", "GET"),
        ("/user/7", "POST"),
        ("/user/x", "GET"),
        ("/nowhere", "GET"),
        ("/ok", "POST"),
        ("/ok", "OPTIONS"),
        ("/ok", "HEAD"),
        ("/g?x=1", "GET"),
    ],
)
def test_responses_match_flask(pair, path, method):
    ours, real = pair
    got = ours.client.open(path, method=method)
    want = real.client.open(path, method=method)
    assert got.status == want.status
    assert got.get_data() == want.get_data()
    for header in ("Content-Type", "Allow", "X-A", "X-B"):
        assert sorted(got.headers.get(header, "").split(", ")) == sorted(
            want.headers.get(header, "").split(", ")
        ), header


def test_stacks_are_empty_after_every_kind_of_request(pair):
    ours, _ = pair
    for path in ("/ok", "/ok?early=1", "/handled", "/unhandled", "/nowhere", "/abort"):
        ours.client.get(path)
        assert both_stacks_empty(), path


def test_a_raising_teardown_still_empties_both_stacks():
    app = lifecycle.Flask("raising")

    @app.teardown_request
    def broken(exc):
        raise RuntimeError("teardown failed")

    app.route("/")(lambda: "ok")
    with pytest.raises(RuntimeError, match="teardown failed"):
        Client(app).get("/")
    assert both_stacks_empty()


# --- sessions -----------------------------------------------------------------------------


def cookie_value(response):
    header = response.headers["Set-Cookie"]
    return header.split(";")[0].split("=", 1)[1]


def test_session_cookie_attributes_and_untouched_session(pair):
    ours, _ = pair
    response = ours.client.get("/session")
    header = response.headers["Set-Cookie"]
    assert header.startswith("session=") and "HttpOnly" in header and "Path=/" in header
    assert "Set-Cookie" not in ours.client.get("/ok").headers  # not touched: no cookie


def test_session_counter_and_cookies_read_across_implementations(pair):
    ours, real = pair
    assert [ours.client.get("/session").text for _ in range(2)] == ["1", "2"]
    ours_cookie = cookie_value(ours.client.get("/session"))
    real.client.set_cookie("session", ours_cookie)
    assert real.client.get("/session").text == "4"  # real Flask read our cookie (3) and added 1
    flask_cookie = cookie_value(real.client.get("/session"))
    ours.client.set_cookie("session", flask_cookie)
    assert ours.client.get("/session").text == "6"  # and we read real Flask's (5)


def test_our_cookie_decodes_with_flask_serializer():
    app = lifecycle.Flask("decode")
    app.secret_key = "k"
    app.route("/")(lambda: lifecycle.session.update(user="alice", n=1) or "ok")
    value = cookie_value(Client(app).get("/"))
    flask_app = flask.Flask("decode")
    flask_app.secret_key = "k"
    with flask_app.app_context():
        serializer = flask.sessions.SecureCookieSessionInterface().get_signing_serializer(flask_app)
        assert serializer.loads(value) == {"user": "alice", "n": 1}
    payload = value.split(".")[0]  # signed, not encrypted: the payload is readable base64 JSON
    import base64

    assert base64.urlsafe_b64decode(payload + "==") == b'{"n":1,"user":"alice"}'


@pytest.mark.parametrize("cookie", ["garbage", "eyJjb3VudGVyIjo5OX0.AAAAAA.forged", "", "a.b.c.d"])
def test_bad_or_tampered_cookie_gives_an_empty_session(pair, cookie):
    ours, _ = pair
    ours.client.set_cookie("session", cookie)
    assert ours.client.get("/session").text == "1"


def test_cookie_signed_with_another_key_is_ignored(pair):
    ours, _ = pair
    other = lifecycle.Flask("other")
    other.secret_key = "another key"
    other.route("/")(lambda: lifecycle.session.update(counter=41) or "ok")
    ours.client.set_cookie("session", cookie_value(Client(other).get("/")))
    assert ours.client.get("/session").text == "1"


def test_no_secret_key_gives_a_null_session():
    app = lifecycle.Flask("nokey")
    with app.test_request_context("/"):
        assert isinstance(lifecycle.session._get_current_object(), lifecycle.NullSession)
        assert lifecycle.session.get("x") is None
        with pytest.raises(RuntimeError) as info:
            lifecycle.session["x"] = 1
    assert str(info.value) == (
        "The session is unavailable because no secret key was set.  Set the secret_key on the "
        "application to something unique and secret."
    )


def test_session_modified_and_accessed_tracking():
    s = lifecycle.SecureCookieSession({"a": 1})
    assert (s.modified, s.accessed) == (False, False)
    s.get("a")
    assert (s.modified, s.accessed) == (False, True)
    s["b"] = 2
    assert (s.modified, s.accessed) == (True, True)


# --- contexts, g, config ------------------------------------------------------------------


def test_test_request_context_inside_app_context_reuses_it():
    app = lifecycle.Flask("nested")
    assert not flask111.has_app_context() and not flask111.has_request_context()
    with app.app_context() as app_ctx:
        with app.test_request_context("/x?a=1", method="POST") as ctx:
            assert flask111.has_request_context() and lifecycle.request.args["a"] == "1"
            assert lifecycle.request.method == "POST"
            assert ctx._implicit_app_ctx_stack == [None]
            assert lifecycle._app_ctx_stack.top is app_ctx
            assert lifecycle.current_app._get_current_object() is app
        assert flask111.has_app_context() and not flask111.has_request_context()
    assert both_stacks_empty()


def test_another_apps_context_gets_its_own_app_context():
    first, second = lifecycle.Flask("first"), lifecycle.Flask("second")
    with first.app_context():
        with second.test_request_context("/"):
            assert lifecycle.current_app.name == "second"
            assert len(lifecycle._app_ctx_stack._local.stack) == 2
        assert lifecycle.current_app.name == "first"


def test_g_methods():
    """05's g is a namespace; flask111's adds Flask 1.1.1's dict-like helpers."""
    assert not hasattr(lifecycle.Flask("g").app_ctx_globals_class, "get")
    app = flask111.Flask("g")
    with app.app_context():
        lifecycle.g.a = 1
        assert lifecycle.g.get("a") == 1 and lifecycle.g.get("b", 2) == 2
        assert lifecycle.g.setdefault("c", 3) == 3 and "c" in lifecycle.g and "z" not in lifecycle.g
        assert sorted(lifecycle.g) == ["a", "c"]
        assert lifecycle.g.pop("a") == 1 and lifecycle.g.pop("a", "gone") == "gone"
        with pytest.raises(KeyError):
            lifecycle.g.pop("a")
        assert repr(lifecycle.g) == "<flask.g of 'g'>"
    with app.app_context():
        assert "c" not in lifecycle.g  # a new app context, a new g


class Settings:
    DEBUG = True
    SECRET_KEY = "from class"
    lower_case = "ignored"


def test_config_from_object_class_and_dotted_path(tmp_path, monkeypatch):
    app = lifecycle.Flask("cfg")
    app.config.from_object(Settings)
    assert app.debug is True and app.secret_key == "from class"
    assert "lower_case" not in app.config
    (tmp_path / "cfg_module.py").write_text(
        "class Prod:\n    DEBUG = False\n    DATABASE = 'db'\n    secret = 'no'\nTOP = 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    app.config.from_object("cfg_module.Prod")
    assert (app.config["DEBUG"], app.config["DATABASE"]) == (False, "db")
    assert "secret" not in app.config
    app.config.from_object("cfg_module")
    assert app.config["TOP"] == 1
    assert isinstance(app.config, dict)


def test_startup_builds_url_map_view_functions_and_static_route():
    app = lifecycle.Flask(__name__, static_url_path="/xx")

    @app.route("/index", methods=["GET", "POST"])
    def index():
        return "hello world"

    rules = {r.rule: r for r in app.url_map.iter_rules()}
    assert rules["/index"].endpoint == "index"
    assert {"GET", "POST"} <= rules["/index"].methods
    assert rules["/xx/<path:filename>"].endpoint == "static"
    assert app.view_functions["index"] is index
    with pytest.raises(AssertionError, match="overwriting"):
        app.add_url_rule("/other", "index", lambda: "x")
    with pytest.raises(TypeError, match="list of strings"):  # Flask 1.1.1's check: flask111's
        flask111.Flask("startup").add_url_rule("/bad", "bad", lambda: "x", methods="POST")


def test_static_files_are_served(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "hello.txt").write_text("static hello")
    app = lifecycle.Flask("static_app")
    app.root_path = str(tmp_path)
    client = Client(app)
    assert client.get("/static/hello.txt").text == "static hello"
    assert client.get("/static/missing.txt").status_code == 404
    assert client.get("/static/../secret").status_code == 404


def test_errorhandler_by_code_and_by_class_mro():
    app = flask111.Flask("errors")

    @app.errorhandler(404)
    def not_found(e):
        return f"custom {e.code}", 404

    @app.errorhandler(LookupError)
    def lookup(e):
        return f"lookup handler got {type(e).__name__}", 400

    app.route("/key")(lambda: {}["x"])
    client = Client(app)
    assert client.get("/nope").text == "custom 404"
    assert client.get("/key").text == "lookup handler got KeyError"
    with pytest.raises(KeyError, match="not a recognized HTTP error code"):
        app.errorhandler(999)(not_found)


# --- blueprints ---------------------------------------------------------------------------


def make_blueprint_app(api, events):
    app = make_app(api, events)
    bp = api.Blueprint("shop", __name__)

    @bp.before_request
    def bp_before():
        events.append("bp_before")

    @bp.after_request
    def bp_after1(response):
        events.append("bp_after1")
        return response

    @bp.after_request
    def bp_after2(response):
        events.append("bp_after2")
        return response

    @bp.teardown_request
    def bp_teardown(exc):
        events.append("bp_teardown")

    @bp.route("/item/<int:n>")
    def item(n):
        events.append("view")
        return f"item {n} of {api.request.blueprint}"

    app.register_blueprint(bp, url_prefix="/shop")
    return app


def test_blueprint_prefix_and_hook_order_mixed_with_the_app():
    hooks = {}
    for label, api in (("ours", flask111), ("flask", flask)):
        events = []
        response = Client(make_blueprint_app(api, events)).get("/shop/item/3")
        assert (response.status_code, response.text) == (200, "item 3 of shop")
        hooks[label] = events
    before_and_after = [
        "before1",
        "before2",
        "bp_before",
        "view",
        "bp_after2",
        "bp_after1",
        "after2",
        "after1",
    ]
    app_context_teardowns = ["teardown_appcontext2 None", "teardown_appcontext1 None"]
    assert (
        hooks["ours"]
        == before_and_after
        + [
            "teardown_request2 None",
            "teardown_request1 None",
            "bp_teardown",  # Flask 1.1.1
        ]
        + app_context_teardowns
    )
    assert (
        hooks["flask"]
        == before_and_after
        + [
            # Flask >= 2.x differs from 1.1.1 here: since 2.0.2 the blueprint's teardown runs first
            "bp_teardown",
            "teardown_request2 None",
            "teardown_request1 None",
        ]
        + app_context_teardowns
    )
    assert Client(make_blueprint_app(flask111, [])).get("/item/3").status_code == 404


def test_blueprint_errorhandler_wins_inside_the_blueprint():
    app = flask111.Flask("bperrors")
    bp = flask111.Blueprint("bp", __name__, url_prefix="/bp")

    @app.errorhandler(ValueError)
    def app_handler(e):
        return "app handler", 400

    @bp.errorhandler(ValueError)
    def bp_handler(e):
        return "blueprint handler", 400

    def fail():
        raise ValueError("x")

    bp.route("/fail", endpoint="fail")(fail)
    app.route("/fail")(fail)
    app.register_blueprint(bp)
    client = Client(app)
    assert client.get("/bp/fail").text == "blueprint handler"
    assert client.get("/fail").text == "app handler"
    with pytest.raises(AssertionError, match="A name collision occurred between blueprints"):
        app.register_blueprint(flask111.Blueprint("bp", __name__))  # as in Flask 1.1.1


# --- a Flask quick-start app, unchanged ---------------------------------------------------

QUICKSTART = """
from flask import Flask, request, session, g, current_app, abort, redirect, url_for, jsonify

app = Flask(__name__)
app.secret_key = b"dev"


@app.before_request
def load_user():
    g.user = request.args.get("user", "anonymous")


@app.route("/")
def index():
    return f"Hello, {g.user}! (app {current_app.name})"


@app.route("/user/<username>")
def profile(username):
    return jsonify(user=username, method=request.method)


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        session["username"] = request.form["username"]
        return redirect(url_for("index"))
    return "login form"


@app.route("/me")
def me():
    return session.get("username", "nobody")


@app.route("/secret")
def secret():
    abort(401)


@app.errorhandler(404)
def not_found(e):
    return "custom 404", 404
"""

QUICKSTART_REQUESTS = [
    ("GET", "/", None),
    ("GET", "/?user=bob", None),
    ("GET", "/user/amy", None),
    ("GET", "/me", None),
    ("POST", "/login", {"username": "zoe"}),
    ("GET", "/me", None),
    ("GET", "/secret", None),
    ("GET", "/missing", None),
    ("GET", "/login", None),
]


def run_quickstart(flask_module, monkeypatch):
    monkeypatch.setitem(sys.modules, "flask", flask_module)
    namespace = {"__name__": "quickstart"}
    exec(compile(QUICKSTART, "quickstart.py", "exec"), namespace)
    client = Client(namespace["app"])
    return [
        (r.status_code, r.get_data(as_text=True), r.headers.get("Location"))
        for r in (
            client.open(path, method=method, data=data)
            for method, path, data in QUICKSTART_REQUESTS
        )
    ]


def test_a_flask_quickstart_app_runs_unchanged(monkeypatch):
    """On flask111 (05 with Flask's wider API: url_for, jsonify)."""
    flask111 = load("flask111")
    with monkeypatch.context() as m:
        expected = run_quickstart(flask, m)
    ours = types.ModuleType("flask")
    ours.__dict__.update(
        {
            k: getattr(flask111, k)
            for k in (
                "Flask",
                "request",
                "session",
                "g",
                "current_app",
                "abort",
                "redirect",
                "url_for",
                "jsonify",
            )
        }
    )
    answers = run_quickstart(ours, monkeypatch)
    # 05 makes a relative Location absolute, as Flask 1.1.1 (Werkzeug 1.0.1) did; Flask 3
    # leaves it relative. Everything else is the same.
    assert answers[4][2] == "http://localhost/" and expected[4][2] == "/"
    assert answers[:4] + answers[5:] == expected[:4] + expected[5:]
    assert answers[4][:2] == expected[4][:2]
    assert expected[5][1] == "zoe"


def test_registered_500_handler_gets_the_internal_server_error(pair):
    for side in pair:

        @side.app.errorhandler(500)
        def server_error(e, events=side.events):
            events.append(f"500 handler {type(e.original_exception).__name__}")
            return "sorry", 500

    ours, real = pair
    status, body, events = run(ours, "/unhandled")
    assert (status, body) == (500, "sorry")
    got_exception = events.index("signal got_request_exception exception=ZeroDivisionError")
    assert events[got_exception + 1 : got_exception + 4] == [
        "500 handler ZeroDivisionError",
        "after2",
        "after1",
    ]
    assert run(real, "/unhandled") == (status, body, events)


def test_propagate_exceptions_raises_out_of_wsgi_app_after_teardown():
    events = []
    app = make_app(flask111, events)
    app.testing = True  # PROPAGATE_EXCEPTIONS defaults to testing or debug
    with pytest.raises(ZeroDivisionError):
        Client(app).get("/unhandled")
    assert "after1" not in events  # no response was finalized
    assert "teardown_request1 ZeroDivisionError('boom')" in events
    assert both_stacks_empty()


def test_before_first_request_is_thread_safe():
    """Eight first requests at once run the hook once: the others wait on the lock. The hook
    holds the first request until all eight are inside try_trigger_before_first_request_
    functions, so without the lock the other seven would run the hook too."""
    import threading

    entered, all_in = [], threading.Event()

    class Counting(lifecycle.Flask):
        def try_trigger_before_first_request_functions(self):
            entered.append(1)
            if len(entered) == 8:
                all_in.set()
            super().try_trigger_before_first_request_functions()

    app = Counting("first")
    calls = []

    @app.before_first_request
    def slow_setup():
        calls.append("setup")
        assert all_in.wait(20), "the other first requests never arrived"

    app.route("/")(lambda: str(len(calls)))
    results, barrier = [], threading.Barrier(8)

    def hit():
        barrier.wait()
        results.append(Client(app).get("/").text)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert calls == ["setup"] and results == ["1"] * 8


def test_the_step_table_is_written_once_in_part_c_in_the_order_a_request_meets_it():
    """STEPS holds the functions themselves with 000's and 002's numbers; it stands with the
    narration it serves (Part C), and numbers the steps in the notes' order."""
    source = (ROOT / "05_lifecycle.py").read_text(encoding="utf-8")
    assert source.index("# Part C") < source.index("\nSTEPS = (") < source.index("def main(")
    assert "STEPS" not in lifecycle.__doc__
    numbered = [step.n000 for step in lifecycle.STEPS if step.n000]
    assert numbered == [
        "1", "2", "2.1", "2.2", "2.3", "3", "3.1", "3.2", "3.3", "4",
        "3.4", "3.4.1", "3.4.1.1", "3.4.1.2", "5", "5.1", "5.2", "5.2.1",
    ]  # fmt: skip
    assert all(callable(step.func) for step in lifecycle.STEPS)
    assert lifecycle.STEPS[0].func is lifecycle.Flask.request_context
