"""10 — the notes then and now: every name they rely on, run on every Flask from 1.1.1 to 3.1.

Notes: all four, section by section. They read Flask 1.1.1 and Werkzeug 1.0.1 (2019); 001
already found "在最新的flask 3.0.3版本中这个部分不同" and went back to 1.1.1. This script says,
for each name or behaviour the notes use, on which release it works as the notes use it, when
it warned, when it went, and what to write on Flask 3.1 instead.

Over 09 this adds no Flask of its own: it runs the real ones. Each row is a few lines that use
a name as the notes do (an `assert` where they claim a behaviour). `--probe` builds a venv per
release under .cache/then-and-now/ (Flask with the Werkzeug, Jinja2, itsdangerous, MarkupSafe,
click, blinker and DBUtils of its day; the package index is needed once), runs every row there
in a fresh process, and writes the cells to docs/then-and-now.json and docs/then-and-now.md: ✓
it ran, ⚠ it ran with a DeprecationWarning, ✗ an error (the name is gone, or the behaviour
changed). The plain run prints the committed results: no network, no venvs.

Run:  python 10_then_and_now.py            the tables, per notes section, from the results
      python 10_then_and_now.py --probe    measure again: build the venvs, run every row
Test: python -m pytest tests/test_10_then_and_now.py
"""

import pathlib
import sys
import textwrap

from instruments import cli, sections, venvs, version_table

HERE = pathlib.Path(__file__).resolve().parent
PAGE = HERE / "docs" / "then-and-now.md"

# Each release with the libraries of its day (the newest of each when that Flask was current),
# and greenlet 3.1.1 for all (greenlets of 2019 do not build on today's Python).
RELEASES = {
    "1.1.1": "flask==1.1.1 werkzeug==1.0.1 jinja2==2.11.3 itsdangerous==1.1.0 markupsafe==1.1.1 "
    "click==7.1.2 blinker==1.4 dbutils==1.3 greenlet==3.1.1",
    "2.0": "flask==2.0.3 werkzeug==2.0.3 jinja2==3.0.3 itsdangerous==2.0.1 markupsafe==2.0.1 "
    "click==8.0.4 blinker==1.4 dbutils==3.0.2 greenlet==3.1.1",
    "2.1": "flask==2.1.3 werkzeug==2.1.2 jinja2==3.1.2 itsdangerous==2.1.2 markupsafe==2.1.1 "
    "click==8.1.3 blinker==1.5 dbutils==3.0.2 greenlet==3.1.1",
    "2.2": "flask==2.2.5 werkzeug==2.2.3 jinja2==3.1.2 itsdangerous==2.1.2 markupsafe==2.1.2 "
    "click==8.1.3 blinker==1.6.2 dbutils==3.0.3 greenlet==3.1.1",
    "2.3": "flask==2.3.3 werkzeug==2.3.7 jinja2==3.1.2 itsdangerous==2.1.2 markupsafe==2.1.3 "
    "click==8.1.7 blinker==1.6.2 dbutils==3.0.3 greenlet==3.1.1",
    "3.0": "flask==3.0.3 werkzeug==3.0.2 jinja2==3.1.3 itsdangerous==2.1.2 markupsafe==2.1.5 "
    "click==8.1.7 blinker==1.7.0 dbutils==3.1.0 greenlet==3.1.1",
    "3.1": "flask==3.1.3 werkzeug==3.1.8 jinja2==3.1.6 itsdangerous==2.2.0 markupsafe==3.0.3 "
    "click==8.4.0 blinker==1.9.0 dbutils==3.1.2 greenlet==3.1.1",
}
TODAY = "3.1"


class Row:
    """One thing the notes use: `name` as they write it, and `probe`, the lines that use it as
    they do (an `assert` where they claim a behaviour). Where it no longer works so on Flask
    3.1, `today` is what to write instead; `swap` turns the probe into that (each old piece of
    its text into a new one), to be run on 3.1 too."""

    def __init__(self, name, probe, today=None, swap=()):
        self.name, self.today, self.swap = name, today, dict(swap)
        self.probe = textwrap.dedent(probe).strip()
        self.today_probe = None  # the probe, as it is written on Flask 3.1
        for old, new in self.swap.items():
            self.today_probe = (self.today_probe or self.probe).replace(old, new)


