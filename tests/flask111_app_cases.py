"""Programs a learner writes while following the notes or Flask 1.1.1's documentation, run on
real Flask 1.1.1 and on flask111.py (05 with the layer of Flask's wider API on it); prints JSON,
part by part.

    python tests/flask111_app_cases.py real    (inside the Flask 1.1.1 virtual environment)
    python tests/flask111_app_cases.py ours    (in the project's environment)

tests/test_05_flask111.py runs both and compares each part. Every value printed is plain data.
"""

import contextlib
import datetime
import importlib
import io
import json
import os
import sys
import tempfile
import uuid
import warnings

SIDE = sys.argv[1]
if SIDE == "ours":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    api = testing = importlib.import_module("flask111")
else:
    import flask as api
    import flask.testing as testing

import werkzeug.serving  # noqa: E402

warnings.simplefilter("ignore", DeprecationWarning)


def _error(func):
    try:
        return ["no error", func()]
    except Exception as exc:
        return [type(exc).__name__, str(exc)]


# --- 1. app.run: run_simple imported inside run(), host and port from SERVER_NAME ----------


def run_cases():
    out = {}
    calls = []

    def stand_in(host, port, application, **options):
        calls.append([host, port, application is app, sorted(options.items())])

    real_run_simple = werkzeug.serving.run_simple
    werkzeug.serving.run_simple = stand_in
    os.environ.pop("FLASK_ENV", None)
    os.environ.pop("FLASK_DEBUG", None)
    try:
        for name, server_name, args, kwargs in (
            ("defaults", None, (), {}),
            ("host and port", None, ("0.0.0.0", 8080), {}),
            ("port 0 is a port", None, (), {"port": 0}),
            ("SERVER_NAME with a port", "example.com:4000", (), {}),
            ("SERVER_NAME without a port", "example.com", (), {}),
            ("SERVER_NAME, port given", "example.com:4000", (), {"port": 1234}),
            ("SERVER_NAME, host given", "example.com:4000", ("10.0.0.1",), {}),
            ("debug=True", None, (), {"debug": True}),
            ("debug=True, use_reloader=False", None, (), {"debug": True, "use_reloader": False}),
            ("threaded=False", None, (), {"threaded": False}),
            ("passthrough_errors", None, (), {"passthrough_errors": True}),
            ("extra options", None, (), {"ssl_context": "adhoc", "processes": 1}),
        ):
            app = api.Flask("run")
            app.config["SERVER_NAME"] = server_name
            calls.clear()
            with contextlib.redirect_stdout(io.StringIO()) as banner:
                result = _error(lambda app=app, a=args, k=kwargs: app.run(*a, **k))
            out[name] = [result[0], list(calls), app.debug, banner.getvalue().splitlines()]
        for variable, value in (
            ("FLASK_DEBUG", "1"),
            ("FLASK_DEBUG", "0"),
            ("FLASK_ENV", "development"),
        ):
            os.environ[variable] = value
            app = api.Flask("run")
            calls.clear()
            with contextlib.redirect_stdout(io.StringIO()):
                app.run()
            out[f"{variable}={value}"] = [list(calls), app.debug]
            del os.environ[variable]
        app = api.Flask("run")
        app.before_first_request(lambda: None)
        app._got_first_request = True
        with contextlib.redirect_stdout(io.StringIO()):
            app.run()
        out["a first request is forgotten when run returns"] = app._got_first_request
    finally:
        werkzeug.serving.run_simple = real_run_simple
    return out


# --- 2. the test client: Flask's EnvironBuilder, session_transaction, redirects ------------


def seen_app(**config):
    app = api.Flask("client")
    app.secret_key = "side-by-side"
    app.config.update(config)

    @app.route("/", subdomain=config.get("subdomain_rule"))
    @app.route("/where")
    def where():
        r = api.request
        return api.jsonify(
            url=r.url, host=r.host, script_root=r.script_root, scheme=r.scheme,
            remote=r.remote_addr, agent=r.user_agent.string.split("/")[0],
        )  # fmt: skip

    @app.route("/session")
    def show_session():
        return api.jsonify(dict(api.session))

    @app.route("/hop")
    def hop():
        return api.redirect("/where")

    @app.route("/json", methods=["POST"])
    def echo_json():
        return api.jsonify(got=api.request.get_json())

    return app


def where(client, *args, **kwargs):
    return answer(client.get(*args, **kwargs))


