"""07 — the notes' review of Flask's basics, run on 05's Flask: WSGI and run_simple, config,
routing, blueprints and subdomains, class-based views, the session across requests, a session
interface of one's own, and the notes' copies of Flask's source.

Notes: 000 内容回顾 2 (wsgiref, run_simple, and 7.1's `app.run()` reaching run_simple), 8
(CBV) and 11 (蓝图); 003 一、flask配置文件, 二、路由系统, 三、蓝图, 四、子域名, session流程's
second request; 000 补充：自定义session; the notes' copies of Flask 1.1.1's `wsgi_app`,
`RequestContext.push`, `try_trigger_before_first_request_functions`, `process_response` and
the pops, and the seven of them that are not Python as printed (notes_as_printed/).

Over 05 this adds no machinery: these blocks of the notes use a Flask app rather than explain
its contexts, so they live beside 05's lesson instead of inside it. Each runs on 05's Flask,
and where the notes' code is wrong, the notes' version runs first, fails, and the fix runs
beside it; where the notes' text is not Python, it is compiled and its error shown, and what
runs is said to be adapted.

Run:  python 07_flask_basics.py
Test: python -m pytest tests/test_07_flask_basics.py
"""

import importlib
import os
import secrets
import tempfile
import threading
import time
import traceback
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import timedelta
from functools import update_wrapper, wraps
from pathlib import Path

from werkzeug.routing import BaseConverter
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from instruments import cli, sections, served_once, version_table, watching

lifecycle = importlib.import_module("05_lifecycle")
Flask, Blueprint, Config = lifecycle.Flask, lifecycle.Blueprint, lifecycle.Config
RequestContext, request = lifecycle.RequestContext, lifecycle.request
AppContext, _sentinel = lifecycle.AppContext, object()
flask111 = importlib.import_module("flask111")  # Flask 1.1.1's API beyond the notes, on 05
session, has_request_context = lifecycle.session, flask111.has_request_context
View, MethodView = flask111.View, flask111.MethodView  # 回顾 8's CBV: Flask 1.1.1's flask/views.py
_request_ctx_stack, _app_ctx_stack = lifecycle._request_ctx_stack, lifecycle._app_ctx_stack


# ==========================================================================================
# 内容回顾 2 — django之前 / flask之前: a WSGI app, served by wsgiref and by run_simple
# ==========================================================================================


def wsgiref_app(environ, start_response):
    """内容回顾 2, django之前: a WSGI app is a callable(environ, start_response)."""
    start_response("200 OK", [("Content-Type", "text/html")])
    return [bytes("<h1>Hello, web!</h1>", encoding="utf-8")]


def werkzeug_app(environ, start_response):
    """内容回顾 2, flask之前 — with Response: the notes' BaseResponse is gone (10: wsgi)."""
    response = Response("你好")
    return response(environ, start_response)


def narrate_wsgi(app=None, out=print):
    """内容回顾 2: a WSGI app served by wsgiref and by run_simple, then 05's app by run_simple."""
    app = app or lifecycle.create_app()
    from wsgiref.simple_server import WSGIRequestHandler
    from wsgiref.simple_server import make_server as wsgiref_make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    out("")
    out("== 内容回顾 2 wsgi: an app is a callable(environ, start_response) ==")
    status, body = served_once.serve_once(
        lambda a: wsgiref_make_server("127.0.0.1", 0, a, handler_class=Quiet), wsgiref_app
    )
    out(f"wsgiref make_server(run) -> GET / -> {status} {body!r}")
    try:
        exec("from werkzeug.wrappers import BaseResponse", {})
    except ImportError as exc:
        out("the notes' `from werkzeug.wrappers import BaseResponse` -> ImportError:")
        out(f"  {str(exc).split(' (')[0]}")
    status, body = served_once.run_simple_once(werkzeug_app)
    out(f"fixed with Response('你好'); run_simple(host, port, app) -> GET / -> {status} {body!r}")
    out(
        f"and Flask.__call__ is such a callable: app(environ, start_response) -> "
        f"{b''.join(app(EnvironBuilder('/index').get_environ(), lambda *a: None))!r}"
    )
    frames = []  # 7.1 运行flask: app.run() -> run_simple(host, port, self) -> self(environ, ...)
    run_app = Flask("run")
    run_app.route("/")(lambda: frames.extend(traceback.extract_stack()) or "hello")
    status, body = served_once.run_simple_once(run_app, run=run_app.run)
    out(f"app.run('127.0.0.1', port) -> GET / -> {status} {body!r}; the view was called by:")
    server = [f.name for f in frames if f.filename.endswith("serving.py")]
    flask = [f"app.{f.name}" for f in frames if f.filename.endswith("05_lifecycle.py")]
    out(f"  {flask[0]} -> {' -> '.join(server)}")
    out(f"  -> {' -> '.join(flask[1:])} -> the view")