# ==========================================================================================
# The table: one per notes section, printed from the measured results
# ==========================================================================================


def print_rows(rows, title):
    """A notes section's rows as measured: the table, and what a learner on 3.1 sees instead."""
    results = version_table.results()
    print(f"\n== {title} ==")
    print("\n".join(version_table.table(rows, results)))
    print(f"\n{version_table.LEGEND}")
    changed = version_table.seen_today(rows, results)
    if changed:
        print(f"On Flask {TODAY}, instead:")
        print("\n".join(changed))
    else:
        print(f"On Flask {TODAY}: all of these still work as the notes use them.")


# fmt: off
# ==========================================================================================
# 内容回顾 2.wsgi — Werkzeug before Flask
# ==========================================================================================

WSGI = (
    Row("`from werkzeug.wrappers import BaseResponse`", """
        from werkzeug.wrappers import BaseResponse
        assert BaseResponse("你好").get_data(as_text=True) == "你好"
        """, today="`from werkzeug.wrappers import Response`", swap={"BaseResponse": "Response"}),
    Row("`from werkzeug.wrappers import BaseRequest`", """
        from werkzeug.test import EnvironBuilder
        from werkzeug.wrappers import BaseRequest
        assert BaseRequest(EnvironBuilder("/index").get_environ()).path == "/index"
        """, today="`from werkzeug.wrappers import Request`", swap={"BaseRequest": "Request"}),
)


# ==========================================================================================
# 内容回顾 5.tempalte_global / template_filter
# ==========================================================================================

TEMPLATES = (
    Row("`@app.template_global()` and `@app.template_filter()`", """
        import flask
        app = flask.Flask("probe")
        app.template_global()(lambda a, b: a + b)
        app.template_filter("db")(lambda a: a * 2)
        with app.app_context():
            assert flask.render_template_string("{{ (1, 2) | length | db }}") == "4"
        """),
    Row("`from flask import Markup`", """
        from flask import Markup
        assert str(Markup("<b>%s</b>") % "<i>") == "<b>&lt;i&gt;</b>"
        """, today="`from markupsafe import Markup`", swap={"flask": "markupsafe"}),
)


# ==========================================================================================
# 6.flask源码关于local的实现 — werkzeug.local
# ==========================================================================================

LOCALS = (
    Row("`Local().__storage__` is `{ident: {name: value}}`", """
        from werkzeug.local import Local
        local = Local()
        local.stack = ["ctx"]
        print(local.__storage__)
        assert list(local.__storage__.values()) == [{"stack": ["ctx"]}]
        """, today="`list(local)`: this context's names only, from one ContextVar",
        swap={'print(local.__storage__)\n': "", "list(local.__storage__.values())":
              "list(local)", '[{"stack": ["ctx"]}]': '[("stack", ["ctx"])]'}),
    Row("`Local().__ident_func__`, `from werkzeug.local import get_ident`", """
        from werkzeug.local import Local, get_ident
        assert Local().__ident_func__() == get_ident()
        """, today="no ident: a ContextVar is per thread, greenlet and asyncio task"),
    Row("two asyncio tasks on one thread share a `Local` (keyed by the thread's ident)", """
        import asyncio
        from werkzeug.local import Local
        local = Local()
        async def write():
            local.x = "set by the first task"
        async def read():
            return getattr(local, "x", None)
        async def main():
            await asyncio.create_task(write())
            return await asyncio.create_task(read())
        seen = asyncio.run(main())
        print("the second task sees", repr(seen))
        assert seen == "set by the first task"
        """, today="each task has its own: what one task sets, the next does not see",
        swap={'seen == "set by the first task"': "seen is None"}),
    Row("a greenlet has its own `Local` (`from greenlet import getcurrent as get_ident`)", """
        import greenlet
        from werkzeug.local import Local
        local = Local()
        local.x = "set in the main greenlet"
        seen = []
        greenlet.greenlet(lambda: seen.append(getattr(local, "x", None))).switch()
        print("a new greenlet sees", repr(seen[0]))
        assert seen == [None]
        """),
    Row("`release_local(local)`", """
        from werkzeug.local import Local, release_local
        local = Local()
        local.x = 1
        release_local(local)
        assert getattr(local, "x", None) is None
        """),
    Row("`LocalStack()`: `push`, `top`, `pop`", """
        from werkzeug.local import LocalStack
        stack = LocalStack()
        stack.push("ctx")
        assert stack.top == "ctx"
        assert stack.pop() == "ctx" and stack.top is None
        """),
    Row("`LocalStack()._local.__storage__` is `{ident: {'stack': [...]}}`", """
        from werkzeug.local import LocalStack
        stack = LocalStack()
        stack.push("ctx")
        print(stack._local.__storage__)
        assert list(stack._local.__storage__.values()) == [{"stack": ["ctx"]}]
        """, today="nothing to print: the stack is a list in one ContextVar"),
)