def answer(response):
    text = response.get_data(as_text=True)
    return [response.status_code, json.loads(text) if text.startswith(("{", "[")) else text]


def client_cases():
    out = {}
    plain = seen_app().test_client()
    out["defaults"] = where(plain, "/where")
    out["environ_base"] = sorted(k for k in plain.environ_base)
    out["environ_base given"] = where(plain, "/where", environ_base={"REMOTE_ADDR": "10.1.1.1"})
    out["a full URL as the path"] = where(plain, "https://example.org:8443/where?x=1")
    out["base_url"] = where(plain, "/where", base_url="http://base.example/")
    out["url_scheme"] = where(plain, "/where", url_scheme="https")
    named = seen_app(SERVER_NAME="example.com:8000").test_client()
    out["SERVER_NAME"] = where(named, "/where")
    rooted = seen_app(APPLICATION_ROOT="/app").test_client()
    out["APPLICATION_ROOT"] = where(rooted, "/where")
    sub = seen_app(SERVER_NAME="example.com", subdomain_rule="api").test_client()
    out["subdomain"] = where(sub, "/", subdomain="api")
    out["subdomain and base_url"] = _error(
        lambda: where(plain, "/", subdomain="a", base_url="http://x/")
    )
    out["follow_redirects"] = where(plain, "/hop", follow_redirects=True)
    out["no follow"] = plain.get("/hop").status_code
    out["json="] = answer(plain.post("/json", json={"b": 1, "a": [1, 2]}))
    app = seen_app()
    builder = testing.EnvironBuilder(app, "/where", subdomain="a", url_scheme="https")
    out["EnvironBuilder"] = [builder.get_environ()[k] for k in ("HTTP_HOST", "wsgi.url_scheme")]
    builder.close()
    made = testing.make_test_environ_builder(app, "/where")
    out["make_test_environ_builder"] = made.get_environ()["PATH_INFO"]
    made.close()
    client = app.test_client()
    with client.session_transaction() as session:
        session["counter"] = 41
    out["session_transaction, then a request"] = where(client, "/session")
    with client.session_transaction() as session:
        out["session_transaction reads the cookie"] = dict(session)
        session["counter"] += 1
    out["and changes it"] = where(client, "/session")
    out["no outer request is seen"] = api.has_request_context()
    nokey = api.Flask("nokey")

    def no_session():
        with nokey.test_client().session_transaction():
            pass

    out["session_transaction without a secret key"] = _error(no_session)

    def no_cookies():
        with app.test_client(use_cookies=False).session_transaction():
            pass

    out["session_transaction without cookies"] = _error(no_cookies)
    with app.test_request_context("/where", subdomain="x", base_url=None):
        out["test_request_context(subdomain=)"] = api.request.host
    return out


# --- 3. config: from_object's siblings ------------------------------------------------------