# ==========================================================================================
# 一、flask配置文件 — the principle: import a class by its dotted path, keep its UPPER names
# ==========================================================================================


def narrate_config_principle(out=print):
    out("")
    out("== 003 一、flask配置文件: import_module + getattr, the principle of from_object ==")
    path = f"{lifecycle.__name__}.DemoConfig"  # 05's settings class, by its dotted path
    module_name, class_name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_name), class_name)
    by_hand = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    out(f"import_module({module_name!r}), getattr(module, {class_name!r}), upper-case names:")
    out(f"  {by_hand}")
    config = Config(os.getcwd())  # Config(root_path): where from_pyfile would look
    config.from_object(path)
    out(f"app.config.from_object({path!r}) takes the same: {dict(config) == by_hand}")


# ==========================================================================================
# 二、路由系统 — converters, a regex converter, endpoints, strict_slashes, redirect_to, CBV
# ==========================================================================================


class RegexConverter(BaseConverter):
    """自定义正则路由: <regex("..."):name> matches what the pattern matches."""

    def __init__(self, url_map, regex):
        super().__init__(url_map)
        self.regex = regex


def routing_app():
    """003 二、路由系统 and 000 回顾 6-8, on one app."""
    app = Flask("routing")
    app.url_map.converters["regex"] = RegexConverter

    @app.route("/index", endpoint="index")  # 方式一: the decorator (endpoint= names the rule)
    def index():
        return "index"

    app.add_url_rule("/", "index", index)  # 方式二, as 003 writes it; one function, two rules
    for rule in (
        "/user/<username>",
        "/post/<int:post_id>",
        "/price/<float:value>",
        "/file/<path:subpath>",
        "/uuid/<uuid:uid>",
        "/lang/<any(zh, en):lang>",
        r'/phone/<regex("1[3-9]\d{9}"):number>',
    ):
        app.add_url_rule(rule, rule.split("/")[1], _show_args)
    app.add_url_rule("/strict/", "strict", lambda: "strict")
    app.add_url_rule("/loose", "loose", lambda: "loose", strict_slashes=False)
    app.add_url_rule("/old/<int:nid>", "old", redirect_to="/home/<nid>")
    app.add_url_rule(
        "/older/<int:nid>", "older", redirect_to=lambda adapter, nid: f"/home/{nid + 1000}"
    )
    app.add_url_rule("/no-options", "no_options", lambda: "x", provide_automatic_options=False)

    class UserAPI(MethodView):
        def get(self):
            return "GET users"

        def post(self):
            return "POST users"

    app.add_url_rule("/users", view_func=UserAPI.as_view("users"))
    return app


def _show_args(**kwargs):
    return ", ".join(f"{k}={v!r} ({type(v).__name__})" for k, v in kwargs.items())


def check_login(func):
    """回顾 7's login check: refuses a request without ?user=."""

    @wraps(func)
    def inner(*args, **kwargs):
        if not lifecycle.request.args.get("user"):
            return "login required", 401
        return func(*args, **kwargs)

    return inner


def decorator_placement_app():
    """回顾 7: 如果给视图加装饰器：放route下面 — the decorator goes below @route."""
    app = Flask("placement")

    @app.route("/below")
    @check_login  # below @route: route registers the checked view
    def below():
        return "the view ran"

    @check_login  # above @route: route has already registered the bare view
    @app.route("/above")
    def above():
        return "the view ran"

    return app


def login_required(func, keep_name=True):
    """A view decorator; keep_name=False is the version without functools.wraps."""

    def inner(*args, **kwargs):
        return func(*args, **kwargs)

    return update_wrapper(inner, func) if keep_name else inner