# ==========================================================================================
# 7.flask源码中总共有2个localstack对象 — _request_ctx_stack, _app_ctx_stack
# ==========================================================================================

TWO_STACKS = (
    Row("`_request_ctx_stack.top`", """
        import flask
        app = flask.Flask("probe")
        with app.test_request_context("/index") as ctx:
            assert flask._request_ctx_stack.top is ctx
        """, today="`flask.globals.request_ctx._get_current_object()`",
        swap={"flask._request_ctx_stack.top": "request_ctx._get_current_object()",
              "import flask\n": "import flask\nfrom flask.globals import request_ctx\n"}),
    Row("`_app_ctx_stack.top`", """
        import flask
        app = flask.Flask("probe")
        with app.app_context() as ctx:
            assert flask._app_ctx_stack.top is ctx
        """, today="`flask.globals.app_ctx._get_current_object()`",
        swap={"flask._app_ctx_stack.top": "app_ctx._get_current_object()",
              "import flask\n": "import flask\nfrom flask.globals import app_ctx\n"}),
    Row("`_request_ctx_stack` is a `werkzeug.local.LocalStack`", """
        import flask
        from werkzeug.local import LocalStack
        print(type(flask._request_ctx_stack))
        assert isinstance(flask._request_ctx_stack, LocalStack)
        """, today="a `ContextVar`: `flask.globals._cv_request`",
        swap={"print(type(flask._request_ctx_stack))\n": "",
              "flask._request_ctx_stack, LocalStack": "flask.globals._cv_request, ContextVar",
              "from werkzeug.local import LocalStack": "from contextvars import ContextVar"}),
    Row("`request` reads `_request_ctx_stack`: push a ctx on it by hand, `request` follows", """
        import flask
        app = flask.Flask("probe")
        flask._request_ctx_stack.push(app.test_request_context("/by-hand"))
        assert flask.request.path == "/by-hand"
        """, today="`ctx.push()` (or `with app.test_request_context():`)",
        swap={"flask._request_ctx_stack.push(app.test_request_context(\"/by-hand\"))":
              "app.test_request_context(\"/by-hand\").push()"}),
)


# ==========================================================================================
# 7.1 项目启动 — Flask(__name__), its attributes, app.run
# ==========================================================================================

