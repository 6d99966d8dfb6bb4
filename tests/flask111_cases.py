"""The same cases on real Flask 1.1.1 + Werkzeug 1.0.1 and on 03/04/05; prints JSON.

    python tests/flask111_cases.py real    (inside the Flask 1.1.1 virtual environment)
    python tests/flask111_cases.py ours    (in the project's environment)

tests/test_05_flask111.py runs both and compares the outputs, which must be equal. Only
behaviour both sides have is asked for; every value printed is plain data. A cookie minted by
the other side can be passed in the environment variable OTHER_COOKIE.
"""

import datetime
import importlib
import json
import os
import sys
import threading
import uuid

from markupsafe import Markup

SIDE = sys.argv[1]
if SIDE == "ours":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    api = importlib.import_module("flask111")
    signals = sessions = api
    proxy_module = importlib.import_module("04_proxy")
    local_module = importlib.import_module("03_localstack")
else:
    import flask as api
    import flask.sessions as sessions
    import flask.signals as signals
    import werkzeug.local as local_module

    proxy_module = local_module

SIGNALS = [
    "appcontext_pushed",
    "request_started",
    "request_finished",
    "got_request_exception",
    "request_tearing_down",
    "appcontext_tearing_down",
    "appcontext_popped",
]


def make_app(events):
    app = api.Flask("cases")
    app.secret_key = "side-by-side"

    def record(name):
        events.append(name)

    @app.before_request
    def before1():
        record("before1")

    @app.before_request
    def before2():
        record("before2")
        if api.request.args.get("early"):
            return "early"

    @app.after_request
    def after1(response):
        record("after1")
        return response

    @app.after_request
    def after2(response):
        record("after2")
        return response

    @app.teardown_request
    def teardown1(exc):
        record(f"teardown_request1 {exc!r}")

    @app.teardown_request
    def teardown2(exc):
        record(f"teardown_request2 {exc!r}")

    @app.teardown_appcontext
    def teardown_app(exc):
        record(f"teardown_appcontext {exc!r}")

    @app.errorhandler(KeyError)
    def handle_key_error(e):
        record(f"errorhandler {e!r}")
        return "handled", 418

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

    @app.route("/after-this")
    def after_this():
        record("view")
        for name in ("a", "b"):
            api.after_this_request(lambda r, name=name: record(f"after_this_request {name}") or r)
        return "after-this"

    @app.route("/copy")
    def copy():
        results = []

        @api.copy_current_request_context
        def in_thread():
            results.append(api.request.args["v"])
            record("copied context in a thread")

        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join()
        return f"copy {results}"

    @app.route("/stream")
    def stream():
        def gen():
            record("stream body")
            yield "streamed " + api.request.args["v"]

        return app.response_class(api.stream_with_context(gen()))

    @app.route("/session")
    def counter():
        api.session["counter"] = api.session.get("counter", 0) + 1
        return str(api.session["counter"])

    @app.route("/json")
    def as_json():
        return api.jsonify({"b": 1, "a": [1, 2], "ü": "ß"})

    @app.route("/tuple")
    def as_tuple():
        return "body", 201, {"X-A": "1"}

    bp = api.Blueprint("shop", __name__)

    @bp.before_request
    def bp_before():
        record("bp_before")

    @bp.after_request
    def bp_after(response):
        record("bp_after")
        return response

    @bp.teardown_request
    def bp_teardown(exc):
        record("bp_teardown")

    @bp.route("/item/<int:n>")
    def item(n):
        record("view")
        api.after_this_request(lambda r: record("after_this_request in a blueprint") or r)
        return f"item {n} of {api.request.blueprint}"

    app.register_blueprint(bp, url_prefix="/shop")
    return app


def connect(events):
    receivers = []
    for name in SIGNALS:

        def receiver(sender, _name=name, **kwargs):
            extra = "".join(f" {k}={type(v).__name__}" for k, v in sorted(kwargs.items()))
            events.append(f"signal {_name}{extra}")

        getattr(signals, name).connect(receiver)
        receivers.append(receiver)
    return receivers


def stacks_empty():
    return api._request_ctx_stack.top is None and api._app_ctx_stack.top is None


def requests_cases():
    events = []
    app = make_app(events)
    keep = connect(events)  # noqa: F841  (blinker holds receivers weakly)
    out = {}
    for path in (
        "/ok",
        "/ok?early=1",
        "/handled",
        "/unhandled",
        "/shop/item/3",
        "/after-this",
        "/copy?v=7",
        "/stream?v=8",
        "/json",
        "/tuple",
        "/nowhere",
        "/ok?m=post",
    ):
        events.clear()
        method = "POST" if "m=post" in path else "GET"
        response = app.test_client().open(path, method=method)
        body = response.get_data(as_text=True)
        if response.status_code >= 400 and "<title>" in body:  # Werkzeug's own error page:
            body = body.split("<title>")[1].split("</title>")[0]  # its markup changed since 1.0
        out[f"{method} {path}"] = {
            "status": response.status,
            "body": body,
            "content_type": response.headers.get("Content-Type"),
            "allow": sorted(response.headers.get("Allow", "").split(", ")),
            "x_a": response.headers.get("X-A"),
            "events": list(events),
            "stacks_empty": stacks_empty(),
        }
    return out


