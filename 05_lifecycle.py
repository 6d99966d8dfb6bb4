"""05 — a small Flask on Werkzeug 3: startup, the full request/app context lifecycle, run_simple.

Notes: 000/001 §7 源码初识 (7.1 项目启动, 7.2 有用户请求到来), §9 g到底是个什么鬼, 总结 and
flask请求完整的生命周期 (第1步–第5步, 2.1–5.2.1); 002 §2 flask请求上下文 (1.0–4.4);
003's 一、flask配置文件 / 二、路由系统 / 三、蓝图 / session流程; 000 内容回顾 2 (run_simple)
and 11 (蓝图).

Over 04 this adds the application that pushes and pops the contexts 04's globals read: `Flask`
collects config, routes and hooks at startup; every request runs `__call__` → `wsgi_app` →
`RequestContext.push` (implicit `AppContext`, session opened, URL matched) →
`full_dispatch_request` (before_request, view, after_request, session saved) → `auto_pop`
(teardowns, both stacks popped), with Flask 1.1.1's hook and signal order, signed-cookie
sessions readable by real Flask, and blueprints. Routing, requests, responses, signing and
signals come from Werkzeug, itsdangerous and blinker; the context machinery is written here.

Run:  python 05_lifecycle.py [--host 127.0.0.1] [--port 5000] [--trace]
      then open http://127.0.0.1:5000/ ; --trace prints every step of every request.
Test: python -m pytest tests/test_05_lifecycle.py tests/test_05_http.py
"""

import argparse
import hashlib
import importlib
import itertools
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from itertools import chain

from blinker import Namespace
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict, Headers
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions
from werkzeug.exceptions import abort as abort  # re-exported for quick-start apps
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.serving import run_simple
from werkzeug.test import EnvironBuilder
from werkzeug.utils import import_string, send_from_directory
from werkzeug.utils import redirect as redirect  # re-exported for quick-start apps
from werkzeug.wrappers import Request as _WerkzeugRequest
from werkzeug.wrappers import Response as _WerkzeugResponse

_globals = importlib.import_module("04_proxy")
_localstack = importlib.import_module("03_localstack")
_request_ctx_stack = _globals._request_ctx_stack
_app_ctx_stack = _globals._app_ctx_stack
request, session, g, current_app = (
    _globals.request, _globals.session, _globals.g, _globals.current_app)
storage_view = _localstack.storage_view

_sentinel = object()  # "no exception given", as opposed to None ("no exception happened")

# ==========================================================================================
# signals (flask/signals.py) — blinker signals, sent where Flask 1.1.1 sends them
# ==========================================================================================

_signals = Namespace()
appcontext_pushed = _signals.signal("appcontext-pushed")
request_started = _signals.signal("request-started")
request_finished = _signals.signal("request-finished")
got_request_exception = _signals.signal("got-request-exception")
request_tearing_down = _signals.signal("request-tearing-down")
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
appcontext_popped = _signals.signal("appcontext-popped")

# ==========================================================================================
# 一、flask配置文件 — Config is a dict; from_object takes the UPPER-CASE names
# ==========================================================================================


class Config(dict):
    def from_object(self, obj):
        """Copy the upper-case attributes of an object, or of 'package.module.Class'."""
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)


DEFAULT_CONFIG = {
    "DEBUG": False,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": None,
    "SECRET_KEY": None,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    "SERVER_NAME": None,
    "APPLICATION_ROOT": "/",
    "PREFERRED_URL_SCHEME": "http",
    "SESSION_COOKIE_NAME": "session",
    "SESSION_COOKIE_DOMAIN": None,
    "SESSION_COOKIE_PATH": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_SAMESITE": None,
    "SESSION_REFRESH_EACH_REQUEST": True,
}

# ==========================================================================================
# flask/ctx.py — g, AppContext, RequestContext
# ==========================================================================================


class _AppCtxGlobals:
    """`g`: a plain namespace that lives as long as one app context (one request)."""

    def get(self, name, default=None):
        return self.__dict__.get(name, default)

    def pop(self, name, default=_sentinel):
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name, default=None):
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item):
        return item in self.__dict__

    def __iter__(self):
        return iter(self.__dict__)

    def __repr__(self):
        top = _app_ctx_stack.top
        if top is not None:
            return f"<flask.g of {top.app.name!r}>"
        return object.__repr__(self)


def has_request_context():
    return _request_ctx_stack.top is not None


def has_app_context():
    return _app_ctx_stack.top is not None