STARTUP = (
    Row("`app.run()` calls `werkzeug.serving.run_simple(host, port, app)`", """
        import flask, werkzeug.serving
        called = []
        werkzeug.serving.run_simple = lambda host, port, app, **options: called.append(
            (host, port, app))
        app = flask.Flask("probe")
        app.run("127.0.0.1", 5001)
        assert called == [("127.0.0.1", 5001, app)]
        """),
    Row("`app.env` / `FLASK_ENV`", """
        import os, flask
        os.environ["FLASK_ENV"] = "development"
        assert flask.Flask("probe").env == "development"
        """, today="`app.debug` / `FLASK_DEBUG=1`",
        swap={'"FLASK_ENV"] = "development"': '"FLASK_DEBUG"] = "1"',
              '.env == "development"': ".debug is True"}),
    Row("`app.json_encoder`", """
        import json, flask
        assert issubclass(flask.Flask("probe").json_encoder, json.JSONEncoder)
        """, today="`app.json` (a `flask.json.provider.JSONProvider`)",
        swap={"issubclass(flask.Flask(\"probe\").json_encoder, json.JSONEncoder)":
              "isinstance(flask.Flask(\"probe\").json, flask.json.provider.JSONProvider)"}),
    Row("`app.session_cookie_name`", """
        import flask
        assert flask.Flask("probe").session_cookie_name == "session"
        """, today="`app.config[\"SESSION_COOKIE_NAME\"]`",
        swap={".session_cookie_name": '.config["SESSION_COOKIE_NAME"]'}),
    Row("`@app.before_first_request`", """
        import flask
        app = flask.Flask("probe")
        seen = []
        app.before_first_request(lambda: seen.append("first"))
        app.route("/")(lambda: "hi")
        app.test_client().get("/")
        app.test_client().get("/")
        assert seen == ["first"]
        """, today="do it once, in `with app.app_context():` where the app is made",
        swap={'app.before_first_request(lambda: seen.append("first"))':
              'with app.app_context():\n    seen.append("first")'}),
)


# ==========================================================================================
# 8.了解源码流程之后，使用：session、request、app、g — the four LocalProxy objects
# ==========================================================================================

PROXIES = (
    Row("`from flask.globals import _lookup_req_object`", """
        import flask
        from flask.globals import _lookup_req_object
        app = flask.Flask("probe")
        with app.test_request_context("/index"):
            assert _lookup_req_object("request").path == "/index"
        """, today="`flask.globals.request_ctx.request`",
        swap={"_lookup_req_object(\"request\")": "request_ctx.request",
              "import _lookup_req_object": "import request_ctx"}),
    Row("`from flask.globals import _lookup_app_object, _find_app`", """
        import flask
        from flask.globals import _find_app, _lookup_app_object
        app = flask.Flask("probe")
        with app.app_context():
            assert _find_app() is app and _lookup_app_object("g") is not None
        """, today="`current_app._get_current_object()`, `flask.globals.app_ctx.g`",
        swap={"_find_app()": "flask.current_app._get_current_object()",
              "_lookup_app_object(\"g\")": "app_ctx.g",
              "import _find_app, _lookup_app_object": "import app_ctx"}),
    Row("`request`, `session`, `g`, `current_app` are `werkzeug.local.LocalProxy` objects", """
        import flask
        from werkzeug.local import LocalProxy
        proxies = [flask.request, flask.session, flask.g, flask.current_app]
        assert all(isinstance(p, LocalProxy) for p in proxies)
        """),
    Row("`request._LocalProxy__local` is the partial (私有成员's mangled name)", """
        import flask
        print(flask.request._LocalProxy__local)
        """, today="`request._get_current_object()`, inside a request"),
    Row("`LocalProxy(partial(_lookup_req_object, 'request'))` over your own stack", """
        from functools import partial
        from werkzeug.local import LocalProxy, LocalStack
        _request_ctx_stack = LocalStack()
        def _lookup_req_object(name):
            return getattr(_request_ctx_stack.top, name)
        request = LocalProxy(partial(_lookup_req_object, "request"))
        class RequestContext:
            request = "the request"
        _request_ctx_stack.push(RequestContext())
        assert request.upper() == "THE REQUEST"
        """),
)


# ==========================================================================================
# 9.g到底是个什么鬼？ — g lives on the app context
# ==========================================================================================