def narrate_routing(out=print):
    out("")
    out("== 003 二、路由系统 / 000 回顾 6-8: rules, converters, endpoints, CBV ==")
    from werkzeug.routing.converters import DEFAULT_CONVERTERS

    out("werkzeug.routing DEFAULT_CONVERTERS:")
    names = [f"{k}: {v.__name__}" for k, v in DEFAULT_CONVERTERS.items()]
    out("  " + ", ".join(names[:4]))
    out("  " + ", ".join(names[4:]))
    app = routing_app()
    out("the rules added with options (strict_slashes defaults to True):")
    for rule in (r for r in app.url_map.iter_rules() if r.redirect_to or not r.strict_slashes):
        option = getattr(rule.redirect_to, "__name__", repr(rule.redirect_to))
        option = f"redirect_to={option}" if rule.redirect_to else "strict_slashes=False"
        out(f"  add_url_rule({rule.rule!r}, {rule.endpoint!r}, {option})")
    client = app.test_client()
    for path in (
        "/",
        "/index",
        "/user/alex",
        "/post/7",
        "/price/9.5",
        "/file/a/b.txt",
        "/uuid/12345678-1234-5678-1234-567812345678",
        "/lang/zh",
        "/lang/fr",
        "/phone/13812345678",
        "/phone/123",
        "/strict",
        "/loose/",
        "/old/5",
        "/older/5",
        "/users",
    ):
        response = client.get(path)
        where = f"-> Location {response.headers['Location']}" if response.location else ""
        body = response.get_data(as_text=True) if response.status_code == 200 else ""
        out(
            f"  GET {path if len(path) < 30 else path[:26] + '...':<30} "
            f"{response.status_code} {body}{where}"
        )
    out(
        f"  POST /users -> {client.post('/users').text!r}; OPTIONS /no-options -> "
        f"{client.open('/no-options', method='OPTIONS').status_code} "
        "(provide_automatic_options=False)"
    )
    view = app.view_functions["users"]
    out(
        f"UserAPI.as_view('users') is a function {view.__name__!r}, view_class "
        f"{view.view_class.__name__}, methods {sorted(view.methods)};"
    )
    out(f"  a closure over {view.__code__.co_freevars} (回顾 8: 闭包的应用场景)")
    broken = Flask("decorated")
    broken.route("/a")(login_required(lambda: "a", keep_name=False))
    try:
        broken.route("/b")(login_required(lambda: "b", keep_name=False))
    except AssertionError as exc:
        out("two views under a decorator without functools.wraps -> AssertionError:")
        out(f"  {exc}")

    def page_a():
        return "a"

    def page_b():
        return "b"

    fixed = Flask("decorated")
    fixed.route("/a")(login_required(page_a))
    fixed.route("/b")(login_required(page_b))
    out(
        f"with functools.wraps (update_wrapper) the endpoints keep their names: "
        f"{sorted(e for e in fixed.view_functions if e != 'static')}"
    )
    client = decorator_placement_app().test_client()
    out("回顾 7, the decorator goes below @route (放route下面), a request without ?user=:")
    for path, where in (("/below", "below"), ("/above", "above")):
        response = client.get(path)
        answer = f"{response.status_code} {response.text!r}"
        out(f"  @check_login {where} @app.route: GET {path} -> {answer}")
    out("  above, route registered the function before check_login wrapped it: never checked")
    try:
        Flask("options").add_url_rule("/x", "x", lambda: "x", options=["GET", "POST"])
    except TypeError as exc:
        out("003's options=['GET','POST'] -> TypeError; the keyword is methods=:")
        out(f"  {exc}")


# ==========================================================================================
# 三、蓝图 and 四、子域名 — blueprints with their own folders and prefix, subdomains
# ==========================================================================================


def narrate_blueprints(out=print):
    out("")
    out("== 003 三、蓝图 and 四、子域名 ==")
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        for folder, files in (
            ("static", {"a.txt": "app's a"}),
            ("bp_static", {"a.txt": "blueprint's a", "b.txt": "blueprint's b"}),
        ):
            os.makedirs(os.path.join(root, folder))
            for name, text in files.items():
                with open(os.path.join(root, folder, name), "w", encoding="utf-8") as f:
                    f.write(text)
        app = Flask("crm", root_path=root)
        ac = Blueprint("ac", "crm", static_folder="bp_static", root_path=root)
        ac.route("/login")(lambda: "login")
        ran = []  # 003 三: the app's before_request runs for every request, ac's for its own
        app.before_request(lambda: ran.append("app's"))
        ac.before_request(lambda: ran.append("ac's"))  # recorded: register_blueprint replays it
        app.register_blueprint(ac, url_prefix="/xxxx")  # the notes: register_blurprint (typo)
        added = sorted(r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("ac."))
        out(f"  register_blueprint(ac, url_prefix='/xxxx') added {added}")
        same = Blueprint(
            "same", "crm", static_folder="bp_static", static_url_path="/static", root_path=root
        )
        app.register_blueprint(same)
        client = app.test_client()
        for path in ("/static/a.txt", "/xxxx/login"):
            ran.clear()
            client.get(path)
            out(f"  GET {path:<14} before_request ran: {ran}")
        for path in ("/xxxx/login", "/xxxx/static/b.txt", "/static/a.txt", "/static/b.txt"):
            response = client.get(path)
            body = response.get_data(as_text=True) if response.status_code == 200 else ""
            out(f"  GET {path:<20} {response.status_code} {body}")
    out("-> a blueprint's static folder is served under its url_prefix; at the same URL as the")
    out("   app's, the app's rule matches first and there is no fallback (003's lookup order is")
    out("   about templates)")
    try:
        app.register_blurprint(ac)
    except AttributeError as exc:
        out(f"003's app.register_blurprint(ac) -> AttributeError:\n  {exc}")
    twice = Blueprint("ac", "crm")
    for text in ("first", "second"):  # 003 defines `def login` twice on one blueprint
        twice.route("/login")(_named("login", lambda text=text: text))
    try:
        Flask("crm").register_blueprint(twice)
    except AssertionError as exc:
        out("003's two `def login` on one blueprint -> AssertionError:")
        out(f"  {exc}")
    subs = Flask("subdomains")
    subs.config["SERVER_NAME"] = "example.com"
    public = Blueprint("public", "subdomains")
    public.route("/")(lambda: "hello flask")
    member = Blueprint("member", "subdomains")

    @member.route("/")  # 003 decorates with an undefined `member` and returns an unset g.subdomain
    def home(subdomain):
        return f"member {subdomain}"

    subs.register_blueprint(public, subdomain="public")
    subs.register_blueprint(member, subdomain="<subdomain>")
    client = subs.test_client()
    for host in ("public.example.com", "alice.example.com"):
        out(f"  GET http://{host}/ -> {client.get('/', base_url=f'http://{host}').text!r}")
    out("-> fixed: the wildcard's value arrives as the view's argument; Flask >= 3.1 also needs")
    out("   Flask(..., subdomain_matching=True) for this")