class AppContext:
    """app_ctx: the app and its g, pushed on _app_ctx_stack (step 2.1)."""

    def __init__(self, app):
        self.app = app
        self.url_adapter = app.create_url_adapter(None)
        self.g = app.app_ctx_globals_class()
        # Pushing the same context twice (nested `with`) must tear down only once.
        self._refcnt = 0

    def push(self):
        self._refcnt += 1
        _app_ctx_stack.push(self)
        appcontext_pushed.send(self.app)

    def pop(self, exc=_sentinel):
        """Step 5.2: teardown_appcontext on the last pop, then off the stack."""
        try:
            self._refcnt -= 1
            if self._refcnt <= 0:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            rv = _app_ctx_stack.pop()
        assert rv is self, f"Popped wrong app context.  ({rv!r} instead of {self!r})"
        appcontext_popped.send(self.app)

    def __enter__(self):
        self.push()
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.pop(exc_value)

    def __repr__(self):
        return f"<AppContext of {self.app.name}>"


class RequestContext:
    """ctx: the Request and the session, pushed on _request_ctx_stack (steps 1 and 2.2)."""

    def __init__(self, app, environ, request=None, session=None):
        self.app = app
        if request is None:
            request = app.request_class(environ)
        self.request = request
        self.url_adapter = None
        try:
            self.url_adapter = app.create_url_adapter(self.request)
        except HTTPException as e:
            self.request.routing_exception = e
        self.session = session
        # One entry per push: the implicit AppContext we pushed, or None. Doubles as refcount.
        self._implicit_app_ctx_stack = []
        self._after_request_functions = []

    def match_request(self):
        try:
            self.request.url_rule, self.request.view_args = self.url_adapter.match(
                return_rule=True)
        except HTTPException as e:
            self.request.routing_exception = e

    def push(self):
        # 2.1: an app context first, unless this app's is already on top (e.g. `with
        # app.app_context():` around a test request).
        app_ctx = _app_ctx_stack.top
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
            self._implicit_app_ctx_stack.append(app_ctx)
        else:
            self._implicit_app_ctx_stack.append(None)
        # 2.2: ourselves on the request stack.
        _request_ctx_stack.push(self)
        # 2.3: open the session once, so a context pushed again keeps its session.
        if self.session is None:
            session_interface = self.app.session_interface
            self.session = session_interface.open_session(self.app, self.request)
            if self.session is None:
                self.session = session_interface.make_null_session(self.app)
        if self.url_adapter is not None:
            self.match_request()

    def pop(self, exc=_sentinel):
        """Step 5: teardown_request (5.1), pop the request stack, then the app context (5.2)."""
        app_ctx = self._implicit_app_ctx_stack.pop()
        clear_request = False
        try:
            if not self._implicit_app_ctx_stack:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_request(exc)
                self.request.close()
                clear_request = True
        finally:
            rv = _request_ctx_stack.pop()
            if clear_request:
                # Break the request <-> environ cycle so the memory goes at once.
                rv.request.environ["werkzeug.request"] = None
            if app_ctx is not None:
                app_ctx.pop(exc)
        assert rv is self, f"Popped wrong request context. ({rv!r} instead of {self!r})"

    def auto_pop(self, exc):
        # Flask 1.1.1 could keep the context for the debugger here (PRESERVE_CONTEXT_ON_
        # EXCEPTION); like Flask >= 2.2 we always pop, so teardown always runs.
        self.pop(exc)

    def __enter__(self):
        self.push()
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.auto_pop(exc_value)

    def __repr__(self):
        return f"<RequestContext {self.request.url!r} [{self.request.method}] of {self.app.name}>"


# ==========================================================================================
# session流程 — SecureCookieSessionInterface (flask/sessions.py)
# ==========================================================================================


class SessionMixin(MutableMapping):
    @property
    def permanent(self):
        return self.get("_permanent", False)

    @permanent.setter
    def permanent(self, value):
        self["_permanent"] = bool(value)

    new = False
    modified = True
    accessed = True


class SecureCookieSession(CallbackDict, SessionMixin):
    """A dict that remembers whether it was read (accessed) or changed (modified)."""

    modified = False
    accessed = False

    def __init__(self, initial=None):
        def on_update(self):
            self.modified = True
            self.accessed = True

        super().__init__(initial, on_update)

    def __getitem__(self, key):
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key, default=None):
        self.accessed = True
        return super().setdefault(key, default)


class NullSession(SecureCookieSession):
    """The session when no secret key is set: reads work, writes explain what is missing."""

    def _fail(self, *args, **kwargs):
        raise RuntimeError(
            "The session is unavailable because no secret key was set.  Set the secret_key "
            "on the application to something unique and secret.")

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail
    del _fail