G = (
    Row("`g` lives on the app context: `_app_ctx_stack.top.g`", """
        import flask
        app = flask.Flask("probe")
        with app.app_context():
            flask.g.x1 = 123
            assert flask._app_ctx_stack.top.g.x1 == 123
        """, today="`flask.globals.app_ctx.g` (`g` itself is the same)",
        swap={"flask._app_ctx_stack.top.g": "app_ctx.g",
              "import flask\n": "import flask\nfrom flask.globals import app_ctx\n"}),
    Row("`g` is new for each request (what an earlier request set is gone)", """
        import flask
        app = flask.Flask("probe")
        with app.test_request_context():
            flask.g.x1 = 123
        with app.test_request_context():
            assert "x1" not in flask.g
        """),
)


# ==========================================================================================
# flask请求完整的生命周期 — 第1步 to 第5步
# ==========================================================================================

LIFECYCLE = (
    Row("第2步 `ctx.push()` pushes the app context first", """
        import flask
        app = flask.Flask("probe")
        ctx = app.test_request_context("/index")
        assert not flask.has_app_context()
        ctx.push()
        assert flask.current_app._get_current_object() is app
        ctx.pop()
        assert not flask.has_app_context()
        """),
    Row("第2步 `ctx._implicit_app_ctx_stack`", """
        import flask
        ctx = flask.Flask("probe").test_request_context("/index")
        ctx.push()
        assert len(ctx._implicit_app_ctx_stack) == 1
        """, today="gone: `ctx._cv_tokens` keeps `(token, app_ctx)` per push",
        swap={"len(ctx._implicit_app_ctx_stack) == 1": "ctx._cv_tokens[0][1] is not None"}),
    Row("第3.1步 `app.try_trigger_before_first_request_functions()`", """
        import flask
        app = flask.Flask("probe")
        seen = []
        app.before_first_request_funcs.append(lambda: seen.append("first"))
        with app.test_request_context():
            app.try_trigger_before_first_request_functions()
        assert seen == ["first"]
        """, today="gone, with `before_first_request`"),
    Row("第3步 `request_started.send(app)` and the other signals, in order", """
        import flask
        from flask import signals
        app = flask.Flask("probe")
        app.route("/")(lambda: "hi")
        names, seen = ["appcontext_pushed", "request_started", "request_finished",
                       "request_tearing_down", "appcontext_tearing_down", "appcontext_popped"], []
        for name in names:
            getattr(signals, name).connect(
                lambda sender, name=name, **extra: seen.append(name), app, weak=False)
        app.test_client().get("/")
        assert seen == names
        """),
    Row("`flask.signals_available` (without blinker, signals do nothing)", """
        import flask
        assert flask.signals_available
        """, today="nothing: Flask requires blinker, signals always work",
        swap={"import flask\nassert flask.signals_available": "import importlib.metadata\n"
              "assert 'blinker' in str(importlib.metadata.requires('flask'))"}),
    Row("第5步 `ctx.auto_pop(exc)`", """
        import flask
        ctx = flask.Flask("probe").test_request_context("/index")
        ctx.push()
        ctx.auto_pop(None)
        assert not flask.has_request_context()
        """, today="`ctx.pop(exc)`", swap={"auto_pop": "pop"}),
    Row("5.2 `app_ctx._refcnt`", """
        import flask
        with flask.Flask("probe").app_context() as app_ctx:
            assert app_ctx._refcnt == 1
        """, today="gone: a ContextVar token per push, `app_ctx._cv_tokens`",
        swap={"app_ctx._refcnt == 1": "len(app_ctx._cv_tokens) == 1"}),
    Row("第5步 `teardown_request` (reversed), then `teardown_appcontext`", """
        import flask
        app = flask.Flask("probe")
        order = []
        app.teardown_request(lambda exc: order.append("teardown_request 1"))
        app.teardown_request(lambda exc: order.append("teardown_request 2"))
        app.teardown_appcontext(lambda exc: order.append("teardown_appcontext"))
        app.route("/")(lambda: "hi")
        app.test_client().get("/")
        assert order == ["teardown_request 2", "teardown_request 1", "teardown_appcontext"]
        """),
)