# ==========================================================================================
# 内容回顾 3, 5, 10 — templates: template_global, template_filter, Python's own syntax; and
# 003 三's folders: the app's templates first, a blueprint's after (flask111's templates)
# ==========================================================================================


def templates_app(root):
    """内容回顾 5: functions every template can use; 003 三: the notes' Blueprint, with a
    template_folder and a static_url_path (and no static_folder), its page.html beside the
    app's."""
    for folder, text in (("templates", "the app's page.html"), ("xxxx", "ac's page.html")):
        os.makedirs(os.path.join(root, folder))
        with open(os.path.join(root, folder, "page.html"), "w", encoding="utf-8") as f:
            f.write(text)
    app = flask111.Flask("crm", root_path=root)
    ac = flask111.Blueprint(
        "ac", "crm", template_folder="xxxx", static_url_path="xxx", root_path=root
    )
    ac.route("/page")(lambda: flask111.render_template("page.html"))
    app.register_blueprint(ac, url_prefix="/ac")

    @app.template_global()
    def sb(a1, a2):  # {{ sb(1, 2) }}
        return a1 + a2

    @app.template_filter()
    def db(a1, a2, a3):  # {{ 1|db(2, 3) }}: the value before | is the first argument
        return a1 + a2 + a3

    return app


def narrate_templates(out=print):
    out("")
    out("== 内容回顾 5 template_global / template_filter, 10 Python's syntax; 003 三's folders ==")
    with tempfile.TemporaryDirectory() as root:
        app = templates_app(root)
        with app.test_request_context("/"):
            for source in (
                "{{ sb(1, 2) }} {{ 1|db(2, 3) }}",
                "{{ [1, 2, 3][1:] }} {{ {'k': 'v'}['k'] }} {{ 'yes' if 1 < 2 else 'no' }}",
                "{{ request.path }} {{ '<b>' }}",
            ):
                out(f"render_template_string({source!r})")
                out(f"  -> {flask111.render_template_string(source)!r}")
        page = app.test_client().get("/ac/page").text
        out(f"GET /ac/page, ac's view: render_template('page.html') -> {page!r}")
        statics = sorted(r.rule for r in app.url_map.iter_rules() if r.endpoint.endswith("static"))
    out("-> 003 is right for templates: the app's templates folder is searched first, then each")
    out("   blueprint's; static_url_path='xxx' without a static_folder adds no static route:")
    out(f"   {statics} (the app's alone)")


# ==========================================================================================
# session流程 — 当请求第二次到来时: the cookie comes back, signed but not encrypted (003)
# ==========================================================================================