class CompactJSON:
    """Flask's cookie serializer for plain data: compact, sorted JSON (no type tags)."""

    @staticmethod
    def dumps(obj):
        return json.dumps(obj, separators=(",", ":"), sort_keys=True)

    @staticmethod
    def loads(text):
        return json.loads(text)


class SecureCookieSessionInterface:
    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = CompactJSON
    session_class = SecureCookieSession
    null_session_class = NullSession

    def make_null_session(self, app):
        return self.null_session_class()

    def is_null_session(self, obj):
        return isinstance(obj, self.null_session_class)

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        return URLSafeTimedSerializer(
            app.secret_key,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation,
                           "digest_method": self.digest_method},
        )

    def open_session(self, app, request):
        """Step 2.3: the signed cookie back into a dict; anything bad gives an empty session."""
        if not app.secret_key:
            return None
        val = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        if not val:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = self.get_signing_serializer(app).loads(val, max_age=max_age)
        except BadData:  # bad signature, expired, or garbage
            return self.session_class()
        return self.session_class(data if isinstance(data, dict) else None)

    def save_session(self, app, session, response):
        """Step 3.4.1.2: sign the session into the cookie, only if it changed."""
        name = app.config["SESSION_COOKIE_NAME"]
        domain = app.config["SESSION_COOKIE_DOMAIN"]
        path = app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]
        secure = app.config["SESSION_COOKIE_SECURE"]
        samesite = app.config["SESSION_COOKIE_SAMESITE"]
        httponly = app.config["SESSION_COOKIE_HTTPONLY"]
        if not session:
            if session.modified:
                response.delete_cookie(name, domain=domain, path=path, secure=secure,
                                       samesite=samesite, httponly=httponly)
            return
        if session.accessed:
            response.vary.add("Cookie")
        refresh = session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]
        if not (session.modified or refresh):
            return
        expires = None
        if session.permanent:
            expires = datetime.now(UTC) + app.permanent_session_lifetime
        val = self.get_signing_serializer(app).dumps(dict(session))
        response.set_cookie(name, val, expires=expires, httponly=httponly, domain=domain,
                            path=path, secure=secure, samesite=samesite)


# ==========================================================================================
# 三、蓝图 — a Blueprint records what to register; register_blueprint replays it on the app
# ==========================================================================================


class Blueprint:
    def __init__(self, name, import_name, url_prefix=None):
        if "." in name:
            raise ValueError(f"Blueprint name {name!r} may not contain a dot '.'")
        self.name = name
        self.import_name = import_name
        self.url_prefix = url_prefix
        self.deferred_functions = []

    def record(self, func):
        self.deferred_functions.append(func)

    def register(self, app, options):
        url_prefix = options.get("url_prefix", self.url_prefix)
        for deferred in self.deferred_functions:
            deferred(app, url_prefix)

    def route(self, rule, **options):
        def decorator(f):
            self.add_url_rule(rule, options.pop("endpoint", None), f, **options)
            return f

        return decorator

    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        endpoint = endpoint or view_func.__name__

        def register_rule(app, url_prefix):
            full_rule = rule
            if url_prefix is not None and rule:
                full_rule = "/".join((url_prefix.rstrip("/"), rule.lstrip("/")))
            elif url_prefix is not None:
                full_rule = url_prefix
            app.add_url_rule(full_rule, f"{self.name}.{endpoint}", view_func, **options)

        self.record(register_rule)

    def _hook(self, attribute, f):
        self.record(lambda app, _: getattr(app, attribute).setdefault(self.name, []).append(f))
        return f

    def before_request(self, f):
        return self._hook("before_request_funcs", f)

    def after_request(self, f):
        return self._hook("after_request_funcs", f)

    def teardown_request(self, f):
        return self._hook("teardown_request_funcs", f)

    def errorhandler(self, code_or_exception):
        def decorator(f):
            self.record(lambda app, _: app._register_error_handler(self.name, code_or_exception, f))
            return f

        return decorator


# ==========================================================================================
# 7.1 项目启动 — Flask: config, url_map, view_functions, hooks
# ==========================================================================================


class Request(_WerkzeugRequest):
    """Werkzeug's Request plus what URL matching found (set in step 2 by match_request)."""

    url_rule = None
    view_args = None
    routing_exception = None

    @property
    def endpoint(self):
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self):
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rsplit(".", 1)[0]
        return None


class Response(_WerkzeugResponse):
    """Werkzeug's Response, with Flask's default of HTML."""

    default_mimetype = "text/html"


def _setupmethod(attribute):
    """A decorator method that appends f to an app-level hook list (key None = the app)."""

    def register(self, f):
        getattr(self, attribute).setdefault(None, []).append(f)
        return f

    register.__name__ = attribute.replace("_funcs", "")
    return register


