"""05 — the notes' Flask on Werkzeug 3: startup, the request/app context lifecycle, app.run().

Notes: 000/001 §7 源码初识 (7.1 项目启动, 7.2 有用户请求到来), §9 g到底是个什么鬼, 总结 and
flask请求完整的生命周期 (第1步–第5步, 2.1–5.2.1); 002 §2 flask请求上下文 (1.0–4.4); 003's
session流程, and the Config and Blueprint that 003 一–三 use. The notes' blocks that *use* an app
(wsgi, config, routing, blueprints, CBV, their copies of Flask's source) run in 07, on this Flask.

Over 04 this adds the application that pushes and pops the contexts 04's globals read, with Flask
1.1.1's order of hooks and signals; routing, requests, responses, signing and signals come from
Werkzeug, itsdangerous and blinker. Each class is whole where it is defined: Part A alone, with
03, 04 and the libraries, serves a real request. Flask 1.1.1's API beyond the notes is a layer of
subclasses in flask111.py, which imports this file (never the reverse).

  Part A — one request, 第1步–第5步 (read this first): signals, g, the two contexts, Request and
           Response, the session, Config, then Flask, its methods in the order a request calls
           them, 7.1's startup after them.
  Part B — what a real app adds: blueprints, after_this_request.
  Part C — watch it: the demo app, the step table (000's and 002's numbers beside the function
           each step is), the narration, and main: app.run() → run_simple. What watches (the
           recorder, /lifecycle) is in instruments/, handed the step table, stacks and proxies.

Run:  python 05_lifecycle.py    narrate 7.1, a request (7.2, 第1步–第5步) and g (§9), then app.run()
      --demo: narrate and exit; --trace: narrate every request served; --list, --only g
      --markdown: a section to paste into notes. Then open http://127.0.0.1:5000/lifecycle
Test: python -m pytest tests/test_05_lifecycle.py tests/test_05_http.py tests/test_05_page.py
"""

import hashlib
import importlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from functools import update_wrapper
from itertools import chain

from blinker import Namespace
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict, Headers, ImmutableDict
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.exceptions import abort as abort  # re-exported for quick-start apps
from werkzeug.routing import Map, Rule
from werkzeug.test import Client, EnvironBuilder
from werkzeug.utils import import_string, send_from_directory
from werkzeug.utils import redirect as redirect  # re-exported for quick-start apps
from werkzeug.wrappers import Request as _WerkzeugRequest
from werkzeug.wrappers import Response as _WerkzeugResponse

from instruments import cli, sections, serving, watching

localstack = importlib.import_module("03_localstack")
localproxy = importlib.import_module("04_proxy")
_request_ctx_stack = localproxy._request_ctx_stack
_app_ctx_stack = localproxy._app_ctx_stack
request, session = localproxy.request, localproxy.session
g, current_app = localproxy.g, localproxy.current_app
storage_view = localstack.storage_view

_sentinel = object()  # "no exception given", as opposed to None ("no exception happened")

# ##########################################################################################
# Part A — one request, 第1步–第5步
# ##########################################################################################

# ==========================================================================================
# 信号 (flask/signals.py) — blinker signals, sent where Flask 1.1.1 sends them
# ==========================================================================================

_signals = Namespace()
appcontext_pushed = _signals.signal("appcontext-pushed")
request_started = _signals.signal("request-started")
request_finished = _signals.signal("request-finished")
got_request_exception = _signals.signal("got-request-exception")
request_tearing_down = _signals.signal("request-tearing-down")
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
appcontext_popped = _signals.signal("appcontext-popped")
# Flask sends unconditionally; `if sig.receivers:` skips blinker's ~0.2 µs when nobody listens.

# ==========================================================================================
# §9 g到底是个什么鬼, and flask/ctx.py — AppContext (step 2.1) and RequestContext (steps 1, 2)
# ==========================================================================================


class _AppCtxGlobals:
    """`g`: a plain namespace that lives as long as one app context (one request). (Flask
    1.1.1's g also has get, pop, setdefault, `in` and iteration: flask111.py.)"""

    def __repr__(self):
        top = _app_ctx_stack.top
        return f"<flask.g of {top.app.name!r}>" if top is not None else object.__repr__(self)