def config_cases():
    out = {}
    folder = tempfile.mkdtemp()

    def hidden(text):  # the temporary folder's path differs between the two runs
        return text.replace(folder, "<folder>")

    for name, text in (
        ("settings.cfg", "SECRET_KEY = 'from a file'\nlower = 'skipped'\nDEBUG = True\n"),
        ("settings.json", '{"SECRET_KEY": "from json", "lower": 1, "TIMEOUT": 3}'),
        ("broken.cfg", "x = (\n"),
    ):
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    app = api.Flask("config", root_path=folder)
    out["root_path"] = hidden(app.config.root_path)
    out["from_pyfile"] = [app.config.from_pyfile("settings.cfg"), app.config["SECRET_KEY"]]
    out["from_pyfile skips lower case"] = ["lower" in app.config, app.config["DEBUG"]]
    out["from_pyfile, missing, silent"] = app.config.from_pyfile("missing.cfg", silent=True)
    out["from_pyfile, missing"] = [
        hidden(x) for x in _error(lambda: app.config.from_pyfile("missing.cfg"))
    ]
    out["from_pyfile, a syntax error"] = _error(lambda: app.config.from_pyfile("broken.cfg"))[0]
    out["from_json"] = [
        app.config.from_json("settings.json"),
        app.config["TIMEOUT"],
        "lower" in app.config,
    ]
    out["from_json, missing, silent"] = app.config.from_json("missing.json", silent=True)
    os.environ.pop("APP_SETTINGS", None)
    out["from_envvar, unset"] = _error(lambda: app.config.from_envvar("APP_SETTINGS"))
    out["from_envvar, unset, silent"] = app.config.from_envvar("APP_SETTINGS", silent=True)
    os.environ["APP_SETTINGS"] = os.path.join(folder, "settings.cfg")
    app.config["SECRET_KEY"] = "changed"
    out["from_envvar"] = [app.config.from_envvar("APP_SETTINGS"), app.config["SECRET_KEY"]]
    del os.environ["APP_SETTINGS"]
    out["from_mapping, a dict and keywords"] = [
        app.config.from_mapping({"A_B": 1, "low": 2}, C_D=3),
        app.config["A_B"],
        app.config["C_D"],
        "low" in app.config,
    ]
    out["from_mapping, pairs"] = [app.config.from_mapping([("E_F", 4)]), app.config["E_F"]]
    out["from_mapping, two positional"] = _error(lambda: app.config.from_mapping({}, {}))
    app.config.from_mapping(
        IMAGE_STORE_TYPE="fs", IMAGE_STORE_PATH="/var/app/images", IMAGE_STORE_BASE_URL="x"
    )
    out["get_namespace"] = sorted(app.config.get_namespace("IMAGE_STORE_").items())
    out["get_namespace, kept as is"] = sorted(
        app.config.get_namespace("IMAGE_STORE_", lowercase=False, trim_namespace=False)
    )
    config = api.Config(folder, {"A": 1})
    out["Config(root_path, defaults)"] = [
        hidden(config.root_path),
        dict(config),
        hidden(repr(config)),
    ]
    out["Config(root_path)"] = dict(api.Config(folder))
    out["default_config"] = [
        type(api.Flask.default_config).__name__,
        api.Flask.default_config["SESSION_COOKIE_NAME"],
        api.Flask.default_config["PERMANENT_SESSION_LIFETIME"].days,
        _error(lambda: api.Flask.default_config.__setitem__("X", 1)),
    ]
    out["a new app starts from default_config"] = all(
        api.Flask("d").config[k] == v
        for k, v in api.Flask.default_config.items()
        if k not in ("ENV", "DEBUG")
    )
    relative = api.Flask("relative", root_path=folder, instance_relative_config=True)
    out["instance_relative_config"] = hidden(relative.config.root_path)
    os.environ["FLASK_DEBUG"] = "1"
    out["FLASK_DEBUG at creation"] = api.Flask("debug").debug
    del os.environ["FLASK_DEBUG"]
    return out


# --- 4. hooks and handlers: url values, first request, endpoint, build errors ---------------


def hooks_cases():
    out = {}
    events = []
    app = api.Flask("hooks")
    bp = api.Blueprint("lang", __name__, url_prefix="/<lang_code>")

    @bp.url_defaults
    def add_language_code(endpoint, values):
        events.append(f"bp url_defaults {endpoint}")
        values.setdefault("lang_code", api.g.get("lang_code", "en"))

    @bp.url_value_preprocessor
    def pull_lang_code(endpoint, values):
        events.append(f"bp url_value_preprocessor {endpoint} {sorted(values)}")
        api.g.lang_code = values.pop("lang_code")

    @bp.before_request
    def bp_before():
        events.append("bp before_request")

    @bp.route("/about")
    def about():
        return f"about in {api.g.lang_code}: {api.url_for('.about')}"

    @bp.before_app_first_request
    def bp_first():
        events.append("bp before_app_first_request")

    @bp.before_app_request
    def bp_app_before():
        events.append("bp before_app_request")

    @bp.app_url_value_preprocessor
    def app_values(endpoint, values):
        events.append(f"app url_value_preprocessor from bp {endpoint}")

    @bp.app_url_defaults
    def app_defaults(endpoint, values):
        events.append(f"app url_defaults from bp {endpoint}")

    @bp.app_errorhandler(404)
    def not_found(e):
        return "bp's app-wide 404", 404

    bp.register_error_handler(KeyError, lambda e: ("bp KeyError", 500))

    @bp.route("/key")
    def key():
        return {}["missing"]

    @app.url_value_preprocessor
    def app_pre(endpoint, values):
        events.append(f"app url_value_preprocessor {endpoint} {sorted(values or {})}")

    @app.before_request
    def app_before():
        events.append("app before_request")

    @app.url_defaults
    def app_url_defaults(endpoint, values):
        events.append(f"app url_defaults {endpoint}")

    @app.endpoint("plain")
    def plain():
        return "by endpoint"

    app.add_url_rule("/plain", "plain")
    app.register_blueprint(bp)
    client = app.test_client()
    out["got_first_request before"] = app.got_first_request
    events.clear()
    out["GET /fr/about"] = [client.get("/fr/about").get_data(as_text=True), list(events)]
    out["got_first_request after"] = app.got_first_request
    events.clear()
    out["GET /plain"] = [client.get("/plain").get_data(as_text=True), list(events)]
    out["404 from the blueprint's app_errorhandler"] = client.get("/nothing").get_data(as_text=True)
    out["KeyError from register_error_handler"] = client.get("/de/key").get_data(as_text=True)
    with app.test_request_context("/"):
        events.clear()
        out["url_for with url_defaults"] = [api.url_for("lang.about", lang_code="zh"), list(events)]
        out["a build error"] = _error(lambda: api.url_for("nowhere"))

        def fallback(error, endpoint, values):
            return f"/fallback/{endpoint}"

        app.url_build_error_handlers.append(fallback)
        out["url_build_error_handlers"] = api.url_for("nowhere")

        def reraise(error, endpoint, values):
            raise error

        app.url_build_error_handlers[:] = [reraise]
        out["a handler that raises"] = _error(lambda: api.url_for("nowhere"))[0]
    return out