def contexts_cases():
    events = []
    app = make_app(events)
    keep = connect(events)  # noqa: F841
    out = {}
    events.clear()
    with app.app_context() as ctx:
        with ctx:
            events.append("inner")
        events.append("outer")
    out["nested app context"] = list(events)
    events.clear()
    with app.app_context():
        with app.test_request_context("/ok?x=1"):
            events.append(f"inside: {api.request.args['x']} {api.current_app.name}")
        events.append(f"app context only: {api.has_request_context()} {api.has_app_context()}")
    out["request context inside app context"] = list(events)
    events.clear()
    with app.test_client() as client:
        client.get("/ok?kept=1")
        events.append(f"kept after the request: {api.request.args['kept']}")
    events.append(f"after the with: {stacks_empty()}")
    out["test client with block"] = list(events)
    with app.app_context():
        api.g.x = 1
        out["g"] = [repr(api.g), api.g.get("x"), "x" in api.g, api.g.pop("x"), list(api.g)]
    out["stacks empty at the end"] = stacks_empty()
    return out


def session_cases():
    out = {}
    app = make_app([])
    client = app.test_client()
    out["counter"] = [client.get("/session").get_data(as_text=True) for _ in range(3)]
    response = app.test_client().get("/session")
    header = response.headers["Set-Cookie"]
    out["set_cookie_attributes"] = sorted(p.strip() for p in header.split(";")[1:])
    out["minted"] = header.split(";")[0].split("=", 1)[1]
    other = os.environ.get("OTHER_COOKIE")
    if other:
        reader = app.test_client()
        reader.set_cookie(*(("localhost",) if SIDE == "real" else ()), "session", other)
        out["read the other side's cookie"] = reader.get("/session").get_data(as_text=True)

    class ServerSide(sessions.SessionInterface):
        store = {}

        def open_session(self, app, request):
            sid = request.cookies.get("sid", "new")
            return sessions.SecureCookieSession(self.store.get(sid, {}))

        def save_session(self, app, session, response):
            self.store["fixed"] = dict(session)
            response.set_cookie("sid", "fixed")

    custom = make_app([])
    custom.session_interface = ServerSide()
    client = custom.test_client()
    out["custom interface"] = [client.get("/session").get_data(as_text=True) for _ in range(3)]
    out["custom store"] = ServerSide.store

    class Broken(sessions.SessionInterface):
        def open_session(self, app, request):
            raise RuntimeError("session store down")

    broken = make_app([])
    broken.session_interface = Broken()
    out["session error"] = [broken.test_client().get("/ok").status_code, stacks_empty()]
    base = sessions.SessionInterface()
    out["base helpers"] = [
        base.get_cookie_path(app),
        base.get_cookie_httponly(app),
        base.get_cookie_secure(app),
        base.get_cookie_samesite(app),
        base.is_null_session(base.make_null_session(app)),
    ]
    out.update(tagged_cookie_cases())
    for name in ("open_session", "save_session"):
        try:
            getattr(base, name)(app, None, None) if name == "save_session" else base.open_session(
                app, None
            )
        except NotImplementedError:
            out[f"base {name}"] = "NotImplementedError"
    return out


TAGGED = {
    "tuple": lambda: (1, "a", (2,)),
    "bytes": lambda: b"\x00\xff",
    "Markup": lambda: Markup("<b>x</b>"),
    "UUID": lambda: uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "datetime": lambda: datetime.datetime(2020, 1, 2, 3, 4, 5),
    "date": lambda: datetime.date(2020, 1, 2),
    "a dict whose key looks like a tag": lambda: {" t": [1], "x": {" di": b"y"}},
    "Chinese text": lambda: "你好",
}


def tagged_cookie_cases():
    """Each type a session can hold: the cookie's payload (its part before the timestamp), and
    what comes back; with JSON_AS_ASCII on (the default) and off."""
    out = {}
    for as_ascii in (True, False):
        app = api.Flask("tagged")
        app.secret_key, app.config["JSON_AS_ASCII"] = "side-by-side", as_ascii
        with app.test_request_context():
            signer = app.session_interface.get_signing_serializer(app)
            for name, make in TAGGED.items():
                signed = signer.dumps({"v": make()})
                back = signer.loads(signed)["v"]
                out[f"tagged {name}, JSON_AS_ASCII={as_ascii}"] = [
                    signed.rsplit(".", 2)[0],
                    repr(back),
                ]
    return out