def narrate_sessions(app=None, out=print):
    """session流程 across requests: the cookie comes back, signed but not encrypted"""
    app = app or lifecycle.create_app()
    out("")
    out("== session流程 across requests: the cookie comes back, signed but not encrypted ==")
    client = app.test_client()
    first, cookie = client.get("/session").text, client.get_cookie("session").value
    payload, rest = cookie.split(".", 1)
    out(f"GET /session -> {first!r}, and Set-Cookie: session={payload}.<time>.<signature>")
    out(f"GET /session with that cookie -> {client.get('/session').text!r} (open_session read it)")
    readable = urlsafe_b64decode(payload + "==").decode()
    out(f"its first part is JSON in base64, which anyone can read: {readable}")
    forger = app.test_client()
    forger.set_cookie("session", urlsafe_b64encode(b'{"counter":99}').decode() + "." + rest)
    out(f"that part changed to counter 99 -> {forger.get('/session').text!r}: BadSignature, a new")
    out("  empty session (the signature covers the payload; SECRET_KEY makes the signature)")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=-1)  # expired without waiting
    late = app.test_client()
    late.set_cookie("session", cookie)
    out(
        f"the first cookie, its lifetime passed -> {late.get('/session').text!r}: SignatureExpired,"
    )
    out("  a new session (PERMANENT_SESSION_LIFETIME is -1 s here, so as not to wait)")


# ==========================================================================================
# 补充：自定义session — a SessionInterface of our own: the data on the server, an id in the cookie
# ==========================================================================================


class ServerSideSession(lifecycle.SecureCookieSession):
    def __init__(self, initial=None, sid=None):
        super().__init__(initial)
        self.sid = sid


class ServerSideSessionInterface(lifecycle.SessionInterface):
    """000's 补充：自定义session: the data stays on the server (here, in this process's memory);
    the cookie holds only a random id. Swap it in with app.session_interface = ...

    Where the data lives is three methods, load/save/delete: 06 keeps it in MariaDB instead,
    which every worker process of a server can read (process memory is one worker's only).
    Stored data expires after PERMANENT_SESSION_LIFETIME, and memory holds at most
    `max_sessions`: the least recently saved go first.
    """

    max_sessions = 10_000

    def __init__(self):
        self.store = {}  # session id -> the session's data, least recently saved first
        self.expires = {}  # session id -> time.time() after which it is gone
        self.lock = threading.Lock()

    def load(self, sid):
        with self.lock:
            if self.expires.get(sid, 0) <= time.time():
                self._forget(sid)
                return None
            return self.store[sid]

    def save(self, sid, data, expires=None):
        with self.lock:
            self._forget(sid)  # saved again: now the most recent
            self.store[sid] = data
            self.expires[sid] = self.default_expiry() if expires is None else expires
            while len(self.store) > self.max_sessions:
                self._forget(next(iter(self.store)))  # the least recently saved

    def delete(self, sid):
        with self.lock:
            self._forget(sid)

    @staticmethod
    def default_expiry():
        """When data saved now expires, with Flask's default lifetime (31 days)."""
        lifetime = lifecycle.Flask.default_config["PERMANENT_SESSION_LIFETIME"]
        return time.time() + lifetime.total_seconds()

    def _forget(self, sid):
        self.store.pop(sid, None)
        self.expires.pop(sid, None)

    def open_session(self, app, request):
        sid = request.cookies.get(app.session_cookie_name)
        data = self.load(sid) if sid else None
        if data is None:  # no cookie, an unknown id, expired, or forged: a new session
            return ServerSideSession(sid=secrets.token_urlsafe(16))
        return ServerSideSession(data, sid=sid)

    def save_session(self, app, session, response):
        name, domain, path = (
            app.session_cookie_name,
            self.get_cookie_domain(app),
            self.get_cookie_path(app),
        )
        if not session:
            if session.modified:
                self.delete(session.sid)
                response.delete_cookie(name, domain=domain, path=path)
            return
        if not self.should_set_cookie(app, session):
            return
        lifetime = app.permanent_session_lifetime.total_seconds()
        self.save(session.sid, dict(session), expires=time.time() + lifetime)
        response.set_cookie(
            name,
            session.sid,
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=domain,
            path=path,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )


def narrate_custom_session(out=print):
    out("")
    out("== 补充：自定义session: app.session_interface = ServerSideSessionInterface() ==")
    custom = lifecycle.create_app()
    custom.session_interface = interface = ServerSideSessionInterface()
    client = custom.test_client()
    bodies = [client.get("/session").get_data(as_text=True) for _ in range(3)]
    cookie = client.get_cookie("session").value
    out(f"GET /session three times, one client -> {bodies}")
    out(f"the cookie holds only a random id: session=<{len(cookie)} random characters>")
    stored = {"<that id>" if sid == cookie else sid: data for sid, data in interface.store.items()}
    out(f"the data stays on the server, in interface.store = {stored}")
    forged = custom.test_client().get("/session", headers={"Cookie": "session=forged"}).text
    out(f"a forged id is a new, empty session: {forged!r}")
    out("003's flask-session: Session(app) sets one like it from SESSION_TYPE (Redis, files, ...);")
    out("  not installed here, a library of stores (and the notes pip-install falsk-session)")


# ==========================================================================================
# The notes' copies of Flask's source — run as written (or, where the text is not Python, as
# close as runs, said so), each failing, and the fix beside it
# ==========================================================================================