# --- 8. blueprints: dotted names, registered twice, dotted endpoints ------------------------


def blueprint_cases():
    out = {}
    app = api.Flask("bps")
    dotted = api.Blueprint("admin.users", __name__)
    dotted.route("/who")(lambda: api.request.blueprint)
    out["a dotted blueprint name"] = _error(
        lambda: app.register_blueprint(dotted, url_prefix="/a")
    )[0]
    out["its request.blueprint"] = app.test_client().get("/a/who").get_data(as_text=True)
    twice = api.Blueprint("twice", __name__)
    calls = []
    twice.before_request(lambda: calls.append("before"))

    @twice.route("/x")
    def x():
        return api.url_for("twice.x")

    app.register_blueprint(twice, url_prefix="/one")
    out["registered twice"] = _error(lambda: app.register_blueprint(twice, url_prefix="/two"))[0]
    client = app.test_client()
    out["both prefixes answer"] = [
        client.get(p).get_data(as_text=True) for p in ("/one/x", "/two/x")
    ]
    out["hooks recorded once"] = calls
    out["rules"] = sorted(r.rule for r in app.url_map.iter_rules() if r.endpoint == "twice.x")
    other = api.Blueprint("twice", __name__)
    out["another blueprint, the same name"] = _error(lambda: app.register_blueprint(other))[0]
    out["a dotted endpoint"] = _error(lambda: dotted.route("/y", endpoint="a.b")(lambda: "y"))
    out["a dotted view name"] = _error(lambda: dotted.add_url_rule("/z", view_func=_dotted()))
    return out


def _dotted():
    def view():
        return "z"

    view.__name__ = "some.view"
    return view


# --- 6. url_for's own arguments -------------------------------------------------------------


def url_for_cases():
    out = {}
    app = api.Flask("urls")
    app.config["SERVER_NAME"] = "example.com"
    app.route("/page/<int:n>", methods=["GET", "POST"])(lambda n: str(n))
    view = lambda: "p"  # noqa: E731
    app.add_url_rule("/only-post", "p", view, methods=["POST"])
    app.add_url_rule("/only-get", "p", view, methods=["GET"])
    with app.test_request_context("/"):
        u = api.url_for
        out["_anchor"] = u("<lambda>", n=1, _anchor="part two/x")
        out["_external"] = u("<lambda>", n=1, _external=True)
        out["_scheme with _external"] = u("<lambda>", n=1, _scheme="https", _external=True)
        out["_scheme without _external"] = _error(lambda: u("<lambda>", n=1, _scheme="https"))
        out["_method"] = [u("p", _method="POST"), u("p", _method="GET")]
        out["extra values are the query"] = u("<lambda>", n=2, q="a b", page=3)
    with app.app_context():
        out["outside a request: external"] = api.url_for("<lambda>", n=3)
    out["without an app context"] = _error(lambda: api.url_for("x"))
    return out


# --- 7. sessions: SERVER_NAME warnings -------------------------------------------------------