class Flask:
    request_class = Request
    response_class = Response
    url_rule_class = Rule
    url_map_class = Map
    app_ctx_globals_class = _AppCtxGlobals
    app_context_class = AppContext
    request_context_class = RequestContext
    session_interface = SecureCookieSessionInterface()

    def __init__(self, import_name, static_url_path=None, static_folder="static"):
        self.import_name = import_name
        self.root_path = _root_path(import_name)
        self.static_folder = static_folder
        if static_url_path is None and static_folder is not None:
            static_url_path = "/" + os.path.basename(static_folder.rstrip("/\\"))
        self.static_url_path = static_url_path
        self.config = Config(DEFAULT_CONFIG)
        self.view_functions = {}
        self.url_map = self.url_map_class()
        self.before_first_request_funcs = []
        self.before_request_funcs = {}
        self.after_request_funcs = {}
        self.teardown_request_funcs = {}
        self.teardown_appcontext_funcs = []
        self.error_handler_spec = {}
        self.blueprints = {}
        self.logger = logging.getLogger(self.name)
        self._got_first_request = False
        self._before_request_lock = threading.Lock()
        if static_folder is not None:
            self.add_url_rule(self.static_url_path + "/<path:filename>", endpoint="static",
                              view_func=self.send_static_file)

    @property
    def name(self):
        if self.import_name == "__main__":
            main_file = getattr(sys.modules["__main__"], "__file__", None)
            return os.path.splitext(os.path.basename(main_file))[0] if main_file else "__main__"
        return self.import_name

    secret_key = property(lambda self: self.config["SECRET_KEY"],
                          lambda self, value: self.config.__setitem__("SECRET_KEY", value))
    debug = property(lambda self: self.config["DEBUG"],
                     lambda self, value: self.config.__setitem__("DEBUG", value))
    testing = property(lambda self: self.config["TESTING"],
                       lambda self, value: self.config.__setitem__("TESTING", value))

    @property
    def permanent_session_lifetime(self):
        value = self.config["PERMANENT_SESSION_LIFETIME"]
        return value if isinstance(value, timedelta) else timedelta(seconds=value)

    @property
    def propagate_exceptions(self):
        rv = self.config["PROPAGATE_EXCEPTIONS"]
        return rv if rv is not None else self.testing or self.debug

    # --- routes: url -> Rule in url_map, endpoint -> function in view_functions ---------
    def route(self, rule, **options):
        def decorator(f):
            self.add_url_rule(rule, options.pop("endpoint", None), f, **options)
            return f

        return decorator

    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        if endpoint is None:
            endpoint = view_func.__name__
        methods = options.pop("methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError('Allowed methods must be a list of strings, for example: '
                            '@app.route(..., methods=["POST"])')
        methods = {m.upper() for m in methods}
        automatic_options = "OPTIONS" not in methods
        if automatic_options:
            methods.add("OPTIONS")
        url_rule = self.url_rule_class(rule, methods=methods, endpoint=endpoint, **options)
        url_rule.provide_automatic_options = automatic_options
        self.url_map.add(url_rule)
        if view_func is not None:
            old_func = self.view_functions.get(endpoint)
            if old_func is not None and old_func != view_func:
                raise AssertionError("View function mapping is overwriting an existing "
                                     f"endpoint function: {endpoint}")
            self.view_functions[endpoint] = view_func

    def send_static_file(self, filename):
        folder = os.path.join(self.root_path, self.static_folder)
        return send_from_directory(folder, filename, request.environ)

    def register_blueprint(self, blueprint, **options):
        registered = self.blueprints.get(blueprint.name)
        if registered is not None:
            raise ValueError(f"A blueprint named {blueprint.name!r} is already registered; "
                             "blueprint names must be unique")
        self.blueprints[blueprint.name] = blueprint
        blueprint.register(self, options)

    # --- hooks ------------------------------------------------------------------------
    before_request = _setupmethod("before_request_funcs")
    after_request = _setupmethod("after_request_funcs")
    teardown_request = _setupmethod("teardown_request_funcs")

    def before_first_request(self, f):
        self.before_first_request_funcs.append(f)
        return f

    def teardown_appcontext(self, f):
        self.teardown_appcontext_funcs.append(f)
        return f

    def errorhandler(self, code_or_exception):
        def decorator(f):
            self._register_error_handler(None, code_or_exception, f)
            return f

        return decorator

    def register_error_handler(self, code_or_exception, f):
        self._register_error_handler(None, code_or_exception, f)

    def _register_error_handler(self, key, code_or_exception, f):
        exc_class, code = _exception_class_and_code(code_or_exception)
        self.error_handler_spec.setdefault(key, {}).setdefault(code, {})[exc_class] = f

    # --- contexts -----------------------------------------------------------------------
    def app_context(self):
        return self.app_context_class(self)

    def request_context(self, environ):
        """Step 1: ctx = RequestContext(app, environ)."""
        return self.request_context_class(self, environ)

    def test_request_context(self, *args, **kwargs):
        builder = EnvironBuilder(*args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def create_url_adapter(self, request):
        if request is not None:
            return self.url_map.bind_to_environ(
                request.environ, server_name=self.config["SERVER_NAME"])
        if self.config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                self.config["SERVER_NAME"], script_name=self.config["APPLICATION_ROOT"],
                url_scheme=self.config["PREFERRED_URL_SCHEME"])
        return None

    # ======================================================================================
    # 7.2 有用户请求到来 / flask请求完整的生命周期 — 第1步 to 第5步
    # ======================================================================================

    def __call__(self, environ, start_response):
        """run_simple calls app(environ, start_response) for every request."""
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ, start_response):
        ctx = self.request_context(environ)  # 第1步
        error = None
        try:
            try:
                ctx.push()  # 第2步
                response = self.full_dispatch_request()  # 第3步
            except Exception as e:
                error = e
                response = self.handle_exception(e)  # 第4步
            except BaseException:
                error = sys.exc_info()[1]
                raise
            return response(environ, start_response)
        finally:
            ctx.auto_pop(error)  # 第5步: whatever happened, both stacks are popped

    def full_dispatch_request(self):
        self.try_trigger_before_first_request_functions()  # 3.1
        try:
            request_started.send(self)
            rv = self.preprocess_request()  # 3.2
            if rv is None:
                rv = self.dispatch_request()  # 3.3
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)  # 3.4

    def try_trigger_before_first_request_functions(self):
        if self._got_first_request:
            return
        with self._before_request_lock:  # two first requests at once run the hooks once
            if self._got_first_request:
                return
            for func in self.before_first_request_funcs:
                func()
            self._got_first_request = True

    def preprocess_request(self):
        """3.2: the app's before_request hooks, then the blueprint's; first non-None wins."""
        bp = _request_ctx_stack.top.request.blueprint
        funcs = self.before_request_funcs.get(None, ())
        if bp is not None and bp in self.before_request_funcs:
            funcs = chain(funcs, self.before_request_funcs[bp])
        for func in funcs:
            rv = func()
            if rv is not None:
                return rv
        return None

    def dispatch_request(self):
        """3.3: the view function of the matched rule, called with the URL's arguments."""
        req = _request_ctx_stack.top.request
        if req.routing_exception is not None:
            raise req.routing_exception
        rule = req.url_rule
        if rule.provide_automatic_options and req.method == "OPTIONS":
            return self.make_default_options_response()
        return self.view_functions[rule.endpoint](**req.view_args)

    def make_default_options_response(self):
        adapter = _request_ctx_stack.top.url_adapter
        response = self.response_class()
        response.allow.update(adapter.allowed_methods())
        return response

    def finalize_request(self, rv, from_error_handler=False):
        """3.4: turn the view's value into a Response, run after_request, signal."""
        response = self.make_response(rv)
        try:
            response = self.process_response(response)  # 3.4.1
            request_finished.send(self, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def make_response(self, rv):
        status = headers = None
        if isinstance(rv, tuple):
            if len(rv) == 3:
                rv, status, headers = rv
            elif len(rv) == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError("The view function did not return a valid response tuple. The "
                                "tuple must have the form (body, status, headers), "
                                "(body, status), or (body, headers).")
        if rv is None:
            raise TypeError(f"The view function for {request.endpoint!r} did not return a valid "
                            "response. The function either returned None or ended without a "
                            "return statement.")
        if not isinstance(rv, self.response_class):
            if isinstance(rv, (str, bytes, bytearray)):
                rv = self.response_class(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, dict):
                rv = jsonify(rv)
            elif callable(rv):  # another Response class, an HTTPException, any WSGI app
                rv = self.response_class.force_type(rv, request.environ)
            else:
                raise TypeError("The view function did not return a valid response. The return "
                                "type must be a string, dict, tuple, Response instance, or WSGI "
                                f"callable, but it was a {type(rv).__name__}.")
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                rv.status = status
            else:
                rv.status_code = status
        if headers:
            rv.headers.update(headers)
        return rv

    def process_response(self, response):
        """3.4.1: after_request hooks in reverse order (blueprint's first), then the session."""
        ctx = _request_ctx_stack.top
        bp = ctx.request.blueprint
        funcs = ctx._after_request_functions
        if bp is not None and bp in self.after_request_funcs:
            funcs = chain(funcs, reversed(self.after_request_funcs[bp]))
        if None in self.after_request_funcs:
            funcs = chain(funcs, reversed(self.after_request_funcs[None]))
        for handler in funcs:
            response = handler(response)
        if not self.session_interface.is_null_session(ctx.session):
            self.session_interface.save_session(self, ctx.session, response)  # 3.4.1.2
        return response

    # --- errors -------------------------------------------------------------------------
    def _find_error_handler(self, e):
        exc_class, code = _exception_class_and_code(type(e))
        bp = _request_ctx_stack.top.request.blueprint
        for name, c in ((bp, code), (None, code), (bp, None), (None, None)):
            handler_map = self.error_handler_spec.get(name, {}).get(c)
            if not handler_map:
                continue
            for cls in exc_class.__mro__:  # the most specific registered class wins
                handler = handler_map.get(cls)
                if handler is not None:
                    return handler
        return None

    def handle_http_exception(self, e):
        if e.code is None or isinstance(e, RequestRedirect):
            return e
        handler = self._find_error_handler(e)
        return e if handler is None else handler(e)

    def handle_user_exception(self, e):
        """An error from before_request or the view: an errorhandler, or re-raise."""
        if isinstance(e, HTTPException):
            return self.handle_http_exception(e)
        handler = self._find_error_handler(e)
        if handler is None:
            raise e
        return handler(e)

    def handle_exception(self, e):
        """第4步: an unhandled error becomes a 500 (after_request hooks still run)."""
        got_request_exception.send(self, exception=e)
        if self.propagate_exceptions:
            raise e
        self.logger.error(f"Exception on {request.path} [{request.method}]",
                          exc_info=(type(e), e, e.__traceback__))
        server_error = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error)
        if handler is not None:
            server_error = handler(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    # --- 第5步 teardown -----------------------------------------------------------------
    def do_teardown_request(self, exc=_sentinel):
        """5.1: teardown_request hooks (the app's, then the blueprint's), each reversed."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        funcs = reversed(self.teardown_request_funcs.get(None, ()))
        bp = _request_ctx_stack.top.request.blueprint
        if bp is not None and bp in self.teardown_request_funcs:
            funcs = chain(funcs, reversed(self.teardown_request_funcs[bp]))
        for func in funcs:
            func(exc)
        request_tearing_down.send(self, exc=exc)

    def do_teardown_appcontext(self, exc=_sentinel):
        """5.2.1: teardown_appcontext hooks, reversed."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            func(exc)
        appcontext_tearing_down.send(self, exc=exc)

    def run(self, host="127.0.0.1", port=5000, debug=None, **options):
        """7.1 运行flask: run_simple listens and calls app(environ, start_response) per request."""
        if debug is not None:
            self.debug = bool(debug)
        options.setdefault("threaded", True)
        run_simple(host, port, self, **options)


def _exception_class_and_code(exc_class_or_code):
    if isinstance(exc_class_or_code, int):
        if exc_class_or_code not in default_exceptions:
            raise KeyError(f"'{exc_class_or_code}' is not a recognized HTTP error code. Use a "
                           "subclass of HTTPException with that code instead.")
        exc_class_or_code = default_exceptions[exc_class_or_code]
    if not (isinstance(exc_class_or_code, type) and issubclass(exc_class_or_code, Exception)):
        raise ValueError(f"{exc_class_or_code!r} is not an HTTP status code or Exception class")
    if issubclass(exc_class_or_code, HTTPException):
        return exc_class_or_code, exc_class_or_code.code
    return exc_class_or_code, None


def _root_path(import_name):
    module_file = getattr(sys.modules.get(import_name), "__file__", None)
    return os.path.dirname(os.path.abspath(module_file)) if module_file else os.getcwd()


# --- small helpers a quick-start app uses ----------------------------------------------------


def jsonify(*args, **kwargs):
    data = args[0] if len(args) == 1 else (list(args) or kwargs)
    body = json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n"
    return current_app.response_class(body, mimetype="application/json")


def url_for(endpoint, **values):
    ctx = _request_ctx_stack.top
    if ctx is not None:
        adapter, blueprint = ctx.url_adapter, ctx.request.blueprint
        if endpoint.startswith("."):
            endpoint = blueprint + endpoint if blueprint else endpoint[1:]
        external = values.pop("_external", False)
    else:
        if _app_ctx_stack.top is None:
            raise RuntimeError(_globals._app_ctx_err_msg)
        adapter, external = _app_ctx_stack.top.url_adapter, values.pop("_external", True)
        if adapter is None:
            raise RuntimeError("url_for outside a request needs the SERVER_NAME config value.")
    return adapter.build(endpoint, values, force_external=external)


# ==========================================================================================
# §9 g到底是个什么鬼 and the demo app: one blueprint, the routes of the notes
# ==========================================================================================


def create_app(app_class=Flask):
    app = app_class(__name__)
    app.secret_key = "05-lifecycle-demo-secret"  # a demo key; set your own in real apps
    app.teardowns = []  # (path, repr(exc)) of recent requests, so /boom's teardown is visible

    @app.before_request
    def set_g():
        g.x1 = 123

    @app.teardown_request
    def remember_teardown(exc):
        app.teardowns.append((request.path, repr(exc)))
        del app.teardowns[:-20]

    @app.route("/")
    def home():
        links = "".join(f'<li><a href="{url}">{url}</a> — {what}</li>' for url, what in ROUTES)
        return f"<h1>05_lifecycle</h1><ul>{links}</ul>"

    @app.route("/index")
    def index():
        return "hello world"

    @app.route("/g")
    def show_g():
        return str(g.x1)

    @app.route("/session")
    def counter():
        session["counter"] = session.get("counter", 0) + 1
        return str(session["counter"])

    @app.route("/echo")
    def echo():
        delay = _parse_delay(request.args.get("delay", "0"))
        if "value" not in request.args:
            abort(400, description="missing ?value=")
        time.sleep(delay)
        return request.args["value"]  # read through the proxy *after* sleeping

    @app.route("/boom")
    def boom():
        return str(1 / 0)

    @app.route("/storage")
    def storage():
        return {"_request_ctx_stack": _stack_json(_request_ctx_stack),
                "_app_ctx_stack": _stack_json(_app_ctx_stack)}

    app.register_blueprint(admin, url_prefix="/admin")
    return app


ROUTES = [
    ("/index", "hello world"),
    ("/g", "g.x1, set by a before_request"),
    ("/session", "a counter kept in the signed session cookie"),
    ("/echo?value=hi&delay=0.1", "the value, read through `request` after sleeping"),
    ("/boom", "a 500; its teardown still runs"),
    ("/storage", "both LocalStacks' storage, right now"),
    ("/admin/", "a blueprint (url_prefix /admin) with its own before_request"),
]

admin = Blueprint("admin", __name__)


@admin.before_request
def admin_before():
    g.area = "admin"


@admin.route("/")
def admin_home():
    return f"blueprint {request.blueprint!r}, g.area = {g.area!r}"


def _parse_delay(text):
    try:
        delay = float(text)
    except ValueError:
        delay = -1
    if not 0 <= delay <= 1:  # also rejects nan
        abort(400, description="delay must be a number of seconds from 0 to 1")
    return delay


def _stack_json(stack):
    return {str(ident): [repr(item) for item in data.get("stack", [])]
            for ident, data in storage_view(stack).items()}


app = create_app()

# ==========================================================================================
# --trace: every step of every request, numbered as in the notes, as it happens
# ==========================================================================================

_trace_lock = threading.Lock()
_request_numbers = itertools.count(1)
_trace_state = threading.local()


def trace(step, text):
    number = getattr(_trace_state, "number", "-")
    with _trace_lock:
        print(f"#{number} {step:<7} {text}", flush=True)


def stacks_now():
    return (f"_request_ctx_stack={storage_view(_request_ctx_stack)} "
            f"_app_ctx_stack={storage_view(_app_ctx_stack)}")


class TracingAppContext(AppContext):
    def push(self):
        super().push()
        trace("2.1", f"app_ctx.push() -> {stacks_now()}")

    def pop(self, exc=_sentinel):
        trace("5.2", f"app_ctx.pop({exc!r}); request ctx gone -> {stacks_now()}")
        super().pop(exc)
        trace("5.2", f"app_ctx popped -> {stacks_now()}")


class TracingRequestContext(RequestContext):
    def push(self):
        trace("2", "ctx.push()")
        super().push()

    def match_request(self):
        super().match_request()
        rule = self.request.url_rule
        found = f"{rule.rule} -> {rule.endpoint}" if rule else repr(self.request.routing_exception)
        trace("2.x", f"match_request(): {found}  (URL matching, not numbered in the notes)")

    def auto_pop(self, exc):
        trace("5", f"ctx.auto_pop({exc!r})")
        super().auto_pop(exc)


class TracingSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        trace("2.2", f"_request_ctx_stack.push(ctx) -> {stacks_now()}")
        session = super().open_session(app, request)
        trace("2.3", f"open_session() -> {type(session).__name__}({dict(session)})")
        return session

    def save_session(self, app, session, response):
        super().save_session(app, session, response)
        cookie = response.headers.get("Set-Cookie")
        trace("3.4.1.2", f"save_session({dict(session)}) -> Set-Cookie: {cookie}")


class TracingFlask(Flask):
    app_context_class = TracingAppContext
    request_context_class = TracingRequestContext
    session_interface = TracingSessionInterface()

    def wsgi_app(self, environ, start_response):
        _trace_state.number = next(_request_numbers)
        trace("-" * 7, f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO')}: "
                       "run_simple -> app.__call__ -> app.wsgi_app")
        return super().wsgi_app(environ, start_response)

    def request_context(self, environ):
        ctx = super().request_context(environ)
        trace("1", f"ctx = app.request_context(environ) -> {ctx!r}")
        return ctx

    def full_dispatch_request(self):
        trace("3", "full_dispatch_request()")
        return super().full_dispatch_request()

    def try_trigger_before_first_request_functions(self):
        if not self._got_first_request:
            funcs = _names(self.before_first_request_funcs)
            trace("3.1", f"try_trigger_before_first_request_functions(): {funcs}")
        super().try_trigger_before_first_request_functions()

    def preprocess_request(self):
        trace("3.2", f"preprocess_request(): before_request {_names(self._hooks('before'))}")
        return super().preprocess_request()

    def dispatch_request(self):
        req = _request_ctx_stack.top.request
        trace("3.3", f"dispatch_request(): view_functions[{req.endpoint!r}](**{req.view_args})")
        return super().dispatch_request()

    def finalize_request(self, rv, from_error_handler=False):
        trace("3.4", f"finalize_request({_short(rv)}) -> make_response")
        return super().finalize_request(rv, from_error_handler)

    def process_response(self, response):
        trace("3.4.1", f"process_response(): after_request {_names(self._hooks('after'))} "
                       "(reversed), then save_session")
        return super().process_response(response)

    def handle_exception(self, e):
        trace("4", f"handle_exception({e!r}): got_request_exception, then a 500")
        return super().handle_exception(e)

    def do_teardown_request(self, exc=_sentinel):
        trace("5.1", f"do_teardown_request({exc!r}): teardown_request, request_tearing_down")
        super().do_teardown_request(exc)

    def do_teardown_appcontext(self, exc=_sentinel):
        trace("5.2.1", f"do_teardown_appcontext({exc!r}): teardown_appcontext, "
                       "appcontext_tearing_down")
        super().do_teardown_appcontext(exc)

    def _hooks(self, kind):
        table = self.before_request_funcs if kind == "before" else self.after_request_funcs
        bp = _request_ctx_stack.top.request.blueprint
        return table.get(None, []) + (table.get(bp, []) if bp else [])


def _names(funcs):
    return [f.__name__ for f in funcs]


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _trace_signals(tracing_app):
    for signal in (appcontext_pushed, request_started, request_finished, got_request_exception,
                   request_tearing_down, appcontext_tearing_down, appcontext_popped):
        def receiver(sender, _name=signal.name, **kwargs):
            if sender is tracing_app:
                trace("signal", f"{_name.replace('-', '_')} {kwargs or ''}".rstrip())

        signal.connect(receiver, weak=False)


# ==========================================================================================
# 000 内容回顾 2 — run_simple serves the app; the command line
# ==========================================================================================


class _OneLineErrors(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text):
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 1 to 65535, got {port}")
    return port


def parse_args(argv):
    parser = _OneLineErrors(prog="05_lifecycle.py", description="Serve the demo app.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=5000, help="port to listen on")
    parser.add_argument("--trace", action="store_true", help="print every lifecycle step")
    return parser.parse_args(argv)


def check_can_listen(host, port):
    """Fail early, in one line, where run_simple would print a traceback or two messages."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        reason = "port already in use" if exc.errno == 98 else (exc.strerror or str(exc))
        return f"05_lifecycle.py: cannot listen on {host}:{port}: {reason} (try another --port)"
    return None


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    problem = check_can_listen(args.host, args.port)
    if problem:
        sys.exit(problem)
    served = app
    if args.trace:
        served = create_app(TracingFlask)
        _trace_signals(served)
    print(f"05_lifecycle: serving http://{args.host}:{args.port}/ "
          f"({'tracing every request' if args.trace else 'add --trace to see every step'})",
          flush=True)
    served.run(args.host, args.port)


if __name__ == "__main__":
    main()