def _named(name, func):
    func.__name__ = name
    return func


def _notes_wsgi_app(self, environ, start_response):
    """000's wsgi_app exactly: `error = e` only happens in the except branch."""
    ctx = self.request_context(environ)
    ctx.push()
    try:
        try:
            response = self.full_dispatch_request()
        except Exception as e:
            error = e
            response = self.handle_exception(e)
        return response(environ, start_response)
    finally:
        ctx.auto_pop(error)  # noqa: F821 - unbound when nothing failed: the notes' bug


class NotesPushRequestContext(RequestContext):
    """000's 第2步, adapted: its indentation kept (the request push inside the `if`), its
    session lines left out (as printed the block is not Python: its `raise` line's string is
    never closed; see narrate_as_printed), `_implicit_app_ctx_stack` kept so that pop works."""

    def push(self):
        app_ctx = _app_ctx_stack.top
        if app_ctx is None or app_ctx.app != self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
            self._implicit_app_ctx_stack.append(app_ctx)
            _request_ctx_stack.push(self)
            self.session = self.app.session_interface.open_session(self.app, self.request)
        else:
            self._implicit_app_ctx_stack.append(None)


class NotesFirstRequestFlask(Flask):
    """000's 3.1 as written in the notes."""

    def try_trigger_before_first_request_functions(self):
        with self._before_request_lock:  # no _got_first_request flag
            for func in self.before_first_request_funcs:
                func()


class NotesProcessResponseFlask(Flask):
    """000's 3.4.1, adapted: as printed its last lines run together and are not Python (see
    narrate_as_printed); here they are the `save_session` call they mean."""

    def process_response(self, response):
        ctx = _request_ctx_stack.top
        for handler in ctx._after_request_functions:  # only after_this_request's
            response = handler(response)
        if not self.session_interface.is_null_session(ctx.session):
            self.session_interface.save_session(self, ctx.session, response)
        return response


class NotesPopRequestContext(RequestContext):
    """第5步's RequestContext.pop as the notes copy it, re-indented (as printed it is an
    IndentationError): the line that takes `app_ctx` off `_implicit_app_ctx_stack` is left
    out, and with it what made the test below true."""

    def pop(self, exc=_sentinel):
        try:
            if not self._implicit_app_ctx_stack:
                # 5.1
                self.app.do_teardown_request(exc)
        finally:
            rv = _request_ctx_stack.pop()  # noqa: F841 (the notes' line)
            if app_ctx is not None:  # noqa: F821 (never assigned: the notes' bug)
                # 5.2
                app_ctx.pop(exc)  # noqa: F821


class NotesPopAppContext(AppContext):
    """第5.2步's AppContext.pop as the notes copy it, with its `try:` closed by a `finally`
    that does nothing: no `self._refcnt -= 1` and no `_app_ctx_stack.pop()`."""

    def pop(self, exc=_sentinel):
        try:
            if self._refcnt <= 0:
                self.app.do_teardown_appcontext(exc)
        finally:
            pass
        lifecycle.appcontext_popped.send(self.app)


def narrate_notes_pops(out=print):
    out("")
    out("== the notes' 第5步, run re-indented (as printed, neither pop is Python) ==")
    app = Flask("pops")
    app.route("/")(lambda: "ok")
    torn_down = []
    app.teardown_request(lambda exc: torn_down.append("teardown_request"))
    app.teardown_appcontext(lambda exc: torn_down.append("teardown_appcontext"))
    app.request_context_class = NotesPopRequestContext
    try:
        app.test_client().get("/")
    except NameError as exc:
        left = _app_ctx_stack.top
        out(f"  RequestContext.pop, GET / -> NameError: {exc}; teardowns run: {torn_down};")
        out(f"  and {left!r} is left on _app_ctx_stack")
        left.pop()
    torn_down.clear()
    out(f"  AppContext.pop as printed -> SyntaxError at {compiled('000_step_5_2_app_context_pop')}")
    app.app_context_class = NotesPopAppContext
    with app.app_context() as ctx:
        pass
    out(
        f"  with its try closed, `with app.app_context():` -> teardowns run: {torn_down};"
        f" still on the stack: {_app_ctx_stack.top is ctx}"
    )
    while _app_ctx_stack.top is ctx:
        _app_ctx_stack.pop()
    out("  (no `_refcnt -= 1`, so `_refcnt <= 0` is never true; no `_app_ctx_stack.pop()`)")
    app.request_context_class, app.app_context_class = RequestContext, AppContext
    torn_down.clear()
    app.test_client().get("/")
    empty = _request_ctx_stack.top is None and _app_ctx_stack.top is None
    out(f"  05's pops, GET / -> teardowns run: {torn_down};")
    out(f"  both stacks empty: {empty}")