def session_warning_cases():
    out = {}
    for server_name in (
        "localhost",
        "localhost:5000",
        "127.0.0.1:5000",
        "example.com",
        "[::1]:5000",
    ):
        app = api.Flask("warn")
        app.secret_key = "k"
        app.config["SERVER_NAME"] = server_name
        app.route("/")(lambda: api.session.__setitem__("x", 1) or "ok")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response = app.test_client().get("/", base_url=f"http://{server_name}/")
        cookie = response.headers.get("Set-Cookie", "")
        domain = [p.strip() for p in cookie.split(";") if p.strip().lower().startswith("domain")]
        out[server_name] = [domain, sorted(str(w.message) for w in caught)]
    return out


# --- 9. errors: trapping, and the JSON decode error ------------------------------------------


def error_cases():
    out = {}
    for trap, debug in ((None, False), (None, True), (True, False), (False, True)):
        app = api.Flask("errors")
        app.debug = debug
        if trap is not None:
            app.config["TRAP_BAD_REQUEST_ERRORS"] = trap
        app.add_url_rule("/key", "key", lambda: api.request.form["missing"])
        app.add_url_rule("/json", "json", lambda: str(api.request.get_json()), methods=["POST"])
        client = app.test_client()

        def seen(response):
            text = response.get_data(as_text=True)
            return [response.status_code, "missing" in text, "Failed to decode JSON" in text]

        out[f"TRAP_BAD_REQUEST_ERRORS={trap}, debug={debug}"] = [
            _error(lambda c=client: seen(c.get("/key"))),
            _error(
                lambda c=client: seen(c.post("/json", data="{x", content_type="application/json"))
            ),
        ]
    for trap in (False, True):
        app = api.Flask("errors")
        app.config["TRAP_HTTP_EXCEPTIONS"] = trap
        app.add_url_rule("/", "root", lambda: api.abort(418))
        client = app.test_client()
        out[f"TRAP_HTTP_EXCEPTIONS={trap}"] = _error(lambda c=client: c.get("/").status_code)
    return out


# --- 10. jsonify and responses ----------------------------------------------------------------


def response_cases():
    out = {}
    app = api.Flask("responses")
    app.add_url_rule(
        "/headers-list", "headers_list", lambda: ("body", 201, [("X-A", "1"), ("X-A", "2")])
    )
    app.add_url_rule("/headers-dict", "headers_dict", lambda: ("body", {"X-B": "1"}))
    app.add_url_rule("/redirect", "redirect", lambda: api.redirect("/elsewhere"))
    app.add_url_rule("/location", "location", lambda: ("", 302, {"Location": "/relative"}))
    app.url_map.add(api.Flask.url_rule_class("/raw", endpoint="raw"))
    app.view_functions["raw"] = lambda: "raw"
    client = app.test_client()
    r = client.get("/headers-list")
    out["a list of headers"] = [r.status_code, r.headers.getlist("X-A")]
    out["a dict of headers"] = client.get("/headers-dict").headers.get("X-B")
    out["redirect's Location"] = client.get("/redirect").headers["Location"]
    out["a Location header"] = client.get("/location").headers["Location"]
    raw = client.open("/raw", method="OPTIONS")
    out["a Rule added to url_map"] = [
        raw.status_code,
        sorted(raw.headers.get("Allow", "").split(", ")),
    ]
    with app.test_request_context("/"):
        j = api.jsonify
        out["jsonify args and kwargs"] = _error(lambda: j(1, a=2))
        out["jsonify a date"] = j(d=datetime.date(2020, 1, 2)).get_data(as_text=True)
        out["jsonify a datetime"] = j(datetime.datetime(2020, 1, 2, 3, 4, 5)).get_data(as_text=True)
        out["jsonify a UUID"] = j(uuid.UUID(int=1)).get_data(as_text=True)
        out["jsonify several"] = j(1, 2).get_data(as_text=True)
        out["jsonify nothing"] = j().get_data(as_text=True)
        out["jsonify's mimetype"] = j([]).mimetype
        out["request.url_charset"] = _error(lambda: api.request.url_charset)
    return out


# --- 5. helpers: make_response, templates with request, session and g -------------------------