class AppContext:
    """app_ctx: the app and its g, pushed on _app_ctx_stack (step 2.1)."""

    def __init__(self, app):
        self.app = app
        self.url_adapter = app.create_url_adapter(None)
        self.g = app.app_ctx_globals_class()
        self._refcnt = 0  # pushed twice (nested `with`), it must tear down once

    def push(self):
        """Step 2.1: binds the app context to the current ident. From here until the pop,
        `current_app` and `g` find this app in whatever code runs for the request."""
        self._refcnt += 1
        _app_ctx_stack.push(self)
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app)

    def pop(self, exc=_sentinel):
        """Step 5.2: pops the app context; teardown_appcontext runs on the last pop only (a
        context pushed twice is torn down once). The pop is in `finally`, so a teardown that
        raises still leaves the stack as it found it. `_sentinel`: no exception given."""
        try:
            self._refcnt -= 1
            if self._refcnt <= 0:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)  # 5.2.1: release what the context held
        finally:
            rv = _app_ctx_stack.pop()
        assert rv is self, f"Popped wrong app context.  ({rv!r} instead of {self!r})"
        if appcontext_popped.receivers:
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
            request = app.request_class(environ)  # 002's 1.2
        self.request = request
        self.url_adapter = None
        try:
            self.url_adapter = app.create_url_adapter(self.request)
        except HTTPException as e:
            self.request.routing_exception = e
        self.session = session
        self._implicit_app_ctx_stack = []  # per push: the AppContext it added, or None
        self._after_request_functions = []  # filled by after_this_request (Part B)

    def push(self):
        """Step 2: binds the request context to the current ident, so that `request` and
        `session` find it. An app context comes first (2.1): `current_app` must work wherever
        `request` does; `_implicit_app_ctx_stack` remembers whether push added one, so that
        pop takes off exactly what push put on. The session is opened after the push (2.3),
        as opening it may use the request; the URL is matched last, so a routing error is
        raised at dispatch, inside the context, where error handlers see it."""
        # 2.1: an app context first, unless this app's is already on top (e.g. `with
        # app.app_context():` around a test request).
        app_ctx = _app_ctx_stack.top
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
            self._implicit_app_ctx_stack.append(app_ctx)
        else:
            self._implicit_app_ctx_stack.append(None)
        # 2.2: ourselves on the request stack — whether or not 2.1 pushed an app context (the
        # notes indent this under the `if`, so inside `with app.app_context()` it never ran).
        _request_ctx_stack.push(self)
        # 2.3: open the session once, so a context pushed again keeps its session.
        if self.session is None:
            session_interface = self.app.session_interface
            self.session = session_interface.open_session(self.app, self.request)
            if self.session is None:
                self.session = session_interface.make_null_session(self.app)
        # Flask 1.1.1 matches the URL last, after the session is open (not numbered in 000).
        if self.url_adapter is not None:
            self.match_request()

    def match_request(self):
        request = self.request
        try:
            request.url_rule, request.view_args = self.url_adapter.match(return_rule=True)
        except HTTPException as e:
            request.routing_exception = e
            return
        if "." in request.url_rule.endpoint:
            request.blueprint = request.url_rule.endpoint.rsplit(".", 1)[0]

    def auto_pop(self, exc):
        """Step 5, called by wsgi_app's `finally`: pops the context. (The `if` before the
        notes' `else:` is Flask 1.1.1's: keep the context pushed, to be looked at, inside the
        test client's `with` or after an error in debug mode: flask111.py. Flask >= 2.2 always
        pops here.)"""
        self.pop(exc)

    def pop(self, exc=_sentinel):
        """Step 5: pops the request context, then the app context that push added (5.2).
        teardown_request (5.1) runs first, while `request` still works, and on the last pop
        only. The pops are in `finally`: a teardown that raises must not leave this context on
        the stack for the next request on the same ident."""
        app_ctx = self._implicit_app_ctx_stack.pop()
        clear_request = False
        try:
            if not self._implicit_app_ctx_stack:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_request(exc)  # 5.1: `request` still works in teardowns
                self.request.close()
                clear_request = True
        finally:
            rv = _request_ctx_stack.pop()
            if clear_request:
                # Break the request <-> environ cycle so the memory goes at once.
                rv.request.environ["werkzeug.request"] = None
            if app_ctx is not None:
                app_ctx.pop(exc)  # 5.2: only the app context this push added
        assert rv is self, f"Popped wrong request context. ({rv!r} instead of {self!r})"

    def __enter__(self):
        self.push()
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.auto_pop(exc_value)

    def __repr__(self):
        return f"<RequestContext {self.request.url!r} [{self.request.method}] of {self.app.name}>"


# ==========================================================================================
# 第1步 — Request (what the environ becomes) and Response
# ==========================================================================================


class Request(_WerkzeugRequest):
    """Werkzeug's Request plus what URL matching found (set at the end of step 2)."""

    url_rule = view_args = routing_exception = None
    blueprint = None  # "admin" for "admin.home": set once by match_request (Flask: a property)

    @property
    def endpoint(self):
        return self.url_rule.endpoint if self.url_rule is not None else None


class Response(_WerkzeugResponse):
    """Werkzeug's Response, with Flask's default of HTML, and a relative Location made
    absolute, as Werkzeug 1.0.1 did (Werkzeug >= 2.1 leaves it relative)."""

    default_mimetype = "text/html"
    autocorrect_location_header = True


# ==========================================================================================
# session流程 — SecureCookieSessionInterface (flask/sessions.py): steps 2.3 and 3.4.1.2
# ==========================================================================================


class SessionMixin(MutableMapping):
    @property
    def permanent(self):
        return self.get("_permanent", False)

    @permanent.setter
    def permanent(self, value):
        self["_permanent"] = bool(value)

    modified = True
    accessed = True


def _on_session_update(session):
    session.modified = True
    session.accessed = True


class SecureCookieSession(CallbackDict, SessionMixin):
    """A dict that remembers whether it was read (accessed) or changed (modified)."""

    modified = False
    accessed = False

    def __init__(self, initial=None):
        super().__init__(initial, _on_session_update)  # Flask: a closure, made per request

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
            "on the application to something unique and secret."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail
    del _fail


class SessionJSONSerializer:
    """How the session dict becomes the cookie's payload, and back: compact JSON with sorted
    keys, as Flask writes it. (Flask 1.1.1 also tags tuples, bytes, Markup, UUIDs and
    datetimes so that they come back as what they were: flask111.py's TaggedJSONSerializer.)"""

    def dumps(self, value):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def loads(self, text):
        return json.loads(text)


class SessionInterface:
    """What Flask asks of a session backend: open_session (2.3) and save_session (3.4.1.2).
    Subclass it and set `app.session_interface = YourInterface()` to keep sessions elsewhere
    (000's 补充：自定义session: 07's ServerSideSessionInterface keeps them in memory)."""

    null_session_class = NullSession
    pickle_based = False

    def make_null_session(self, app):
        return self.null_session_class()

    def is_null_session(self, obj):
        """3.4.1.1: 000 notes that this is looked up on the base class, SessionInterface."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_domain(self, app):
        """SESSION_COOKIE_DOMAIN, or None: the browser sends the cookie back to this host only.
        (Flask 1.1.1 also derives it from SERVER_NAME, with warnings: flask111.py.)"""
        return app.config["SESSION_COOKIE_DOMAIN"] or None

    def get_cookie_path(self, app):
        return app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]

    def get_cookie_httponly(self, app):
        return app.config["SESSION_COOKIE_HTTPONLY"]

    def get_cookie_secure(self, app):
        return app.config["SESSION_COOKIE_SECURE"]

    def get_cookie_samesite(self, app):
        return app.config["SESSION_COOKIE_SAMESITE"]

    def get_expiration_time(self, app, session):
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app, session):
        return session.modified or (
            session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]
        )

    def open_session(self, app, request):
        """Step 2.3: the session for this request, or None (then a NullSession is used).
        Called once per context, at push, so every use of `session` sees the same object."""
        raise NotImplementedError()

    def save_session(self, app, session, response):
        """Step 3.4.1.2: keep what the request changed, in the response (a cookie) or a store.
        Called after the after_request functions, so their changes are kept too."""
        raise NotImplementedError()


class SecureCookieSessionInterface(SessionInterface):
    """The default: the whole session, signed (not encrypted), in a cookie."""

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = SessionJSONSerializer()
    session_class = SecureCookieSession

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        return URLSafeTimedSerializer(
            app.secret_key,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )

    def open_session(self, app, request):
        """Step 2.3: the signed cookie back into a dict. A bad signature, an expired cookie or
        garbage give an empty session, never an error: a client controls its cookies, and a
        forged one must cost it its session, not cause a 500."""
        if not app.secret_key:
            return None
        val = request.cookies.get(app.session_cookie_name)
        if not val:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = self.get_signing_serializer(app).loads(val, max_age=max_age)
        except BadData:  # bad signature, expired, or garbage
            return self.session_class()
        return self.session_class(data if isinstance(data, dict) else None)

    def save_session(self, app, session, response):
        """Step 3.4.1.2: signs the session into the cookie, only when it changed (or is to be
        refreshed): an unchanged session sends no Set-Cookie. An emptied session deletes the
        cookie. `Vary: Cookie` tells caches that the answer depended on the cookie."""
        name, domain, path = (
            app.session_cookie_name,
            self.get_cookie_domain(app),
            self.get_cookie_path(app),
        )
        if not session:
            if session.modified:
                response.delete_cookie(name, domain=domain, path=path)
            return
        if session.accessed:
            response.vary.add("Cookie")
        if not self.should_set_cookie(app, session):
            return
        val = self.get_signing_serializer(app).dumps(dict(session))
        response.set_cookie(
            name,
            val,
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=domain,
            path=path,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )


# ==========================================================================================
# 一、flask配置文件 — Config is a dict; from_object takes the UPPER-CASE names
# ==========================================================================================


class Config(dict):
    """The app's settings: a dict, filled from Flask.default_config when the app is made.
    from_object is the notes' way in (7.1: `app.config.from_object("settings.DevConfig")`);
    Flask 1.1.1's other loaders (from_pyfile, from_envvar, from_json, from_mapping,
    get_namespace) are flask111.py's Config. `root_path` is where those look for a file."""

    def __init__(self, root_path, defaults=None):
        super().__init__(defaults or {})
        self.root_path = root_path

    def from_object(self, obj):
        """Copy the upper-case attributes of an object, or of 'package.module.Class': a
        lower-case name in a settings class is a helper, not a setting."""
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def __repr__(self):
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