def narrate_notes_wsgi_app(out=print):
    out("")
    out("== the notes' wsgi_app, run as written ==")
    app = Flask("bugs")
    app.route("/")(lambda: "ok")
    environ = EnvironBuilder("/").get_environ()
    try:
        _notes_wsgi_app(app, environ, lambda *a: None)
    except UnboundLocalError as exc:
        out("wsgi_app without `error = None`, on a request that succeeds -> UnboundLocalError:")
        out(f"  {exc}")
        leftover = _request_ctx_stack.top
        where = f"{leftover.request.method} {leftover.request.path}"
        out(f"  and auto_pop never ran: <RequestContext {where}> is still on the stack")
        leftover.pop()
    status = []
    body = b"".join(app.wsgi_app(environ, lambda s, headers: status.append(s)))
    empty = _request_ctx_stack.top is None and _app_ctx_stack.top is None
    out(f"05's wsgi_app, the same request -> {status[0]} {body!r}; both stacks empty: {empty}")


def narrate_notes_push(out=print):
    out("")
    out("== the notes' 第2步, its indentation run (adapted: as printed it is not Python) ==")
    nokey = Flask("nokey")
    nokey.add_url_rule("/read", "read", lambda: repr(session.get("x")))
    nokey.add_url_rule("/write", "write", lambda: session.__setitem__("x", 1) or "written")
    client = nokey.test_client()
    out("2.3 says a missing secret key raises at push; it does not:")
    out(f"  GET /read -> {client.get('/read').text!r} (the session is a NullSession);")
    nokey.testing = True
    try:
        client.get("/write")
    except RuntimeError as exc:
        out(f"  only a write fails: GET /write -> RuntimeError: {str(exc)[:45]}...")
    for cls, label in (
        (NotesPushRequestContext, "as in the notes"),
        (RequestContext, "as 05 has it"),
    ):
        app = Flask("indent")
        app.request_context_class = cls
        with app.app_context():
            ctx = app.test_request_context("/x")
            ctx.push()
            out(
                f"第2步 indented {label}, inside `with app.app_context()`: "
                f"has_request_context() -> {has_request_context()}"
            )
            if cls is RequestContext:
                ctx.pop()
            else:
                ctx._implicit_app_ctx_stack.pop()  # all that push did: nothing else to pop


def narrate_notes_first_request(out=print):
    out("")
    out("== the notes' 3.1, run as written ==")
    for cls, label in ((NotesFirstRequestFlask, "the notes' 3.1"), (Flask, "fixed")):
        app = cls("first")
        calls = []
        app.before_first_request(lambda calls=calls: calls.append(1))
        app.route("/")(lambda: "ok")
        for _ in range(3):
            app.test_client().get("/")
        out(f"{label:<14}: 3 requests -> before_first_request ran {len(calls)}x")
    out(f"(before_first_request itself: {version_table.history('`@app.before_first_request`')})")


def narrate_notes_process_response(out=print):
    out("")
    out("== the notes' 3.4.1, adapted: its run-together last lines made the call they mean ==")
    mark = lambda header: lambda r: r.headers.__setitem__(header, "ran") or r  # noqa: E731
    for cls, label in ((NotesProcessResponseFlask, "the notes' 3.4.1"), (Flask, "fixed")):
        app = cls("after")
        app.after_request(mark("X-After"))
        app.route("/")(lambda: lifecycle.after_this_request(mark("X-This")) and "ok")
        answer = app.test_client().get("/")
        this, after = (answer.headers.get(name) == "ran" for name in ("X-This", "X-After"))
        out(f"{label:<16}: GET / -> after_this_request ran: {this}; app's after_request: {after}")


# The notes' copies that are not Python as printed, each beside the function of 05 that runs in
# its place. notes_as_printed/ holds them verbatim, full-width spaces (U+3000) and all.
AS_PRINTED = {
    "000_flask_run": lifecycle.Flask.run,
    "000_step_2_push": lifecycle.RequestContext.push,
    "000_step_3_4_finalize_request": lifecycle.Flask.finalize_request,
    "000_step_3_4_1_process_response": lifecycle.Flask.process_response,
    "000_step_5_auto_pop": lifecycle.RequestContext.auto_pop,
    "000_step_5_request_context_pop": lifecycle.RequestContext.pop,
    "000_step_5_2_app_context_pop": lifecycle.AppContext.pop,
}