def helper_cases():
    out = {}
    app = api.Flask("helpers")
    app.secret_key = "k"
    with app.test_request_context("/?name=alex"):
        mr = api.make_response
        out["make_response()"] = [mr().status_code, mr().get_data(as_text=True)]
        out["make_response(body)"] = mr("hi").get_data(as_text=True)
        out["make_response(body, status)"] = mr("hi", 404).status_code
        out["make_response(body, status, headers)"] = mr("hi", 201, {"X": "1"}).headers["X"]
        out["make_response((body, headers))"] = mr(("hi", {"X": "2"})).headers["X"]
        out["make_response(a dict)"] = mr({"a": 1}).mimetype
        api.g.user = "g-user"
        api.session["who"] = "session-user"
        template = (
            "{{ request.args.name }} {{ session.who }} {{ g.user }} {{ config.SECRET_KEY }} {{ x }}"
        )
        out["render_template_string"] = api.render_template_string(template, x=1)
        out["autoescape"] = api.render_template_string("{{ v }}", v="<b>")
        out["Markup"] = str(api.Markup("<b>%s</b>") % "<i>")
        out["url_for in a template"] = api.render_template_string(
            "{{ url_for('static', filename='a.css') }}"
        )
    folder = tempfile.mkdtemp()
    os.mkdir(os.path.join(folder, "templates"))
    with open(os.path.join(folder, "templates", "hello.html"), "w") as f:
        f.write("Hello {{ name }} from {{ request.path }}")
    files = api.Flask("files", root_path=folder)
    with files.test_request_context("/here"):
        out["render_template"] = api.render_template("hello.html", name="alex")
        out["a missing template"] = _error(lambda: api.render_template("nope.html"))[0]
    return out


# --- 11. seven cases of Flask 1.1.1's own test suite that Werkzeug 3 does not rule out -----


def own_suite_cases():
    """test_basic::test_static_route_with_host_matching, ::test_debug_mode_complains_after_
    first_request, ::test_max_cookie_size; test_blueprints::test_blueprint_url_defaults,
    ::test_endpoint_decorator; test_testing::test_client_pop_all_preserved;
    test_reqctx::test_bad_environ_raises_bad_request — each as that test does it."""
    out = {}
    hosted = api.Flask("hosted", host_matching=True, static_host="example.com")
    with hosted.test_request_context():
        out["static_host: url_for"] = api.url_for("static", filename="a.css", _external=True)
    out["static_host without host_matching"] = _error(
        lambda: api.Flask("x", static_host="example.com")
    )[0]
    out["host_matching without static_host"] = _error(lambda: api.Flask("x", host_matching=True))[0]
    out["host_matching, no static folder"] = _error(
        lambda: api.Flask("x", host_matching=True, static_folder=None)
    )[0]

    app = api.Flask("late")
    app.debug = True
    app.route("/")(lambda: "Awesome")
    before = app.got_first_request
    first = app.test_client().get("/").get_data(as_text=True)
    late = _error(lambda: app.route("/foo", endpoint="broken")(lambda: "Meh"))
    app.debug = False
    app.route("/foo", endpoint="working")(lambda: "Meh")
    out["a setup method after the first request, in debug"] = [
        before, first, late[0], "A setup function was called" in str(late[1]),
        app.test_client().get("/foo").get_data(as_text=True), app.got_first_request,
    ]  # fmt: skip

    sized = api.Flask("sized")
    sized.config["MAX_COOKIE_SIZE"] = 100
    outside = api.Response().max_cookie_size
    with sized.app_context():
        inside = api.Response().max_cookie_size

    @sized.route("/")
    def big_cookie():
        response = api.Response("", status=204)
        response.set_cookie("foo", "bar" * 100)
        return response

    warned = []
    for size in (100, 0):
        sized.config["MAX_COOKIE_SIZE"] = size
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sized.test_client().get("/")
        warned.append(["cookie is too large" in str(w.message) for w in caught])
    out["MAX_COOKIE_SIZE"] = [
        outside, api.Flask.default_config.get("MAX_COOKIE_SIZE"), inside, warned,
    ]  # fmt: skip

    app, bp = api.Flask("defaults"), api.Blueprint("test", "defaults")
    bp.route("/foo", defaults={"baz": 42})(lambda bar, baz: f"{bar}/{baz}")
    bp.add_url_rule("/bar", "bar", lambda bar: str(bar))
    app.register_blueprint(bp, url_prefix="/1", url_defaults={"bar": 23})
    app.register_blueprint(bp, url_prefix="/2", url_defaults={"bar": 19})
    client = app.test_client()
    out["register_blueprint(url_defaults=...)"] = [
        client.get(path).get_data(as_text=True) for path in ("/1/foo", "/2/foo", "/1/bar", "/2/bar")
    ]

    import werkzeug.routing

    app, bp = api.Flask("endpoints"), api.Blueprint("bp", "endpoints")
    app.url_map.add(
        werkzeug.routing.Submount(
            "/foo",
            [
                werkzeug.routing.Rule("/bar", endpoint="bar"),
                werkzeug.routing.Rule("/", endpoint="index"),
            ],
        )
    )
    bp.endpoint("bar")(lambda: api.request.endpoint)
    bp.endpoint("index")(lambda: api.request.endpoint)
    app.register_blueprint(bp)
    client = app.test_client()
    out["a blueprint's endpoint decorator"] = [
        client.get("/foo/").get_data(as_text=True), client.get("/foo/bar").get_data(as_text=True)
    ]  # fmt: skip

    app = api.Flask("preserved")
    app.route("/")(lambda: api.Response(api.stream_with_context("hello")))

    def preserved():
        with app.test_request_context() as outer:
            with app.test_client() as client:
                client.get("/")
            return api._request_ctx_stack.top is outer

    out["with client: every preserved context popped"] = _error(preserved)

    app = api.Flask("badhost")
    builder = testing.EnvironBuilder(app)
    environ = builder.get_environ()
    environ["HTTP_HOST"] = "\x8a"
    with app.request_context(environ):
        out["a Host of \\x8a"] = app.full_dispatch_request().status_code
    return out