# ==========================================================================================
# 在最新的flask 3.0.3版本中这个部分不同，回退和老师相同版本 flask == 1.1.1
# ==========================================================================================

PINNED = (
    Row("`from jinja2 import Markup, escape` (Flask 1.1.1 imports them)", """
        from jinja2 import Markup, escape
        assert str(Markup("<b>%s</b>") % escape("<i>")) == "<b>&lt;i&gt;</b>"
        """, today="`from markupsafe import Markup, escape`", swap={"jinja2": "markupsafe"}),
    Row("`from itsdangerous import json` (Flask 1.1.1 imports it)", """
        from itsdangerous import json
        assert json.loads(json.dumps({"x": 1})) == {"x": 1}
        """, today="`import json`", swap={"from itsdangerous import json": "import json"}),
    Row("`flask.__version__`", """
        import flask
        print(flask.__version__)
        """, today="`importlib.metadata.version(\"flask\")`",
        swap={"import flask": "import importlib.metadata",
              "flask.__version__": 'importlib.metadata.version("flask")'}),
)


# ==========================================================================================
# 数据库连接池 DBUtils连接池的两种连接模式: — PersistentDB, PooledDB
# ==========================================================================================

POOLS = (
    Row("`from DBUtils.PooledDB import PooledDB`", """
        from DBUtils.PooledDB import PooledDB
        """, today="`from dbutils.pooled_db import PooledDB`",
        swap={"DBUtils.PooledDB": "dbutils.pooled_db"}),
    Row("`from DBUtils.PersistentDB import PersistentDB`", """
        from DBUtils.PersistentDB import PersistentDB
        """, today="`from dbutils.persistent_db import PersistentDB`",
        swap={"DBUtils.PersistentDB": "dbutils.persistent_db"}),
)


# ==========================================================================================
# 一、flask配置文件 — Config.from_object
# ==========================================================================================

CONFIG = (
    Row("`app.config.from_object(obj)` takes upper-case names only", """
        import flask
        class Settings:
            DEBUG = True
            secret = "not taken"
        app = flask.Flask("probe")
        app.config.from_object(Settings)
        assert app.config["DEBUG"] is True and "secret" not in app.config
        """),
    Row("`app.config['ENV']`", """
        import flask
        assert flask.Flask("probe").config["ENV"] == "production"
        """, today="`app.config[\"DEBUG\"]`",
        swap={'config["ENV"] == "production"': 'config["DEBUG"] is False'}),
)


# ==========================================================================================
# 二、路由系统 — route, add_url_rule, endpoints, subdomains, CBV
# ==========================================================================================

ROUTING = (
    Row("`@app.route('/index', methods=['GET', 'POST'], endpoint='n1')`", """
        import flask
        app = flask.Flask("probe")
        @app.route("/index", methods=["GET", "POST"], endpoint="n1")
        def index():
            return "index"
        with app.test_request_context():
            assert flask.url_for("n1") == "/index"
        assert app.test_client().post("/index").data == b"index"
        """),
    Row("`@app.route('/', subdomain='admin')` with `SERVER_NAME` set", """
        import flask
        app = flask.Flask("probe")
        app.config["SERVER_NAME"] = "wupeiqi.com:5000"
        app.route("/", subdomain="admin")(lambda: "admin")
        response = app.test_client().get("/", base_url="http://admin.wupeiqi.com:5000")
        print(response.status)
        assert response.data == b"admin"
        """, today="`Flask(__name__, subdomain_matching=True)`",
        swap={'Flask("probe")': 'Flask("probe", subdomain_matching=True)'}),
    Row("`class IndexView(views.MethodView)` with `as_view`", """
        from flask import Flask, views
        class IndexView(views.MethodView):
            methods = ["GET", "POST"]
            decorators = []
            def get(self):
                return "GET"
            def post(self):
                return "POST"
        app = Flask("probe")
        app.add_url_rule("/index", view_func=IndexView.as_view("index"))
        client = app.test_client()
        assert client.get("/index").data == b"GET" and client.post("/index").data == b"POST"
        """),
)