def compiled(name, plain=True):
    """The SyntaxError compiling notes_as_printed/`name`.txt gives: as printed, or with the page's
    full-width spaces made plain ones, so that the notes' own error shows."""
    text = (Path(__file__).with_name("notes_as_printed") / f"{name}.txt").read_text("utf-8")
    try:
        compile(text.replace("\u3000", " ") if plain else text, name, "exec")
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg.split(' (')[0]}"  # (IndentationError is one too)
    return "compiles"


def narrate_as_printed(out=print):
    out("")
    out("== the notes' copies of Flask's source that are not Python as printed ==")
    spaces = [name for name in AS_PRINTED if "U+3000" in compiled(name, plain=False)]
    out(f"as printed, {len(spaces)} of {len(AS_PRINTED)} in notes_as_printed/ fail first on the")
    out("page's full-width spaces (U+3000) in their indentation; made plain, each is still a")
    out("SyntaxError, the notes' own, where 05's function runs instead:")
    for name, function in AS_PRINTED.items():
        out(f"  {function.__qualname__:<24} {compiled(name)}")
    app = Flask("as_printed")
    app.route("/")(lambda: "hello")
    ran = watching.functions_run(
        AS_PRINTED.values(), lambda: served_once.run_simple_once(app, run=app.run)
    )
    out("05's, in their place, on GET / served by app.run:")
    out(f"  {' -> '.join(ran[:4])}")
    out(f"  -> {' -> '.join(ran[4:])}")


def narrate_removed_names(out=print):
    out("")
    out("== names the notes use that later Flask dropped (as 10 measured them) ==")
    for name in NAMES_SINCE_1_1_1:
        out(f"the notes' {name}: {version_table.history(name)}")
        out(f"  -> {version_table.row(name)['today']}")


# The notes' names that later versions of Flask dropped: 10_then_and_now.py's rows, whose cells
# (✓ works, ⚠ warns, ✗ gone, per release) are measured on each Flask by its --probe.
NAMES_SINCE_1_1_1 = (
    "`app.open_session(request)` / `app.save_session(session, response)`",
    "`app.session_cookie_name`",
    "`total_seconds(app.permanent_session_lifetime)`",
)


SECTIONS = sections.registry(
    sections.Section("wsgi", narrate_wsgi, wsgiref_app, werkzeug_app,
                     heading="### 2.wsgi", note="000"),
    sections.Section("config", narrate_config_principle, lifecycle.Config.from_object,
                     heading="### 一、flask配置文件", note="003"),
    sections.Section("routing", narrate_routing, RegexConverter, routing_app, check_login,
                     decorator_placement_app, note="003",
                     heading="### 二、路由系统"),
    sections.Section("blueprints", narrate_blueprints, heading="### 三、蓝图", note="003"),
    sections.Section("templates", narrate_templates, templates_app, note="000",
                     heading="### 5.tempalte_global / template_filter"),
    sections.Section("sessions", narrate_sessions, lifecycle.SecureCookieSessionInterface,
                     heading="### flask中 session的流程详解", note="003"),
    sections.Section("custom_session", narrate_custom_session, ServerSideSession,
                     ServerSideSessionInterface, heading="#### 补充：自定义session", note="000"),
    sections.Section("notes_wsgi_app", narrate_notes_wsgi_app, lifecycle.Flask.wsgi_app,
                     bug=(_notes_wsgi_app,), heading="### flask请求完整的生命周期", note="000"),
    sections.Section("notes_push", narrate_notes_push, lifecycle.RequestContext.push,
                     bug=(NotesPushRequestContext,), heading="#### 第2步：执行ctx.push()方法",
                     note="000"),
    sections.Section("notes_first_request", narrate_notes_first_request,
                     lifecycle.Flask.try_trigger_before_first_request_functions,
                     bug=(NotesFirstRequestFlask,), note="000",
                     heading="#### 第3.1步：找到所有的 执行一次的 伪中间件 执行"),
    sections.Section("notes_process_response", narrate_notes_process_response,
                     lifecycle.Flask.process_response, bug=(NotesProcessResponseFlask,),
                     heading="#### 第3.4.1步：", note="000"),
    sections.Section("notes_pops", narrate_notes_pops, lifecycle.RequestContext.pop,
                     lifecycle.AppContext.pop, bug=(NotesPopRequestContext, NotesPopAppContext),
                     heading="#### 第5步： 执行了RequestContext 的 pop 方法", note="000"),
    sections.Section("as_printed", narrate_as_printed, compiled, note="000",
                     heading="### flask请求完整的生命周期"),
    sections.Section("removed_names", narrate_removed_names,
                     heading="### Beyond the notes: names the notes use that later Flask dropped"),
)  # fmt: skip


def main(argv=None):
    sections.main("07_flask_basics.py", __doc__, SECTIONS, argv)


if __name__ == "__main__":
    cli.run(main, "07_flask_basics.py")