def _root_path(import_name):
    """The app's folder: Flask(__name__) finds it from the module's file."""
    module_file = getattr(sys.modules.get(import_name), "__file__", None)
    return os.path.dirname(os.path.abspath(module_file)) if module_file else os.getcwd()


# ==========================================================================================
# flask请求完整的生命周期 — Flask, its methods in the order one request calls them
# ==========================================================================================


class ConfigAttribute:
    """An app attribute that reads and writes one config key: app.secret_key is
    app.config["SECRET_KEY"]."""

    def __init__(self, key):
        self.key = key

    def __get__(self, app, owner=None):
        return self if app is None else app.config[self.key]

    def __set__(self, app, value):
        app.config[self.key] = value


class Flask:
    """The application: made once, at import, shared by every request (not on a stack). Its
    methods in the order a request calls them; 7.1's startup after them; run() last."""

    request_class = Request
    response_class = Response
    url_rule_class = Rule
    url_map_class = Map
    app_ctx_globals_class = _AppCtxGlobals
    app_context_class = AppContext
    request_context_class = RequestContext
    config_class = Config
    session_interface = SecureCookieSessionInterface()  # 2.3 and 3.4.1.2 ask it
    debug = ConfigAttribute("DEBUG")
    testing = ConfigAttribute("TESTING")
    secret_key = ConfigAttribute("SECRET_KEY")
    session_cookie_name = ConfigAttribute("SESSION_COOKIE_NAME")
    # The settings a request here reads, with Flask 1.1.1's defaults (it has 29: flask111.py).
    default_config = ImmutableDict({
        "DEBUG": False, "TESTING": False, "SECRET_KEY": None,
        "PROPAGATE_EXCEPTIONS": None,
        "SERVER_NAME": None, "APPLICATION_ROOT": "/", "PREFERRED_URL_SCHEME": "http",
        "SESSION_COOKIE_NAME": "session", "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_PATH": None, "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": False, "SESSION_COOKIE_SAMESITE": None,
        "SESSION_REFRESH_EACH_REQUEST": True, "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    })  # fmt: skip

    def __call__(self, environ, start_response):
        """run_simple calls app(environ, start_response) for every request."""
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ, start_response):
        """The WSGI application: one request, 第1步 to 第5步. (Middleware wraps `app.wsgi_app`,
        not the app, so the app object stays the app.)

        `error` keeps the exception that ended the request, for the teardown functions (None:
        all went well). An Exception becomes a 500 (第4步); a KeyboardInterrupt or SystemExit
        is not the request's business and goes up. The `finally` pops both contexts whatever
        happened: a context left on the stack would be found by the next request on the same
        ident."""
        ctx = self.request_context(environ)  # 第1步
        error = None  # the notes' wsgi_app lacks this line: `error` unbound after a success
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

    def request_context(self, environ):
        """Step 1: ctx = RequestContext(app, environ)."""
        return self.request_context_class(self, environ)

    # --- 第3步: full_dispatch_request -----------------------------------------------------
    def full_dispatch_request(self):
        """Step 3: between the pushes and the pops. A before_request function may answer instead
        of the view; either way the value goes through finalize_request. An error raised by
        either that is an HTTP error (a 404) becomes its response; any other reaches 第4步."""
        self.try_trigger_before_first_request_functions()  # 3.1: once per app, not per request
        try:
            if request_started.receivers:
                request_started.send(self)
            rv = self.preprocess_request()  # 3.2: a before_request may answer instead
            if rv is None:
                rv = self.dispatch_request()  # 3.3: only if none did
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)  # 3.4: the view's answer and a handler's alike

    def try_trigger_before_first_request_functions(self):
        if self._got_first_request:
            return
        with self._before_request_lock:  # two first requests at once run the hooks once
            if self._got_first_request:
                return
            for func in self.before_first_request_funcs:
                func()
            self._got_first_request = True  # the notes' 3.1 has no flag: it ran every time

    def preprocess_request(self):
        """Step 3.2: the app's before_request functions, then the blueprint's. The first one
        that returns something other than None answers the request, and the view is not
        called: that is how a login check turns a request away."""
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
        """Step 3.3: calls the view of the rule push matched. It reads the request from the
        stack, as the view does through the `request` proxy (002's 3.1–3.7). A routing error
        found at push is raised here, inside full_dispatch_request."""
        req = _request_ctx_stack.top.request
        if req.routing_exception is not None:
            raise req.routing_exception
        rule = req.url_rule
        if getattr(rule, "provide_automatic_options", False) and req.method == "OPTIONS":
            return self.make_default_options_response()
        return self.view_functions[rule.endpoint](**req.view_args)

    def make_default_options_response(self):
        adapter = _request_ctx_stack.top.url_adapter
        response = self.response_class()
        response.allow.update(adapter.allowed_methods())
        return response

    def finalize_request(self, rv, from_error_handler=False):
        """Step 3.4: the view's return value as a Response, which after_request may change.
        For a 500 (`from_error_handler`), an after_request function that raises is logged and
        ignored: the error page must still go out."""
        response = self.make_response(rv)
        try:
            response = self.process_response(response)  # 3.4.1: after_request may change it
            if request_finished.receivers:
                request_finished.send(self, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def make_response(self, rv):
        """Step 3.4: what the view returned, as a Response. A str or bytes is the body, a dict
        becomes JSON, a Response (an HTTP error such as a 404 is one) stays as it is; a tuple
        adds a status, headers, or both. (flask111.py's has Flask 1.1.1's every form.)"""
        status = headers = None
        if isinstance(rv, tuple) and len(rv) == 3:
            rv, status, headers = rv
        elif isinstance(rv, tuple) and len(rv) == 2:  # (body, headers) or (body, status)
            if isinstance(rv[1], (Headers, dict, tuple, list)):
                rv, headers = rv
            else:
                rv, status = rv
        if isinstance(rv, (str, bytes)):
            return self.response_class(rv, status=status, headers=headers)
        if isinstance(rv, dict):
            body = json.dumps(rv, separators=(",", ":"), sort_keys=True)
            rv = self.response_class(body + "\n", mimetype="application/json")
        elif callable(rv):  # a Response, or an HTTPException: both are WSGI apps
            rv = self.response_class.force_type(rv, request.environ)
        else:
            raise TypeError(f"The view function did not return a valid response: {rv!r:.60}")
        if status is not None:
            rv.status = status  # 404 or "404 NOT FOUND"
        if headers:
            rv.headers.extend(headers)
        return rv

    def process_response(self, response):
        """Step 3.4.1: the after_request functions, in reverse order of registration (the one
        registered first is the onion's outer layer: first in, last out), the blueprint's
        before the app's; then the session is saved, so they can still change it."""
        ctx = _request_ctx_stack.top
        bp = ctx.request.blueprint
        funcs = ctx._after_request_functions  # after_this_request, in registration order
        if bp is not None and bp in self.after_request_funcs:
            funcs = chain(funcs, reversed(self.after_request_funcs[bp]))
        if None in self.after_request_funcs:  # the notes' 3.4.1 forgets these (the app's own)
            funcs = chain(funcs, reversed(self.after_request_funcs[None]))
        for handler in funcs:
            response = handler(response)
        if not self.session_interface.is_null_session(ctx.session):  # 3.4.1.1: no key, no save
            self.session_interface.save_session(self, ctx.session, response)  # 3.4.1.2: last
        return response

    # --- errors raised in 第3步, and 第4步 --------------------------------------------------
    def handle_user_exception(self, e):
        """An error from before_request or the view. An HTTP error (a 404 from matching, an
        abort(403)) is a response of its own; anything else goes on to 第4步. (flask111.py
        lets the app's errorhandler functions answer either first.)"""
        if isinstance(e, HTTPException):
            return self.handle_http_exception(e)
        raise e

    def handle_http_exception(self, e):
        """An HTTP error is its own response: its status, and Werkzeug's page for it."""
        return e

    def handle_exception(self, e):
        """Step 4: an error no handler took is signalled, logged, and becomes a 500 that still
        goes through finalize_request (after_request and the session run). In debug mode or
        testing (`propagate_exceptions`) it is raised instead, to be seen where it happened."""
        if got_request_exception.receivers:
            got_request_exception.send(self, exception=e)
        if self.propagate_exceptions:
            raise e
        self.logger.error(
            f"Exception on {request.path} [{request.method}]",
            exc_info=(type(e), e, e.__traceback__),
        )
        server_error = self.handle_http_exception(InternalServerError(original_exception=e))
        return self.finalize_request(server_error, from_error_handler=True)

    # --- 第5步: teardown, called from RequestContext.pop and AppContext.pop ---------------
    def do_teardown_request(self, exc=_sentinel):
        """Step 5.1: the teardown_request functions, reversed, with the exception that ended
        the request (or None). They run whatever happened: the place to release what a
        request holds (a database connection)."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        funcs = reversed(self.teardown_request_funcs.get(None, ()))
        bp = _request_ctx_stack.top.request.blueprint
        if bp is not None and bp in self.teardown_request_funcs:
            funcs = chain(funcs, reversed(self.teardown_request_funcs[bp]))
        for func in funcs:
            func(exc)
        if request_tearing_down.receivers:
            request_tearing_down.send(self, exc=exc)

    def do_teardown_appcontext(self, exc=_sentinel):
        """Step 5.2.1: the teardown_appcontext functions, reversed, as the app context goes
        (which also happens without a request: `with app.app_context():` in a script)."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            func(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, exc=exc)

    # ======================================================================================
    # 7.1 项目启动 — what `app = Flask(__name__)` and the decorators build before any request
    # ======================================================================================

    def __init__(
        self,
        import_name,
        static_url_path=None,
        static_folder="static",
        static_host=None,
        host_matching=False,
        subdomain_matching=False,
        root_path=None,
    ):
        # 1. initial values; 3. url_map and view_functions ("截止目前: config, url_map,
        # view_functions", what a request reads). Templates, instance folder: flask111.py.
        self.import_name = import_name
        self.root_path = root_path if root_path is not None else _root_path(import_name)
        self.static_folder = static_folder
        if static_url_path is None and static_folder is not None:
            static_url_path = "/" + os.path.basename(static_folder.rstrip("/\\"))
        self.static_url_path = static_url_path
        self.subdomain_matching = subdomain_matching
        self.config = self.make_config()
        self.view_functions = {}
        self.url_map = self.url_map_class()
        self.url_map.host_matching = host_matching
        self.before_first_request_funcs = []
        self.before_request_funcs = {}
        self.after_request_funcs = {}
        self.teardown_request_funcs = {}
        self.teardown_appcontext_funcs = []
        self.blueprints = {}
        self.logger = logging.getLogger(self.name)
        self._got_first_request = False
        self._before_request_lock = threading.Lock()
        if static_folder is not None:  # 2. the static route
            # With host_matching every rule needs a host: the static one too, and only then.
            assert bool(static_host) == host_matching, "Invalid static_host/host_matching pair"
            self.add_url_rule(
                self.static_url_path + "/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=self.send_static_file,
            )

    def make_config(self):
        """app.config: a Config filled with default_config, rooted at the app's folder."""
        return self.config_class(self.root_path, self.default_config)

    @property
    def got_first_request(self):
        """True once the first request has run the before_first_request functions (3.1)."""
        return self._got_first_request

    @property
    def name(self):
        if self.import_name == "__main__":
            main_file = getattr(sys.modules["__main__"], "__file__", None)
            return os.path.splitext(os.path.basename(main_file))[0] if main_file else "__main__"
        return self.import_name

    @property
    def permanent_session_lifetime(self):
        value = self.config["PERMANENT_SESSION_LIFETIME"]
        return value if isinstance(value, timedelta) else timedelta(seconds=value)

    @property
    def propagate_exceptions(self):
        rv = self.config["PROPAGATE_EXCEPTIONS"]
        return rv if rv is not None else self.testing or self.debug

    # --- 添加路由映射: url -> Rule in url_map, endpoint -> function in view_functions ------
    def route(self, rule, **options):
        def decorator(f):
            self.add_url_rule(rule, options.pop("endpoint", None), f, **options)
            return f

        return decorator

    def add_url_rule(
        self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options
    ):
        if endpoint is None:
            endpoint = view_func.__name__
        # A class-based view (View.as_view) carries its methods on the function.
        methods = options.pop("methods", None) or getattr(view_func, "methods", None) or ("GET",)
        methods = {m.upper() for m in methods}
        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:  # answer OPTIONS for the view, unless it does
            provide_automatic_options = "OPTIONS" not in methods
            if provide_automatic_options:
                methods.add("OPTIONS")
        url_rule = self.url_rule_class(rule, methods=methods, endpoint=endpoint, **options)
        url_rule.provide_automatic_options = provide_automatic_options
        self.url_map.add(url_rule)
        if view_func is not None:
            old_func = self.view_functions.get(endpoint)
            if old_func is not None and old_func != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing "
                    f"endpoint function: {endpoint}"
                )
            self.view_functions[endpoint] = view_func

    def register_blueprint(self, blueprint, **options):
        """The same blueprint may be registered again (another url_prefix): its rules are
        added again, its hooks only the first time."""
        first_registration = blueprint.name not in self.blueprints
        self.blueprints[blueprint.name] = blueprint
        blueprint.register(self, options, first_registration)

    # --- the hooks: before_request / after_request are "Django middleware" (内容回顾 4) --
    def before_request(self, f):
        self.before_request_funcs.setdefault(None, []).append(f)
        return f

    def after_request(self, f):
        self.after_request_funcs.setdefault(None, []).append(f)
        return f

    def teardown_request(self, f):
        self.teardown_request_funcs.setdefault(None, []).append(f)
        return f

    def before_first_request(self, f):
        self.before_first_request_funcs.append(f)
        return f

    def teardown_appcontext(self, f):
        self.teardown_appcontext_funcs.append(f)
        return f

    # --- contexts outside a served request ------------------------------------------------
    def app_context(self):
        return self.app_context_class(self)

    def test_request_context(self, *args, **kwargs):
        """A RequestContext for a request never sent: EnvironBuilder(path, method, data, ...)."""
        builder = EnvironBuilder(*args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies=True, **kwargs):
        """Werkzeug's test Client: a real request through app(environ, start_response)."""
        return Client(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def create_url_adapter(self, request):
        """The URL map bound to this request's host and path, for matching (2.2's match_request).
        An app context has no request: its adapter is for url_for, flask111.py's."""
        if request is None:
            return None
        # Without subdomain_matching, every request counts as the default subdomain.
        subdomain = None if self.subdomain_matching else (self.url_map.default_subdomain or None)
        return self.url_map.bind_to_environ(
            request.environ, server_name=self.config["SERVER_NAME"], subdomain=subdomain
        )

    def send_static_file(self, filename):
        folder = os.path.join(self.root_path, self.static_folder)
        return send_from_directory(folder, filename, request.environ)

    # --- 运行flask ---------------------------------------------------------------------------
    def run(self, host=None, port=None, debug=None, **options):
        """7.1 运行flask: `app.run()` → `run_simple(host, port, self)`, which listens and for
        every request calls self(environ, start_response): __call__ → wsgi_app. threaded=True
        gives each request a thread, so each has its own ident and its own entry in the two
        stacks (000 §3). When it returns (Ctrl-C), the next run starts from a first request."""
        if debug is not None:
            self.debug = bool(debug)
        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        from werkzeug.serving import run_simple

        try:
            run_simple(host or "127.0.0.1", 5000 if port is None else int(port), self, **options)
        finally:
            self._got_first_request = False


# ##########################################################################################
# Part B — what a real app adds
# ##########################################################################################

# ==========================================================================================
# 三、蓝图 — a Blueprint records what to register; register_blueprint replays it on the app
# ==========================================================================================


class Blueprint:
    """Records what to register; app.register_blueprint(bp, url_prefix=..., subdomain=...)
    replays it on the app. Its own static folder is served at url_prefix + static_url_path."""

    def __init__(
        self,
        name,
        import_name,
        static_folder=None,
        static_url_path=None,
        template_folder=None,
        url_prefix=None,
        subdomain=None,
        root_path=None,
    ):
        self.name = name
        self.import_name = import_name
        self.root_path = root_path if root_path is not None else _root_path(import_name)
        self.static_folder = static_folder
        self.static_url_path = static_url_path
        self.template_folder = template_folder  # templates are not taught here
        self.url_prefix = url_prefix
        self.subdomain = subdomain
        self.deferred_functions = []

    def record(self, func):
        """Keep func(state) for register_blueprint: a blueprint has no app until then."""
        self.deferred_functions.append(func)

    def record_once(self, func):
        """Like record, but only on the first registration: a blueprint registered twice
        (under two prefixes) adds its rules twice and its hooks once."""

        def wrapper(state):
            if state.first_registration:
                func(state)

        self.record(update_wrapper(wrapper, func))

    def make_setup_state(self, app, options, first_registration=False):
        return BlueprintSetupState(self, app, options, first_registration)

    def register(self, app, options, first_registration=False):
        state = self.make_setup_state(app, options, first_registration)
        if self.static_folder is not None:
            state.add_url_rule(
                f"{self.static_url_path or '/static'}/<path:filename>",
                "static",
                self.send_static_file,
            )
        for deferred in self.deferred_functions:
            deferred(state)

    def send_static_file(self, filename):
        return send_from_directory(
            os.path.join(self.root_path, self.static_folder), filename, request.environ
        )

    def route(self, rule, **options):
        def decorator(f):
            self.add_url_rule(rule, options.pop("endpoint", None), f, **options)
            return f

        return decorator

    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        """The endpoint becomes 'blueprint.endpoint' when the blueprint is registered."""
        endpoint = endpoint or view_func.__name__
        self.record(lambda state: state.add_url_rule(rule, endpoint, view_func, **options))

    def record_hook(self, attribute, f, key=_sentinel):
        """Add f to the app's hooks for this blueprint (or, key=None, for the whole app),
        once: a blueprint registered twice runs each hook once."""
        key = self.name if key is _sentinel else key
        self.record_once(lambda state: getattr(state.app, attribute).setdefault(key, []).append(f))
        return f

    def before_request(self, f):
        return self.record_hook("before_request_funcs", f)

    def after_request(self, f):
        return self.record_hook("after_request_funcs", f)

    def teardown_request(self, f):
        return self.record_hook("teardown_request_funcs", f)


class BlueprintSetupState:
    """What one registration of a blueprint adds its rules with: the app, the URL prefix and
    the subdomain (from register_blueprint, else from the Blueprint)."""

    def __init__(self, blueprint, app, options, first_registration):
        self.blueprint, self.app, self.first_registration = blueprint, app, first_registration
        self.options = options
        url_prefix, subdomain = options.get("url_prefix"), options.get("subdomain")
        self.url_prefix = blueprint.url_prefix if url_prefix is None else url_prefix
        self.subdomain = blueprint.subdomain if subdomain is None else subdomain

    def add_url_rule(self, rule, endpoint, view_func, **options):
        if self.url_prefix is not None:
            rule = self.url_prefix.rstrip("/") + "/" + rule.lstrip("/") if rule else self.url_prefix
        options.setdefault("subdomain", self.subdomain)
        self.app.add_url_rule(rule, f"{self.blueprint.name}.{endpoint}", view_func, **options)


# ==========================================================================================
# after_this_request (flask/ctx.py) — an after_request function for this request only
# ==========================================================================================


def after_this_request(f):
    """Run f(response) after this request's view, before the after_request hooks (3.4.1): it
    is kept on the request context, so it goes with it. (ctx.py's other helpers: flask111.py.)"""
    _request_ctx_stack.top._after_request_functions.append(f)  # no request: AttributeError
    return f


# ##########################################################################################
# Part C — watch it: the demo app, the narration, main
# ##########################################################################################

# ==========================================================================================
# The demo app — §9 g, 7.1's /index, a session counter, a blueprint
# ==========================================================================================


class DemoConfig:
    """What 7.1's `app.config.from_object("settings.DemoConfig")` loads: UPPER-CASE names only."""

    SECRET_KEY = "05-lifecycle-demo-secret"  # a demo key; set your own in real apps
    SESSION_COOKIE_SAMESITE = "Lax"
    greeting = "lower-case names are not configuration: from_object skips them"


ROUTES = [  # what the home page lists, after the pages watching.watch adds (/, /lifecycle, ...)
    ("/index", "hello world (7.1's first route)"),
    ("/g", "g.x1, set by a before_request; a request's g is its own (§9 g)"),
    ("/session", "a counter kept in the signed session cookie (POST resets it)"),
    ("/echo?value=hi&delay=0.1", "the value, read through `request` after sleeping"),
    ("/boom", "a 500; its teardown still runs and sees the exception"),
    ("/admin/", "a blueprint (url_prefix /admin) with its own before_request"),
]


def create_app(app_class=Flask):
    app = app_class(__name__)
    app.config.from_object(DemoConfig)
    app.teardowns = []  # (path, repr(exc)) of recent requests, so /boom's teardown is visible
    app.routes = list(ROUTES)  # 08 and 09 add their own
    watching.watch(app, **WATCHED)  # the recorder and the pages, handed what they watch

    @app.before_first_request
    def first_request():
        app.logger.info("the first request arrived")

    @app.before_request
    def set_g():
        g.x1 = 123

    @app.teardown_request
    def remember_teardown(exc):
        app.teardowns.append((request.path, repr(exc)))
        del app.teardowns[:-20]

    @app.route("/index")
    def index():
        return "hello world"

    @app.route("/g")
    def show_g():
        earlier = getattr(g, "left_by_a_view", None)  # set by an earlier request: never seen
        g.left_by_a_view = "yes"
        return f"g.x1 = {g.x1}; left by an earlier request: {earlier}"

    @app.route("/session", methods=["GET", "POST"])
    def counter():
        if request.method == "POST":  # request.method: 002's 3.3-3.7, traced in the narration
            session.pop("counter", None)
            return "reset"
        count = session.get("counter", 0)
        if type(count) is not int:  # a cookie that holds something else: start again
            count = 0
        session["counter"] = count + 1
        return str(session["counter"])

    @app.route("/echo")
    def echo():
        delay = _parse_delay(request.args.get("delay", "0"))
        if "value" not in request.args:
            abort(400, description="missing ?value=")
        time.sleep(delay)
        # read through the proxy *after* sleeping; text/plain, so a <script> value stays text
        return request.args["value"], {"Content-Type": "text/plain; charset=utf-8"}

    @app.route("/boom")
    def boom():
        return str(1 / 0)

    app.register_blueprint(admin, url_prefix="/admin")
    return app


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


# ==========================================================================================
# The step table — one request's steps, with 000's and 002's numbers, written once
# ==========================================================================================


Step = watching.Step  # (n000, n002, phase, func, says, then, on, inside, outermost)


def _said_first_request(args):
    app = args["self"]
    if app.got_first_request:
        return "before_first_request functions: already ran"
    names = [f.__name__ for f in app.before_first_request_funcs]
    return f"before_first_request functions, on this app's first request: {names}"


def _said_dispatch(args):
    req = _request_ctx_stack.top.request
    if req.routing_exception is not None:
        error = type(req.routing_exception).__name__
        return f"dispatch_request(): no rule matched -> raise {error}"
    return f"dispatch_request(): view_functions[{req.endpoint!r}](**{req.view_args})"


def _then_match(args, result):
    req = args["self"].request
    if req.url_rule is None:
        return f"-> no rule matched: {type(req.routing_exception).__name__}"
    return f"-> {req.url_rule.rule} matched: endpoint {req.endpoint!r}, view_args {req.view_args}"


def _then_cookie(args, result):
    cookie = args["response"].headers.get("Set-Cookie")
    if cookie is None:
        return "-> the session did not change: no Set-Cookie"
    # The signature and timestamp change every second; the payload is what to read.
    return "-> Set-Cookie: " + re.sub(r"=([^.;]*)\.[^;]*", r"=\1.…", cookie, count=1)


# fmt: off
LocalStack, Local, LocalProxy = localstack.LocalStack, localstack.Local, localproxy.LocalProxy
PUSH_CTX = Step("2.2", "2.2", "push", LocalStack.push,
                "_request_ctx_stack.push(ctx) -> LocalStack.push", on=_request_ctx_stack)
GETATTR = Step("", "3.3", "dispatch", LocalProxy.__getattr__,
               "{proxy}.{name} -> LocalProxy.__getattr__({name!r})", then="-> {result!r}")
CURRENT = Step("", "3.4", "dispatch", LocalProxy._get_current_object,
               "self._get_current_object() -> calls the partial it was made with", inside=GETATTR)
USED = Step("", "3.4", "dispatch", LocalProxy._get_current_object,
            "{proxy} used -> LocalProxy._get_current_object()")
LOOKUP = Step("", "3.5", "dispatch", localproxy._lookup_req_object,
              "_lookup_req_object({name!r}): top = _request_ctx_stack.top", inside=(CURRENT, USED))
TOP = Step("", "3.6", "dispatch", LocalStack.top.fget,
           "LocalStack.top: return self._local.stack[-1]", inside=LOOKUP)
POP_CTX = Step("", "4.2", "pop", LocalStack.pop,
               "rv = _request_ctx_stack.pop() -> LocalStack.pop", on=_request_ctx_stack)
RELEASE = Step("", "4.3", "pop", localstack.release_local,
               "len(stack) == 1 -> release_local(self._local); return stack[-1]", inside=POP_CTX)
STEPS = (
    Step("1", "1.0", "push", Flask.request_context, "ctx = app.request_context(environ)"),
    Step("", "1.1", "push", RequestContext.__init__,
         "RequestContext(app, environ): ctx.request, ctx.session = None"),
    Step("", "1.2", "push", Request.__init__, "request = app.request_class(environ)",
         then="-> {self!r}"),
    Step("2", "2.0 2.1", "push", RequestContext.push, "ctx.push()"),
    Step("2.1", "", "push", AppContext.push, "app_ctx = app.app_context(); app_ctx.push()"),
    Step("", "", "push", LocalStack.push, "_app_ctx_stack.push(app_ctx) -> LocalStack.push",
         on=_app_ctx_stack),
    PUSH_CTX,
    Step("", "2.3", "push", Local.__setattr__,
         "self._local.stack = rv = [] -> Local.__setattr__({name!r}, [])", inside=PUSH_CTX,
         then="-> __storage__[ident] = {{'stack': []}}; back in push: rv.append(ctx)"),
    Step("2.3", "", "push", SessionInterface.open_session,
         "ctx.session = app.session_interface.open_session(app, request)",
         then=lambda args, result: f"-> {type(result).__name__}({dict(result or {})})"),
    Step("", "", "push", RequestContext.match_request,
         "ctx.match_request(): URL matching (not numbered in 000)", then=_then_match),
    Step("3", "3.0", "dispatch", Flask.full_dispatch_request,
         "response = app.full_dispatch_request()"),
    Step("3.1", "", "dispatch", Flask.try_trigger_before_first_request_functions,
         _said_first_request),
    Step("3.2", "", "dispatch", Flask.preprocess_request,
         "preprocess_request(): before_request functions, in registration order",
         then=lambda args, result: None if result is None else
         f"-> {result!r:.50}: a before_request answered; the view is skipped"),
    Step("3.3", "3.1", "dispatch", Flask.dispatch_request, _said_dispatch),
    Step("", "3.2", "dispatch", LocalProxy.__init__,
         "{proxy} = LocalProxy({made_with}), made at import"),
    GETATTR, CURRENT, USED, LOOKUP, TOP,
    Step("", "3.7", "dispatch", Local.__getattr__,
         "Local.__getattr__({name!r}): __storage__[ident][name]", inside=TOP,
         then=lambda args, stack: "-> [" + ", ".join(
             f"<RequestContext {c.request.method} {c.request.path}>" for c in stack) + "]"),
    Step("", "", "dispatch", Flask.handle_user_exception,
         "handle_user_exception({e!r:.40}): response, or raise"),
    Step("4", "", "dispatch", Flask.handle_exception, "handle_exception(e): unhandled -> a 500"),
    Step("3.4", "", "finalize", Flask.finalize_request,
         "finalize_request({rv!r:.40}) -> make_response(rv)", then="-> {result!r}"),
    Step("3.4.1", "", "finalize", Flask.process_response,
         "process_response(response): after_request functions, in reverse order"),
    Step("3.4.1.1", "", "finalize", SessionInterface.is_null_session,
         "is_null_session(ctx.session): isinstance(obj, {self.null_session_class.__name__})",
         then="-> {result!r}"),
    Step("3.4.1.2", "", "finalize", SessionInterface.save_session,
         lambda args: f"save_session(app, {dict(args['session'])}, response)", then=_then_cookie),
    Step("", "", "respond", Response.__call__, "return response(environ, start_response)",
         then="-> start_response({self.status!r}, headers)", outermost=True),
    Step("5", "4.0 4.1", "pop", RequestContext.auto_pop,
         "ctx.auto_pop({exc!r:.40}) -> ctx.pop(exc)"),
    Step("5.1", "", "pop", Flask.do_teardown_request,
         "do_teardown_request(exc): teardown_request functions, reversed"),
    POP_CTX, RELEASE,
    Step("", "4.4", "pop", Local.__release_local__,
         "Local.__release_local__(): self.__storage__.pop(self.__ident_func__())", inside=RELEASE),
    Step("", "", "pop", LocalStack.pop, "rv = _app_ctx_stack.pop() -> LocalStack.pop",
         on=_app_ctx_stack),
    Step("5.2", "", "pop", AppContext.pop, "app_ctx.pop({exc!r})"),
    Step("5.2.1", "", "pop", Flask.do_teardown_appcontext,
         "do_teardown_appcontext(exc): teardown_appcontext functions, reversed"),
)
# fmt: on

# What the instruments are handed: the step table, and the objects a step is seen through.
WATCHED = {
    "steps": STEPS,
    "stacks": {"_request_ctx_stack": _request_ctx_stack, "_app_ctx_stack": _app_ctx_stack},
    "proxies": {"request": request, "session": session, "g": g, "current_app": current_app},
    "signals": (
        appcontext_pushed, request_started, request_finished, got_request_exception,
        request_tearing_down, appcontext_tearing_down, appcontext_popped,
    ),
    "get_ident": localstack.get_ident,  # the key the stacks keep a request's contexts under
    "storage_view": localstack.storage_view, "idents_in": localstack.idents_in,
}  # fmt: skip


# ==========================================================================================
# 7.1 项目启动 and 7.2 有用户请求到来, narrated
# ==========================================================================================


def narrate_startup(app, out=print):
    """7.1 项目启动, 截止目前: app.config, app.url_map, app.view_functions"""
    out("== 7.1 项目启动, 截止目前: app.config, app.url_map, app.view_functions ==")
    out(
        f"app = Flask(__name__): app.name {app.name!r}, static_url_path "
        f"{app.static_url_path!r}, static_folder {app.static_folder!r}"
    )
    names = [n for n in dir(DemoConfig) if not n.startswith("__")]
    taken = [n for n in names if n.isupper()]
    out(f"app.config.from_object({DemoConfig.__name__}):")
    out(f"  took the upper-case names {taken}")
    out(f"  and skipped the lower-case {[n for n in names if not n.isupper()]}")
    out(f"app.config, a dict of {len(app.config)} keys:")
    for key in sorted(app.config):
        source = "  <- from_object" if key in taken else ""
        out(f"  {key:<30} {app.config[key]!r}{source}")
    out(
        f"Flask 1.1.1 has 29 default keys; 05 keeps the {len(Flask.default_config)} that a "
        "request here reads (flask111.py has all 29)"
    )
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    out(f"app.url_map, {len(rules)} Rule objects (rule, methods, endpoint):")
    for rule in rules:
        out(f"  {rule.rule:<26} {','.join(sorted(rule.methods)):<22} -> {rule.endpoint}")
    methods = sorted(next(app.url_map.iter_rules("index")).methods)
    out(f"/index: the notes say its Rule holds methods = [GET,POST]; it holds {methods}:")
    out(f"  no methods= is GET only (Werkzeug adds HEAD, Flask OPTIONS); does POST /index match?"
        f" {app.url_map.bind('localhost').test('/index', method='POST')} (a 405)")  # fmt: skip
    out("app.view_functions (endpoint -> function):")
    for endpoint, func in sorted(app.view_functions.items()):
        out(f"  {endpoint:<18} -> {func.__qualname__.split('.<locals>.')[-1]}")


def narrate_request(app, path="/session", title="7.2 有用户请求到来", out=print, part=None):
    """7.2 有用户请求到来: one request, 第1步–第5步, each step as the recorder sees it; `part`,
    one step of wsgi_app ("1" ... "5"), or "" for wsgi_app's own lines."""
    out("")
    out(f"== {title}: GET {path} (000's numbers; 002's in parentheses) ==")
    out(f"{'000':<8}{'(002)':<10}what runs (indented: called from the line above)")
    app.logger.disabled = True  # handle_exception logs a traceback: the narration shows the steps
    with watching.narrating(app, out, part), Client(app).get(path) as response:
        body = response.get_data(as_text=True)
    app.logger.disabled = False
    empty = not any(storage_view(stack) for stack in (_request_ctx_stack, _app_ctx_stack))
    body = body if len(body) < 30 else body[:27] + "..."
    if not part:
        out(f"-> {response.status}, body {body!r}; both stacks empty again: {empty}")


def narrate_g(app, out=print):
    """§9 g到底是个什么鬼: set by before_request, read in the view, new each request"""
    out("")
    out("== §9 g到底是个什么鬼: set by before_request, read in the view, new each request ==")
    for n in (1, 2):
        out(f"request {n}: GET /g -> {app.test_client().get('/g').text!r}")
    out("-> request 1's view set g.left_by_a_view; request 2 never sees it: g is app_ctx.g,")
    out("   made with the app context at 第2.1步 and gone with it at 5.2")


# What `python 05_lifecycle.py` and `gunicorn '05_lifecycle:app'` serve ($SECRET_KEY signs).
app = serving.use_secret_key(create_app())


SECTIONS = sections.registry(
    sections.Section("startup", narrate_startup, DemoConfig, Flask.__init__, Flask.add_url_rule,
                     Config.from_object, heading="#### 7.1 项目启动", note="000"),
    sections.Section("request", narrate_request, Flask.__call__, Flask.wsgi_app, args={"part": ""},
                     heading="#### 7.2 有用户请求到来", note="000"),
    sections.Section("step_1", narrate_request, Flask.request_context, RequestContext.__init__,
                     args={"title": "第1步", "part": "1"}, note="000",
                     heading="#### 第1步：执行app.request_context方法，把请求的相关信息传进去了"),
    sections.Section("step_2", narrate_request, RequestContext.push, AppContext.push,
                     RequestContext.match_request, args={"title": "第2步", "part": "2"},
                     heading="#### 第2步：执行ctx.push()方法", note="000"),
    sections.Section("step_3", narrate_request, Flask.full_dispatch_request,
                     Flask.try_trigger_before_first_request_functions, Flask.preprocess_request,
                     Flask.dispatch_request, Flask.finalize_request, Flask.process_response,
                     args={"title": "第3步", "part": "3"}, note="000",
                     heading="#### 第3步：app.full_dispatch_request()   执行视图函数"),
    sections.Section("step_4", narrate_request, Flask.handle_user_exception,
                     Flask.handle_exception, args={"path": "/boom", "title": "第4步: a view that "
                     "raises"}, heading="#### 第4步：", note="000"),
    sections.Section("step_5", narrate_request, RequestContext.auto_pop, RequestContext.pop,
                     Flask.do_teardown_request, AppContext.pop, Flask.do_teardown_appcontext,
                     args={"title": "第5步", "part": "5"}, note="000",
                     heading="#### 第5步： 执行了RequestContext 的 pop 方法"),
    sections.Section("g", narrate_g, _AppCtxGlobals, AppContext.__init__, create_app,
                     heading="### 9.g到底是个什么鬼？", note="000"),
)  # fmt: skip


def main(argv=None):
    watching.narrate_then_serve(
        "05_lifecycle.py",
        "Narrate Flask's startup (7.1) and one request (7.2), then serve the demo app.",
        app,
        SECTIONS,
        prepare=create_app,
        argv=argv,
    )


if __name__ == "__main__":
    cli.run(main, "05_lifecycle.py")