# ==========================================================================================
# 三、蓝图 — Blueprint
# ==========================================================================================

BLUEPRINTS = (
    Row("a blueprint's endpoints: `url_for('ac.login')`", """
        import flask
        ac = flask.Blueprint("ac", __name__)
        @ac.route("/login")
        def login():
            return "login"
        app = flask.Flask("probe")
        app.register_blueprint(ac, url_prefix="/account")
        with app.test_request_context():
            assert flask.url_for("ac.login") == "/account/login"
        """),
    Row("a dotted blueprint name: `Blueprint('admin.v1', __name__)`", """
        import flask
        bp = flask.Blueprint("admin.v1", __name__)
        bp.route("/")(lambda: "v1")
        app = flask.Flask("probe")
        app.register_blueprint(bp, url_prefix="/v1")
        assert app.test_client().get("/v1/").data == b"v1"
        """, today="`Blueprint('admin_v1', __name__)`", swap={"admin.v1": "admin_v1"}),
    Row("`app.register_blueprint(bp, subdomain='public')`", """
        import flask
        public = flask.Blueprint("public", __name__)
        public.route("/")(lambda: "public")
        app = flask.Flask("probe")
        app.config["SERVER_NAME"] = "example.com"
        app.register_blueprint(public, subdomain="public")
        response = app.test_client().get("/", base_url="http://public.example.com")
        print(response.status)
        assert response.data == b"public"
        """, today="`Flask(__name__, subdomain_matching=True)`",
        swap={'Flask("probe")': 'Flask("probe", subdomain_matching=True)'}),
)


# ==========================================================================================
# flask中 session的流程详解, 补充：自定义session — SessionInterface
# ==========================================================================================

SESSIONS = (
    Row("`session` is a `SecureCookieSession` (a dict in a signed cookie)", """
        import flask
        from flask.sessions import SecureCookieSession
        app = flask.Flask("probe")
        app.secret_key = "notes"
        with app.test_request_context():
            assert type(flask.session._get_current_object()) is SecureCookieSession
        """),
    Row("`app.open_session(request)` / `app.save_session(session, response)`", """
        import flask
        app = flask.Flask("probe")
        app.secret_key = "notes"
        with app.test_request_context():
            session = app.open_session(flask.request)
            app.save_session(session, app.response_class())
        """, today="`app.session_interface.open_session(app, request)`",
        swap={"app.open_session(": "app.session_interface.open_session(app, ",
              "app.save_session(": "app.session_interface.save_session(app, "}),
    Row("`total_seconds(app.permanent_session_lifetime)`", """
        import flask
        from flask.helpers import total_seconds
        assert total_seconds(flask.Flask("probe").permanent_session_lifetime) == 2678400
        """, today="`app.permanent_session_lifetime.total_seconds()`",
        swap={"from flask.helpers import total_seconds\n": "",
              "total_seconds(flask.Flask(\"probe\").permanent_session_lifetime)":
              "flask.Flask(\"probe\").permanent_session_lifetime.total_seconds()"}),
    Row("`class MySessionInterface(SessionInterface)`: `open_session`, `save_session`", """
        import flask
        from flask.sessions import SecureCookieSession, SessionInterface
        class MySessionInterface(SessionInterface):
            def open_session(self, app, request):
                return SecureCookieSession({"n": 1})
            def save_session(self, app, session, response):
                response.headers["X-N"] = str(session["n"])
        app = flask.Flask("probe")
        app.session_interface = MySessionInterface()
        app.route("/")(lambda: str(flask.session["n"]))
        response = app.test_client().get("/")
        assert response.data == b"1" and response.headers["X-N"] == "1"
        """),
    Row("`SessionInterface`'s `is_null_session`, `get_cookie_domain`, `should_set_cookie` ...", """
        from flask.sessions import SessionInterface
        names = ("is_null_session", "get_cookie_domain", "get_cookie_path",
                 "get_cookie_httponly", "get_cookie_secure", "get_expiration_time",
                 "should_set_cookie")
        assert all(callable(getattr(SessionInterface, name)) for name in names)
        """),
    Row("`SESSION_COOKIE_DOMAIN = '.example.com'` sends `Domain=.example.com`", """
        import flask
        app = flask.Flask("probe")
        app.secret_key = "notes"
        app.config["SESSION_COOKIE_DOMAIN"] = ".example.com"
        @app.route("/")
        def index():
            flask.session["x"] = 1
            return "hi"
        cookie = app.test_client().get("/").headers["Set-Cookie"]
        print(cookie.split("; ")[1])
        assert "Domain=.example.com" in cookie
        """, today="the same, sent as `Domain=example.com` (browsers read both alike)",
        swap={'"Domain=.example.com" in': '"Domain=example.com" in'}),
    Row("`from flask.ext.session import Session` (003: 老版本的)", """
        from flask.ext.session import Session
        """, today="`pip install Flask-Session`, then `from flask_session import Session`"),
)
# fmt: on