def messages_cases():
    out = {}
    probes = {
        "request outside": lambda: api.request.method,
        "g outside": lambda: api.g.x,
        "current_app outside": lambda: api.current_app.name,
        "copy_current_request_context outside": lambda: api.copy_current_request_context(len),
        "stream_with_context outside": lambda: api.stream_with_context(iter(["x"])),
        "after_this_request outside": lambda: api.after_this_request(len),
    }
    app = make_app([])
    probes["url_for without SERVER_NAME"] = lambda: _in_app_context(app, lambda: api.url_for("ok"))
    for name, probe in probes.items():
        try:
            probe()
            out[name] = "no error"
        except Exception as exc:  # the type and the message are what is compared
            out[name] = [
                type(exc).__name__,
                str(exc) if not isinstance(exc, AttributeError) else "(AttributeError)",
            ]
    app.config["SERVER_NAME"] = "example.com"
    out["url_for with SERVER_NAME"] = _in_app_context(app, lambda: api.url_for("ok"))
    out["bool/repr of an unbound proxy"] = [bool(api.request), repr(api.request)]
    return out


def _in_app_context(app, func):
    with app.app_context():
        return func()


# --- Werkzeug 1.0.1's werkzeug.local against 03/04 ------------------------------------------


def locals_cases():
    from greenlet import greenlet

    # werkzeug.local holds all of these; ours are 03's, with __call__ from 04's subclasses
    Local, LocalStack = proxy_module.Local, proxy_module.LocalStack
    LocalProxy, release_local = proxy_module.LocalProxy, local_module.release_local
    out = {}
    local = Local()
    local.a = 1
    out["local get"] = local.a
    out["local missing"] = _error(lambda: local.missing)
    del local.a
    out["local after del"] = _error(lambda: local.a)
    out["local del missing"] = _error(lambda: local.__delattr__("a"))
    local.b = 2
    out["iter yields (ident, dict)"] = [sorted(d.items()) for _, d in local]
    release_local(local)
    out["after release_local"] = [list(local), _error(lambda: local.b)]

    seen, barrier = {}, threading.Barrier(3)

    def thread_task(n):
        local.value = n
        barrier.wait()
        seen[n] = local.value

    threads = [threading.Thread(target=thread_task, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["threads keep their own"] = [seen[n] for n in range(3)]
    out["entries left by threads"] = len(list(local))
    release_local(local)

    g_seen = {}

    def greenlet_task(n):
        local.value = n
        main.switch()
        g_seen[n] = local.value

    main = greenlet.getcurrent()
    workers = [greenlet(lambda n=n: greenlet_task(n)) for n in range(3)]
    for w in workers:
        w.switch()
    for w in workers:
        w.switch()
    out["greenlets keep their own"] = [g_seen[n] for n in range(3)]

    stack = LocalStack()
    out["empty top/pop"] = [stack.top, stack.pop()]
    first = stack.push(1)
    second = stack.push(2)
    out["push returns the live list"] = [first is second, list(second)]
    proxy = stack()
    out["stack() proxy"] = [proxy == 2, repr(proxy)]
    out["pops"] = [stack.pop(), stack.pop(), stack.pop()]
    out["released after the last pop"] = [len(list(stack._local)), repr(proxy), bool(proxy)]
    out["an unbound proxy compared"] = _error(lambda: proxy == 1)

    ns = Local()
    ns.foo = [1, 2]
    foo = ns("foo")
    out["Local-backed proxy"] = [len(foo), list(foo), 2 in foo, foo[0], foo + [3], repr(foo)]
    foo.append(3)
    out["proxy mutates the object"] = ns.foo
    out["unbound Local proxy"] = _error(lambda: ns("bar").x)
    calls = LocalProxy(lambda: {"k": "v"})
    out["callable proxy"] = [calls["k"], calls.get("k"), callable(calls.__wrapped__)]

    manager = local_module.LocalManager([Local()])
    managed = manager.locals[0]
    managed.x = 1
    manager.cleanup()
    out["LocalManager cleanup"] = [list(managed), repr(manager)]
    ident = [0]
    switched = local_module.LocalManager([Local()], ident_func=lambda: ident[0])
    custom = switched.locals[0]
    custom.x = "zero"
    ident[0] = 1
    out["custom ident_func"] = [_error(lambda: custom.x), switched.get_ident()]
    return out


def _error(func):
    try:
        return ["no error", func()]
    except Exception as exc:
        return [type(exc).__name__, str(exc)]


if __name__ == "__main__":
    cases = {
        "requests": requests_cases,
        "contexts": contexts_cases,
        "sessions": session_cases,
        "messages": messages_cases,
        "locals": locals_cases,
    }
    print(
        json.dumps(
            {name: case() for name, case in cases.items()},
            ensure_ascii=False,
            indent=1,
            default=repr,
        )
    )