def template_cases():
    """内容回顾 3, 5 and 10: template_filter, template_global, Python-like expressions; 003 三:
    the app's templates folder before a blueprint's."""
    out = {}
    with tempfile.TemporaryDirectory() as root:
        for folder, text in (("templates", "app's page"), ("bp_templates", "blueprint's page")):
            os.makedirs(os.path.join(root, folder))
            with open(os.path.join(root, folder, "page.html"), "w") as f:
                f.write(text)
        with open(os.path.join(root, "bp_templates", "only.html"), "w") as f:
            f.write("only the blueprint's")
        app = api.Flask("crm", root_path=root)
        bp = api.Blueprint("ac", "crm", template_folder="bp_templates", root_path=root)
        bp.add_url_rule("/page", "page", lambda: api.render_template("page.html"))
        bp.add_url_rule("/only", "only", lambda: api.render_template("only.html"))
        bp.add_url_rule("/none", "none", lambda: api.render_template("none.html"))
        app.register_blueprint(bp, url_prefix="/ac")
        app.template_filter()(lambda x: x * 2)
        app.template_filter("double")(lambda x: x * 2)
        app.template_global("sb")(lambda name: f"hi {name}")
        app.add_template_global(len, "size")
        source = "{{ 21|double }} {{ sb('alex') }} {{ size([1, 2]) }} {{ [1, 2, 3][1:] }} "
        source += "{{ {'a': 1}.items()|list }} {{ 'x' if 1 > 0 else 'y' }} {{ '<b>' }}"
        app.add_url_rule("/t", "t", lambda: api.render_template_string(source))
        client = app.test_client()
        for path in ("/ac/page", "/ac/only", "/t"):
            out[path] = client.get(path).get_data(as_text=True)
        app.logger.disabled = True  # the 500 below logs its traceback
        out["/ac/none"] = client.get("/ac/none").status_code
        out["filters named"] = sorted(
            k for k in ("<lambda>", "double") if k in app.jinja_env.filters
        )
        with app.app_context():
            listed = app.jinja_env.list_templates()  # 1.1.1's comes from a set: any order
            out["listed"] = sorted(t for t in listed if t.endswith(".html"))
    return out


CASES = {
    "run": run_cases,
    "client": client_cases,
    "config": config_cases,
    "hooks": hooks_cases,
    "blueprints": blueprint_cases,
    "url_for": url_for_cases,
    "sessions": session_warning_cases,
    "errors": error_cases,
    "responses": response_cases,
    "helpers": helper_cases,
    "own_suite": own_suite_cases,
    "templates": template_cases,
}


if __name__ == "__main__":
    print(
        json.dumps(
            {name: case() for name, case in CASES.items()},
            ensure_ascii=False,
            indent=1,
            default=repr,
        )
    )