# ==========================================================================================
# The sections, the page, and main
# ==========================================================================================


def section(name, rows, heading, note):
    """A notes section's table as a section of this script (--only NAME --markdown pastes the
    rows, their probes, and the table)."""
    rows_name = next(key for key, value in globals().items() if value is rows)
    title = heading.lstrip("#").strip()
    return sections.Section(
        name, lambda: print_rows(rows, title), sections.Assigned(__name__, rows_name),
        print_rows, call=f"print_rows({rows_name}, {title!r})", heading=heading, note=note,
    )  # fmt: skip


TABLES = {  # a section's name: its rows, the notes' heading over them, and which note
    "wsgi": (WSGI, "### 2.wsgi", "000"),
    "templates": (TEMPLATES, "### 5.tempalte_global / template_filter", "000"),
    "locals": (LOCALS, "### 6.flask源码关于local的实现", "000"),
    "two_stacks": (TWO_STACKS, "#### 7.flask源码中总共有2个localstack对象", "000"),
    "startup": (STARTUP, "#### 7.1 项目启动", "000"),
    "proxies": (PROXIES, "### 8.了解源码流程之后，使用：session、request、app、g", "000"),
    "g": (G, "### 9.g到底是个什么鬼？", "000"),
    "lifecycle": (LIFECYCLE, "### flask请求完整的生命周期", "000"),
    "pinned": (PINNED, "#### 在最新的flask 3.0.3版本中这个部分不同，回退和老师相同版本 flask == "
               "1.1.1", "001"),
    "pools": (POOLS, "### DBUtils连接池的两种连接模式:", "002"),
    "config": (CONFIG, "### 一、flask配置文件", "003"),
    "routing": (ROUTING, "### 二、路由系统", "003"),
    "blueprints": (BLUEPRINTS, "### 三、蓝图", "003"),
    "sessions": (SESSIONS, "### flask中 session的流程详解", "003"),
}  # fmt: skip
SECTIONS = sections.registry(*(section(name, *table) for name, table in TABLES.items()))
ROWS = [row for rows, _, _ in TABLES.values() for row in rows]


def main(argv=None):
    parser = cli.demo_parser("10_then_and_now.py", __doc__)
    sections.add_arguments(parser)
    probe_help = "build a venv per release, run every row in each, write docs/then-and-now.*"
    parser.add_argument("--probe", action="store_true", help=probe_help)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.probe:
            results = version_table.measure(ROWS, RELEASES, TODAY)
            version_table.write(results)
            PAGE.write_text(version_table.page(TABLES, results), encoding="utf-8")
            print(f"wrote {version_table.RESULTS.relative_to(HERE)}, {PAGE.relative_to(HERE)}")
            return
        version_table.results(rows=ROWS)  # each row measured as written, or a one-line error
    except (version_table.NotMeasured, venvs.BuildError) as exc:
        sys.exit(f"10_then_and_now.py: {exc}")
    sections.run(SECTIONS, args, parser)


if __name__ == "__main__":
    cli.run(main, "10_then_and_now.py")
