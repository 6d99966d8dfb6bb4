"""05 — a small Flask on Werkzeug 3: startup, the request/app context lifecycle, run_simple.

Notes: 000/001 §7 源码初识 (7.1 项目启动, 7.2 有用户请求到来), §9 g到底是个什么鬼, 总结 and
flask请求完整的生命周期 (第1步–第5步, 2.1–5.2.1); 002 §2 flask请求上下文 (1.0–4.4);
003's session流程; the Config and Blueprint classes that 003 一–三 and 000 内容回顾 use.
The notes' blocks that *use* an app (wsgi and run_simple, config, routing, blueprints,
subdomains, CBV, their copies of Flask's source) run in 07_flask_basics.py, on this Flask.

Over 04 this adds the application that pushes and pops the contexts 04's globals read. Routing,
requests, responses, signing and signals come from Werkzeug, itsdangerous and blinker; the
context machinery is written here, with Flask 1.1.1's order of hooks and signals.

The file reads in the order a request travels:
  Part A — one request, 第1步–第5步 (read this first): signals, g, AppContext, RequestContext,
           then Flask with its methods in the order a request calls them; startup after them.
  Part B — what a real app adds: sessions, blueprints, Config.from_object; what the notes
           never open (the test client, jsonify, url_for) is in flask_extras.py, beside it.
  Part C — watch it: the demo app, the narration (7.1, 7.2, 第4步, g, sessions), main.
           The tools that watch (the recorder behind the narration, --trace and /lifecycle,
           the pages, the server, the command line) are in instruments/, handed this module;
           /lifecycle replaces the notes' two dead lifecycle diagrams.

One request, step by step — 000's numbers, 002's in brackets — and the function that runs:
  run_simple → Flask.__call__ → Flask.wsgi_app
  1      [1.0–1.2]  Flask.request_context → RequestContext.__init__ → Request(environ)
  2      [2.0, 2.1] RequestContext.push
  2.1               AppContext.push: _app_ctx_stack.push(app_ctx), then appcontext_pushed
  2.2    [2.2, 2.3] _request_ctx_stack.push(ctx) → LocalStack.push → Local.__setattr__
  2.3               SecureCookieSessionInterface.open_session (then URL matching, unnumbered)
  3      [3.0]      Flask.full_dispatch_request
  3.1               try_trigger_before_first_request_functions
  3.2               preprocess_request: URL value preprocessors, then before_request
  3.3    [3.1–3.7]  dispatch_request: the view; request.method → LocalProxy → LocalStack.top
  3.4               finalize_request → make_response
  3.4.1             process_response: after_request functions, reversed
  3.4.1.1, 3.4.1.2  is_null_session, save_session
  4                 handle_exception: an unhandled error → got_request_exception, a 500
  5      [4.0–4.4]  RequestContext.auto_pop → pop → _request_ctx_stack.pop() → release_local
  5.1               do_teardown_request: teardown_request functions, request_tearing_down
  5.2               AppContext.pop
  5.2.1             do_teardown_appcontext: teardown_appcontext functions, appcontext_tearing_down

Run:  python 05_lifecycle.py          narrate startup (7.1) and one request (7.2), then serve
      python 05_lifecycle.py --demo   narrate and exit
      python 05_lifecycle.py --trace  narrate every request served, as it happens
      then open http://127.0.0.1:5000/ and http://127.0.0.1:5000/lifecycle
      python 05_lifecycle.py --list   the narration's sections; --only g --markdown for notes
Test: python -m pytest tests/test_05_lifecycle.py tests/test_05_http.py tests/test_05_page.py
"""

import hashlib
import importlib
import ipaddress
import json
import logging
import os
import sys
import threading
import time
import warnings
from base64 import b64decode, b64encode, urlsafe_b64decode, urlsafe_b64encode
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from functools import update_wrapper
from itertools import chain
from uuid import UUID

from blinker import Namespace
from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.datastructures import CallbackDict, Headers, ImmutableDict
from werkzeug.exceptions import (
    BadRequest,
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    default_exceptions,
)
from werkzeug.exceptions import abort as abort  # re-exported for quick-start apps
from werkzeug.http import http_date, parse_date
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.test import Client
from werkzeug.utils import import_string, send_from_directory
from werkzeug.utils import redirect as redirect  # re-exported for quick-start apps
from werkzeug.wrappers import Request as _WerkzeugRequest
from werkzeug.wrappers import Response as _WerkzeugResponse
from werkzeug.wsgi import LimitedStream

from instruments import cli, sections, serving, watching

localproxy = importlib.import_module("04_proxy")
extras = importlib.import_module("flask_extras")  # Flask 1.1.1's API beyond the notes
localstack = importlib.import_module("03_localstack")
_request_ctx_stack = localproxy._request_ctx_stack
_app_ctx_stack = localproxy._app_ctx_stack
request, session, g, current_app = (
    localproxy.request,
    localproxy.session,
    localproxy.g,
    localproxy.current_app,
)
storage_view = localstack.storage_view
jsonify, url_for, make_response = extras.jsonify, extras.url_for, extras.make_response
render_template, render_template_string = extras.render_template, extras.render_template_string

_sentinel = object()  # "no exception given", as opposed to None ("no exception happened")

# One request's steps, in the order a request meets them: note 000's number (第1步–第5步), note
# 002's (1.0–4.4), and where the step happens. The map in the docstring above, the recorder
# behind --trace and /lifecycle, and the tests all read the numbers from here.
STEPS = (
    ("1", "1.0", "Flask.request_context"),
    ("", "1.1", "RequestContext.__init__"),
    ("", "1.2", "Request.__init__"),
    ("2", "2.0 2.1", "RequestContext.push"),
    ("2.1", "", "AppContext.push"),
    ("2.2", "2.2", "_request_ctx_stack.push"),
    ("", "2.3", "Local.__setattr__"),
    ("2.3", "", "SessionInterface.open_session"),
    ("3", "3.0", "Flask.full_dispatch_request"),
    ("3.1", "", "Flask.try_trigger_before_first_request_functions"),
    ("3.2", "", "Flask.preprocess_request"),
    ("3.3", "3.1", "Flask.dispatch_request"),
    ("", "3.2", "LocalProxy(partial(...))"),
    ("", "3.3", "LocalProxy.__getattr__"),
    ("", "3.4", "LocalProxy._get_current_object"),
    ("", "3.5", "_lookup_req_object"),
    ("", "3.6", "LocalStack.top"),
    ("", "3.7", "Local.__getattr__"),
    ("3.4", "", "Flask.finalize_request"),
    ("3.4.1", "", "Flask.process_response"),
    ("3.4.1.1", "", "SessionInterface.is_null_session"),
    ("3.4.1.2", "", "SessionInterface.save_session"),
    ("4", "", "Flask.handle_exception"),
    ("5", "4.0 4.1", "RequestContext.auto_pop"),
    ("5.1", "", "Flask.do_teardown_request"),
    ("", "4.2", "_request_ctx_stack.pop"),
    ("", "4.3", "release_local"),
    ("", "4.4", "Local.__release_local__"),
    ("5.2", "", "AppContext.pop"),
    ("5.2.1", "", "Flask.do_teardown_appcontext"),
)

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
# Every `sig.send(...)` below is guarded by `if sig.receivers:`. Flask sends unconditionally;
# with nobody listening blinker would do nothing anyway, and skipping it saves ~1 µs a signal.

# ==========================================================================================
# §9 g到底是个什么鬼, and flask/ctx.py — AppContext (step 2.1) and RequestContext (steps 1, 2)
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
        """Step 2.1: binds the app context to the current ident. From here until the pop,
        `current_app` and `g` find this app in whatever code runs for the request."""
        self._refcnt += 1
        _app_ctx_stack.push(self)
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app)

    def pop(self, exc=_sentinel):
        """Step 5.2: pops the app context. The teardown_appcontext functions run only on the
        last pop (`_refcnt`): a context pushed twice, by nested `with` blocks, is torn down
        once. The pop itself is in `finally`, so a teardown that raises still leaves the stack
        as it found it; `_sentinel` tells "no exception given" (look at the one being handled)
        from None (none happened)."""
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
        # One entry per push: the implicit AppContext we pushed, or None. Doubles as refcount.
        self._implicit_app_ctx_stack = []
        # Kept on the stack after the request (the test client's `with`, or an error in
        # debug mode), so the context can still be looked at; the next push pops it.
        self.preserved = False
        self._preserved_exc = None
        self._after_request_functions = []  # filled by after_this_request (Part B)

    def copy(self):
        """A new context for the same request and session, e.g. for another thread."""
        return self.__class__(
            self.app, environ=self.request.environ, request=self.request, session=self.session
        )

    def push(self):
        """Step 2: binds the request context to the current ident, so that `request` and
        `session` find it.

        An app context comes first (2.1): `current_app` must work wherever `request` does. It
        is pushed only if this app's is not on top already (inside `with app.app_context():`
        it is), and remembered in `_implicit_app_ctx_stack` so that pop takes off exactly
        what push put on. The session is opened after the push (2.3), because opening it may
        use the request; the URL is matched last, so a routing error is raised only when the
        request is dispatched, inside the context, where error handlers can see it.
        """
        top = _request_ctx_stack.top
        if top is not None and top.preserved:
            top.pop(top._preserved_exc)
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
        """Step 5, called by wsgi_app's `finally`: pops the context, unless it is to be kept
        for looking at afterwards (the test client's `with`, or an error in debug mode); then
        the next push, or the end of the `with`, pops it. Flask >= 2.2 always pops here."""
        if self.request.environ.get("flask._preserve_context") or (
            exc is not None and self.app.preserve_context_on_exception
        ):
            self.preserved = True
            self._preserved_exc = exc
        else:
            self.pop(exc)

    def pop(self, exc=_sentinel):
        """Step 5: pops the request context, then the app context that push added (5.2).

        teardown_request (5.1) runs before the pop, while `request` still works, so teardown
        functions can read it; and only on the last pop of a context pushed twice. The pops are
        in `finally`: a teardown that raises must not leave this request's context on the
        stack for the next request on the same ident. `_sentinel` tells "no exception given"
        from None, as in AppContext.pop."""
        app_ctx = self._implicit_app_ctx_stack.pop()
        clear_request = False
        try:
            if not self._implicit_app_ctx_stack:
                self.preserved = False
                self._preserved_exc = None
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

    url_rule = None
    view_args = None
    routing_exception = None
    # The matched endpoint's blueprint ("admin" for "admin.home"). Flask computes it in a
    # property on every read (four reads a request); match_request sets it once instead.
    blueprint = None

    @property
    def endpoint(self):
        return self.url_rule.endpoint if self.url_rule is not None else None

    def _load_form_data(self):
        try:
            super()._load_form_data()
        except OSError as exc:  # a broken chunked body: the client's mistake, not ours
            raise BadRequest(f"The request body could not be read: {exc}.") from None
        if self.body_goes_past_the_limit():
            raise RequestEntityTooLarge()

    def body_goes_past_the_limit(self):
        """A chunked body has no Content-Length to refuse up front: Werkzeug reads it up to
        MAX_CONTENT_LENGTH and, if it is longer, silently parses only that much. One more
        byte after the limit tells a body that was cut from one that was whole."""
        stream = self.stream
        return (
            self.content_length is None
            and isinstance(stream, LimitedStream)
            and stream.is_exhausted
            and bool(self.environ["wsgi.input"].read(1))
        )

    def on_json_loading_failed(self, e):
        """Bad JSON is a 400; only in debug mode does it say why (Werkzeug always would)."""
        top = _app_ctx_stack.top
        if top is not None and top.app.debug:
            raise BadRequest(f"Failed to decode JSON object: {e}")
        raise BadRequest()

    @property
    def max_content_length(self):
        """MAX_CONTENT_LENGTH: a larger body is a 413, refused before it is read."""
        top = _app_ctx_stack.top
        return top.app.config["MAX_CONTENT_LENGTH"] if top is not None else None


class Response(_WerkzeugResponse):
    """Werkzeug's Response, with Flask's default of HTML, and a relative Location made
    absolute, as Werkzeug 1.0.1 did (Werkzeug >= 2.1 leaves it relative)."""

    default_mimetype = "text/html"
    autocorrect_location_header = True


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


class Flask(extras.FlaskExtras):
    """The application: made once, at import, and shared by every request (it is not on a
    stack). Its methods follow, in the order a request calls them; what the notes never open
    (URL value hooks, trapping, templates) it inherits from flask_extras.FlaskExtras."""

    request_class = Request
    response_class = Response
    url_rule_class = Rule
    url_map_class = Map
    app_ctx_globals_class = _AppCtxGlobals
    app_context_class = AppContext
    request_context_class = RequestContext
    config_class = None  # Config, set in Part B where it is defined
    session_interface = None  # SecureCookieSessionInterface(), set in Part B
    test_client_class = extras.FlaskClient
    debug = ConfigAttribute("DEBUG")
    testing = ConfigAttribute("TESTING")
    secret_key = ConfigAttribute("SECRET_KEY")
    session_cookie_name = ConfigAttribute("SESSION_COOKIE_NAME")

    def __call__(self, environ, start_response):
        """run_simple calls app(environ, start_response) for every request."""
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ, start_response):
        """The WSGI application: one request, 第1步 to 第5步.

        `app.wsgi_app` rather than `__call__` is the place for middleware (`app.wsgi_app =
        Middleware(app.wsgi_app)`), so the app object stays the app. `error` starts as None
        and keeps the exception that ended the request, if any: the teardown functions get it
        (None means "all went well"). An Exception becomes a 500 (第4步); anything else (a
        KeyboardInterrupt, SystemExit) is not the request's business and goes up, after it
        too is recorded for teardown. The `finally` pops both contexts whatever happened: a
        context left on the stack would be found by the next request on the same ident.
        """
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
        """Step 3: everything between the pushes and the pops. The before_request functions
        may answer instead of the view; either way the value goes through finalize_request,
        and an error raised by either is offered to the error handlers first (an HTTP error
        such as a 404 becomes its response here); only what no handler takes reaches 第4步."""
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
        called: that is how a login check turns a request away. Before them, the URL value
        preprocessors may take values out of view_args (a language code in every URL, say)."""
        req = _request_ctx_stack.top.request
        bp = req.blueprint
        funcs = self.url_value_preprocessors.get(None, ())
        if bp is not None and bp in self.url_value_preprocessors:
            funcs = chain(funcs, self.url_value_preprocessors[bp])
        for func in funcs:
            func(req.endpoint, req.view_args)
        funcs = self.before_request_funcs.get(None, ())
        if bp is not None and bp in self.before_request_funcs:
            funcs = chain(funcs, self.before_request_funcs[bp])
        for func in funcs:
            rv = func()
            if rv is not None:
                return rv
        return None

    def dispatch_request(self):
        """Step 3.3: calls the view of the rule push matched, with the URL's arguments. It reads
        the request from the stack, not from a parameter: the view itself finds it the same
        way, through the `request` proxy (002's 3.1–3.7). A routing error found at push is
        raised here, inside full_dispatch_request, so error handlers get it."""
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
        """Step 3.4: turns the view's return value into a Response (a str, a tuple, a dict...)
        and lets the after_request functions change it. When this runs for a 500
        (`from_error_handler`), an after_request function that raises is logged and ignored:
        the error page must still go out."""
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
                raise TypeError(
                    "The view function did not return a valid response tuple. The "
                    "tuple must have the form (body, status, headers), "
                    "(body, status), or (body, headers)."
                )
        if rv is None:
            raise TypeError(
                f"The view function for {request.endpoint!r} did not return a valid "
                "response. The function either returned None or ended without a "
                "return statement."
            )
        if not isinstance(rv, self.response_class):
            if isinstance(rv, (str, bytes, bytearray)):
                rv = self.response_class(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, dict):
                rv = jsonify(rv)
            elif callable(rv):  # another Response class, an HTTPException, any WSGI app
                rv = self.response_class.force_type(rv, request.environ)
            else:
                raise TypeError(
                    "The view function did not return a valid response. The return "
                    "type must be a string, dict, tuple, Response instance, or WSGI "
                    f"callable, but it was a {type(rv).__name__}."
                )
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                rv.status = status
            else:
                rv.status_code = status
        if headers:
            rv.headers.extend(headers)
        return rv

    def process_response(self, response):
        """Step 3.4.1: the after_request functions, then the session is saved.

        They run in reverse order of registration, the blueprint's before the app's: the
        function registered first wraps the others, as the outermost layer of an onion runs
        first going in (before_request) and last coming out. The session is saved last, so
        that after_request functions can still change it (3.4.1.1, 3.4.1.2)."""
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
        """An error from before_request or the view: an errorhandler, or re-raise. An HTTP
        error is a response of its own, unless it is trapped (TRAP_* settings, debug)."""
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True  # debug: say which key was missing from the form
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)
        handler = self._find_error_handler(e)
        if handler is None:
            raise e
        return handler(e)

    def handle_http_exception(self, e):
        if e.code is None or isinstance(e, RequestRedirect):
            return e
        handler = self._find_error_handler(e)
        return e if handler is None else handler(e)

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

    def handle_exception(self, e):
        """Step 4: an error no handler took. It is signalled and logged, and becomes a 500
        (with the app's 500 handler, if any), which still goes through finalize_request, so
        after_request functions and the session run as for any response. In debug mode or
        testing (`propagate_exceptions`) it is raised instead, to be seen where it happened."""
        if got_request_exception.receivers:
            got_request_exception.send(self, exception=e)
        if self.propagate_exceptions:
            raise e
        self.logger.error(
            f"Exception on {request.path} [{request.method}]",
            exc_info=(type(e), e, e.__traceback__),
        )
        server_error = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error)
        if handler is not None:
            server_error = handler(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    # --- 第5步: teardown, called from RequestContext.pop and AppContext.pop ---------------
    def do_teardown_request(self, exc=_sentinel):
        """Step 5.1: the teardown_request functions, reversed, with the exception that ended
        the request (or None). They run whatever happened, even after an unhandled error, so
        they are the place to release what a request holds (a database connection); the
        request context is still pushed, so they can read `request`."""
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
        """Step 5.2.1: the teardown_appcontext functions, reversed, as the app context goes.
        An app context also exists without a request (`with app.app_context():` in a
        script), so what belongs to the app context rather than the request is released
        here."""
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
        template_folder="templates",
        instance_path=None,
        instance_relative_config=False,
        root_path=None,
    ):
        # 1. initial values; 3. url_map and view_functions ("截止目前: config, url_map,
        # view_functions" is what a request later reads). Templates and the instance folder
        # are not taught here: their arguments are accepted and kept, and nothing reads them.
        self.import_name = import_name
        self.root_path = root_path if root_path is not None else _root_path(import_name)
        self.static_folder = static_folder
        if static_url_path is None and static_folder is not None:
            static_url_path = "/" + os.path.basename(static_folder.rstrip("/\\"))
        self.static_url_path = static_url_path
        self.template_folder = template_folder
        self.instance_path = instance_path or os.path.join(_root_path(import_name), "instance")
        self.instance_relative_config = instance_relative_config
        self.subdomain_matching = subdomain_matching
        # default_config, with DEBUG from FLASK_DEBUG; from_pyfile reads relative to `root`.
        root = self.instance_path if instance_relative_config else self.root_path
        defaults = {**self.default_config, "DEBUG": extras.get_debug_flag()}
        self.config = self.config_class(root, defaults)
        self.view_functions = {}
        self.url_map = self.url_map_class()
        self.url_map.host_matching = host_matching
        self.before_first_request_funcs = []
        self.before_request_funcs = {}
        self.after_request_funcs = {}
        self.teardown_request_funcs = {}
        self.teardown_appcontext_funcs = []
        self.error_handler_spec = {}
        self.url_value_preprocessors, self.url_default_functions = {}, {}
        self.url_build_error_handlers = []
        self.blueprints = {}
        self.logger = logging.getLogger(self.name)
        self._got_first_request = False
        self._before_request_lock = threading.Lock()
        if static_folder is not None:  # 2. the static route
            self.add_url_rule(
                self.static_url_path + "/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=self.send_static_file,
            )

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

    @property
    def preserve_context_on_exception(self):
        rv = self.config["PRESERVE_CONTEXT_ON_EXCEPTION"]
        return rv if rv is not None else self.debug

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
        if isinstance(methods, str):
            raise TypeError(
                "Allowed methods must be a list of strings, for example: "
                '@app.route(..., methods=["POST"])'
            )
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
        added again, its hooks only the first time. Another one with the same name may not."""
        first_registration = blueprint.name not in self.blueprints
        assert first_registration or self.blueprints[blueprint.name] is blueprint, (
            f"A name collision occurred between blueprints {blueprint!r} and "
            f"{self.blueprints[blueprint.name]!r}. Both share the same name "
            f"{blueprint.name!r}. Blueprints that are created on the fly need unique names."
        )
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

    # --- contexts outside a served request ------------------------------------------------
    def app_context(self):
        return self.app_context_class(self)

    def test_request_context(self, *args, **kwargs):
        """A RequestContext from EnvironBuilder arguments (path, method, data, ...); the URL
        defaults to SERVER_NAME, APPLICATION_ROOT and PREFERRED_URL_SCHEME."""
        builder = extras.EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies=True, **kwargs):
        """Werkzeug's Client with our response class; `with app.test_client() as c:` keeps the
        last request's context until the block ends."""
        return self.test_client_class(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def create_url_adapter(self, request):
        if request is not None:
            # Without subdomain_matching, every request counts as the default subdomain.
            subdomain = (
                None if self.subdomain_matching else (self.url_map.default_subdomain or None)
            )
            return self.url_map.bind_to_environ(
                request.environ, server_name=self.config["SERVER_NAME"], subdomain=subdomain
            )
        if self.config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                self.config["SERVER_NAME"],
                script_name=self.config["APPLICATION_ROOT"],
                url_scheme=self.config["PREFERRED_URL_SCHEME"],
            )
        return None

    def send_static_file(self, filename):
        folder = os.path.join(self.root_path, self.static_folder)
        return send_from_directory(folder, filename, request.environ)

    # --- 运行flask ---------------------------------------------------------------------------
    def run(self, host=None, port=None, debug=None, load_dotenv=True, **options):
        """run_simple listens, and calls app(environ, start_response) for every request.

        As in 1.1.1: FLASK_ENV and FLASK_DEBUG set debug, then the `debug` argument does; host
        and port come from the arguments, then SERVER_NAME, then 127.0.0.1:5000; debug turns
        the reloader and the debugger on; run_simple is imported here, when it is needed (a
        test can put its own in werkzeug.serving). 05 reads no .env file (load_dotenv)."""
        if "FLASK_ENV" in os.environ or "FLASK_DEBUG" in os.environ:
            self.debug = extras.get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)
        sn_host = sn_port = None
        if self.config["SERVER_NAME"]:
            sn_host, _, sn_port = self.config["SERVER_NAME"].partition(":")
        host = host or sn_host or "127.0.0.1"
        port = int(next((p for p in (port, sn_port) if p is not None), 5000))  # 0 is a port
        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        extras.show_server_banner(extras.get_env(), self.debug, self.name)
        from werkzeug.serving import run_simple

        try:
            run_simple(host, port, self, **options)
        finally:
            self._got_first_request = False  # run again from a shell: the first request again


# ##########################################################################################
# Part B — what a real app adds
# ##########################################################################################

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
        # Flask defines on_update as a closure in here; one module-level function is the same
        # and saves building a function object per request.
        super().__init__(initial, _on_session_update)

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


class TaggedJSONSerializer:
    """Flask 1.1.1's session serializer (flask/json/tag.py): compact, sorted JSON in which a
    tuple, bytes, Markup, a UUID or a datetime becomes a one-key dict saying what it was —
    {" t": [...]}, {" b": base64}, {" m": html}, {" u": hex}, {" d": an HTTP date} — and
    comes back as that type. A dict whose only key looks like a tag is wrapped in {" di": ...}."""

    def __init__(self):
        self.tags = {  # key: (is it one?, to JSON, back to Python), in 1.1.1's order
            " t": (lambda v: isinstance(v, tuple), lambda v: [self.tag(i) for i in v], tuple),
            " b": (lambda v: isinstance(v, bytes), lambda v: b64encode(v).decode(), b64decode),
            " m": (lambda v: callable(getattr(v, "__html__", None)), _html, Markup),
            " u": (lambda v: isinstance(v, UUID), lambda v: v.hex, UUID),
            " d": (lambda v: isinstance(v, datetime), http_date, _naive_utc),
        }

    def tag(self, value):
        if isinstance(value, dict):
            key = next(iter(value), None)
            if len(value) == 1 and (key in self.tags or key == " di"):
                return {" di": {key + "__": self.tag(value[key])}}
            return {k: self.tag(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tag(item) for item in value]
        for key, (check, to_json, _) in self.tags.items():
            if check(value):
                return {key: to_json(value)}
        return value

    def untag(self, value):
        key = next(iter(value), None)
        if len(value) != 1 or not (key in self.tags or key == " di"):
            return value
        if key == " di":
            inner = next(iter(value[key]))
            return {inner[:-2]: value[key][inner]}
        return self.tags[key][2](value[key])

    def dumps(self, value):
        """As flask.json.dumps in a request: JSON_AS_ASCII decides whether 你好 stays 你好."""
        top = _app_ctx_stack.top
        as_ascii = top is None or top.app.config["JSON_AS_ASCII"]
        return json.dumps(
            self.tag(value), separators=(",", ":"), sort_keys=True, ensure_ascii=as_ascii,
            default=extras.json_default,
        )  # fmt: skip

    def loads(self, text):
        return json.loads(text, object_hook=self.untag)


def _html(value):
    return str(value.__html__())


def _naive_utc(text):
    """Werkzeug 1.0.1's parse_date gave a naive datetime in UTC; Werkzeug 3's is aware."""
    return parse_date(text).replace(tzinfo=None)


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
        rv = app.config["SESSION_COOKIE_DOMAIN"]
        if rv is not None:
            return rv if rv else None
        rv = app.config["SERVER_NAME"]
        if not rv:  # remembered, so SERVER_NAME is looked at once
            app.config["SESSION_COOKIE_DOMAIN"] = False
            return None
        rv = rv.rsplit(":", 1)[0].lstrip(".")
        if "." not in rv:  # browsers refuse a cookie for a dotless domain such as localhost
            warnings.warn(
                f'"{rv}" is not a valid cookie domain, it must contain a ".". Add an entry to '
                f'your hosts file, for example "{rv}.localdomain", and use that instead.',
                stacklevel=2,
            )
            app.config["SESSION_COOKIE_DOMAIN"] = False
            return None
        if _is_ip(rv):
            warnings.warn(
                "The session cookie domain is an IP address. This may not work as intended in "
                'some browsers. Add an entry to your hosts file, for example "localhost.'
                'localdomain", and use that instead.',
                stacklevel=2,
            )
        if self.get_cookie_path(app) == "/" and not _is_ip(rv):
            rv = "." + rv  # the domain and its subdomains
        app.config["SESSION_COOKIE_DOMAIN"] = rv
        return rv

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


def _is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class SecureCookieSessionInterface(SessionInterface):
    """The default: the whole session, signed (not encrypted), in a cookie."""

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = TaggedJSONSerializer()
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


Flask.session_interface = SecureCookieSessionInterface()

# ==========================================================================================
# 三、蓝图 — a Blueprint records what to register; register_blueprint replays it on the app
# ==========================================================================================


class Blueprint(extras.BlueprintExtras):
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
        self.deferred_functions.append(func)

    def register(self, app, options, first_registration=False):
        state = BlueprintSetupState(self, app, options, first_registration)
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
        """The endpoint becomes 'blueprint.endpoint': a dot of its own would be ambiguous."""
        assert not endpoint or "." not in endpoint, "Blueprint endpoints should not contain dots"
        name = getattr(view_func, "__name__", "")
        assert "." not in name, "Blueprint view function name should not contain dots"
        endpoint = endpoint or name
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

    def errorhandler(self, code_or_exception):
        def decorator(f):
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    def register_error_handler(self, code_or_exception, f):
        self.record_once(
            lambda state: state.app._register_error_handler(self.name, code_or_exception, f)
        )


class BlueprintSetupState:
    """What one registration of a blueprint adds its rules with: the app, the URL prefix and
    the subdomain (from register_blueprint, else from the Blueprint)."""

    def __init__(self, blueprint, app, options, first_registration):
        self.blueprint, self.app, self.first_registration = blueprint, app, first_registration
        url_prefix, subdomain = options.get("url_prefix"), options.get("subdomain")
        self.url_prefix = blueprint.url_prefix if url_prefix is None else url_prefix
        self.subdomain = blueprint.subdomain if subdomain is None else subdomain

    def add_url_rule(self, rule, endpoint, view_func, **options):
        if self.url_prefix is not None:
            rule = (
                "/".join((self.url_prefix.rstrip("/"), rule.lstrip("/")))
                if rule
                else (self.url_prefix)
            )
        options.setdefault("subdomain", self.subdomain)
        self.app.add_url_rule(rule, f"{self.blueprint.name}.{endpoint}", view_func, **options)


# ==========================================================================================
# 一、flask配置文件 — Config is a dict; from_object takes the UPPER-CASE names
# ==========================================================================================


class Config(extras.ConfigLoaders, dict):
    """The app's settings: a dict. from_object is the notes' way in; its siblings (from_pyfile,
    from_envvar, from_json, from_mapping, get_namespace) are in flask_extras.ConfigLoaders."""

    def from_object(self, obj):
        """Copy the upper-case attributes of an object, or of 'package.module.Class'."""
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)


Flask.config_class = Config

LEFT_OUT_OF_CONFIG = {  # Flask 1.1.1's other 6 default keys, and why 05 goes without them
    "ENV": "the environment of the `flask` command, which 05 does not have",
    "EXPLAIN_TEMPLATE_LOADING, TEMPLATES_AUTO_RELOAD": "flask_extras' templates go without",
    "SEND_FILE_MAX_AGE_DEFAULT, USE_X_SENDFILE": "static files are Werkzeug's defaults",
    "MAX_COOKIE_SIZE": "Werkzeug's limit (4093 bytes) applies as it is",
}

DEFAULT_CONFIG = {
    "DEBUG": False,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": None,
    "MAX_CONTENT_LENGTH": None,
    "JSON_AS_ASCII": True,
    "PRESERVE_CONTEXT_ON_EXCEPTION": None,
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
    "TRAP_BAD_REQUEST_ERRORS": None,
    "TRAP_HTTP_EXCEPTIONS": False,
    "JSON_SORT_KEYS": True,
    "JSONIFY_PRETTYPRINT_REGULAR": False,
    "JSONIFY_MIMETYPE": "application/json",
}
Flask.default_config = ImmutableDict(DEFAULT_CONFIG)

# ==========================================================================================
# Error handler keys and the app's folder (used by errorhandler and Flask(__name__))
# ==========================================================================================


def _exception_class_and_code(exc_class_or_code):
    if isinstance(exc_class_or_code, int):
        if exc_class_or_code not in default_exceptions:
            raise KeyError(
                f"'{exc_class_or_code}' is not a recognized HTTP error code. Use a "
                "subclass of HTTPException with that code instead."
            )
        exc_class_or_code = default_exceptions[exc_class_or_code]
    if not (isinstance(exc_class_or_code, type) and issubclass(exc_class_or_code, Exception)):
        raise ValueError(f"{exc_class_or_code!r} is not an HTTP status code or Exception class")
    if issubclass(exc_class_or_code, HTTPException):
        return exc_class_or_code, exc_class_or_code.code
    return exc_class_or_code, None


def _root_path(import_name):
    module_file = getattr(sys.modules.get(import_name), "__file__", None)
    return os.path.dirname(os.path.abspath(module_file)) if module_file else os.getcwd()


# ==========================================================================================
# Beyond the notes — flask/ctx.py's helpers, stream_with_context, and the test client
# ==========================================================================================
# The context is kept per ident (03): a thread or a greenlet started in a view has no
# request, and a streamed body is sent after 第5步 popped the context. These put it back.


def after_this_request(f):
    """Run f(response) after this request's view, before the after_request hooks."""
    _request_ctx_stack.top._after_request_functions.append(f)  # no request: AttributeError
    return f


def copy_current_request_context(f):
    """Wrap f so that, wherever it runs (another thread, a greenlet), a copy of the
    current request context is pushed around it: request and session work there too."""
    top = _request_ctx_stack.top
    if top is None:
        raise RuntimeError(
            "This decorator can only be used at local scopes when a request "
            "context is on the stack.  For instance within view functions."
        )
    reqctx = top.copy()

    def wrapper(*args, **kwargs):
        with reqctx:
            return f(*args, **kwargs)

    return update_wrapper(wrapper, f)


def stream_with_context(generator_or_function):
    """Keep the request context pushed while a streamed body is produced."""
    try:
        gen = iter(generator_or_function)
    except TypeError:  # a generator function, used as a decorator

        def decorator(*args, **kwargs):
            return stream_with_context(generator_or_function(*args, **kwargs))

        return update_wrapper(decorator, generator_or_function)

    def generator():
        ctx = _request_ctx_stack.top
        if ctx is None:
            raise RuntimeError(
                "Attempted to stream with context but there was no context in "
                "the first place to keep around."
            )
        with ctx:
            yield None  # the first next() below runs up to here, inside the view
            try:
                yield from gen
            finally:
                if hasattr(gen, "close"):
                    gen.close()

    wrapped = generator()
    next(wrapped)
    return wrapped


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


ROUTES = [
    ("/", "this page"),
    ("/lifecycle", "the steps of a request this server just handled, drawn as a page"),
    ("/index", "hello world (7.1's first route)"),
    ("/g", "g.x1, set by a before_request; a request's g is its own (§9 g)"),
    ("/session", "a counter kept in the signed session cookie (POST resets it)"),
    ("/echo?value=hi&delay=0.1", "the value, read through `request` after sleeping"),
    ("/boom", "a 500; its teardown still runs and sees the exception"),
    ("/storage", "both LocalStacks' storage, right now"),
    ("/admin/", "a blueprint (url_prefix /admin) with its own before_request"),
]


def create_app(app_class=Flask):
    app = app_class(__name__)
    app.config.from_object(DemoConfig)
    app.teardowns = []  # (path, repr(exc)) of recent requests, so /boom's teardown is visible
    app.routes = list(ROUTES)  # what the home page lists; 08 adds its own
    # The recorder behind the narration, --trace and /lifecycle; the pages /, /lifecycle, /storage.
    watching.watch(app, sys.modules[__name__])

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
        earlier = g.get("left_by_a_view")  # set by the previous request's view: never seen here
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
    out(f"Flask 1.1.1 has 29 default keys; 05 keeps {len(DEFAULT_CONFIG)} and leaves out:")
    for keys, why in LEFT_OUT_OF_CONFIG.items():
        out(f"  {keys}: {why}")
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    out(f"app.url_map, {len(rules)} Rule objects (rule, methods, endpoint):")
    for rule in rules:
        out(f"  {rule.rule:<26} {','.join(sorted(rule.methods)):<22} -> {rule.endpoint}")
    methods = sorted(next(app.url_map.iter_rules("counter")).methods)
    out(f"/session says methods=['GET', 'POST']; its Rule holds {methods}:")
    out("  Werkzeug adds HEAD to GET; Flask adds OPTIONS and answers it itself")
    out("app.view_functions (endpoint -> function):")
    for endpoint, func in sorted(app.view_functions.items()):
        out(f"  {endpoint:<18} -> {func.__qualname__.split('.<locals>.')[-1]}")


def narrate_request(app, path="/session", title="7.2 有用户请求到来", out=print):
    """7.2 有用户请求到来: one request, 第1步–第5步, each step as the recorder sees it."""
    out("")
    out(f"== {title}: GET {path}, 第1步–第5步 (000's numbers; 002's beside them) ==")
    out(f"{'000':<8}{'002':<9}what runs (indented: called from the line above)")
    with app.wsgi_app.narrating(out), Client(app).get(path) as response:
        body = response.get_data(as_text=True)
    empty = not any(storage_view(stack) for stack in (_request_ctx_stack, _app_ctx_stack))
    body = body if len(body) < 30 else body[:27] + "..."
    out(f"-> {response.status}, body {body!r}; both stacks empty again: {empty}")


def narrate_g(app, out=print):
    """§9 g到底是个什么鬼: set by before_request, read in the view, new each request"""
    out("")
    out(
        "== §9 g到底是个什么鬼: set by before_request, read in the view; each request's g is new =="
    )
    for n in (1, 2):
        out(f"request {n}: GET /g -> {app.test_client().get('/g').text!r}")
    out("-> request 1's view set g.left_by_a_view; request 2 never sees it: g is app_ctx.g,")
    out("   made with the app context at 第2.1步 and gone with it at 5.2")


def narrate_sessions(app, out=print):
    """session流程 across requests: the cookie comes back, signed but not encrypted"""
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


def narrate_what_is_made_when(app, out=print):
    """003: does each request make a new app, LocalStack and Local?"""
    out("")
    out("== 003 says each request makes a new app, LocalStack and Local: two requests, compared ==")
    names = (
        "app",
        "_request_ctx_stack",
        "_app_ctx_stack",
        "request (a proxy)",
        "ctx",
        "app_ctx",
        "g",
    )
    seen = []
    for _ in range(2):
        with app.test_request_context("/"):
            ctx, app_ctx = _request_ctx_stack.top, _app_ctx_stack.top
            made = app_ctx.app, _request_ctx_stack, _app_ctx_stack, request, ctx, app_ctx, app_ctx.g
            seen.append(dict(zip(names, made, strict=True)))
    for label, same in (("the same object both times", True), ("new each request", False)):
        out(f"{label}: {', '.join(n for n in names if (seen[0][n] is seen[1][n]) is same)}")
    out("-> the app, the two LocalStacks (each with its Local) and the proxies are made once;")
    out("   a request makes its contexts (with its Request and its g), kept in the storage")


# ==========================================================================================
# 000 内容回顾 2 — run_simple serves the app
# ==========================================================================================

# What `python 05_lifecycle.py` and `gunicorn '05_lifecycle:app'` serve. Its sessions are
# signed with $SECRET_KEY when it is set; the narration shows a demo app of its own.
app = serving.use_secret_key(create_app())


def narrate_step_4(app):
    """第4步: a view that raises"""
    app.logger.disabled = True  # handle_exception logs the traceback; the narration shows the steps
    narrate_request(app, "/boom", "第4步: a view that raises")
    app.logger.disabled = False


SECTIONS = sections.registry(
    sections.Section("startup", narrate_startup, DemoConfig, Config.from_object),
    sections.Section(
        "request", narrate_request,
        Flask.wsgi_app, RequestContext.push, Flask.full_dispatch_request, RequestContext.pop,
    ),
    sections.Section("step_4", narrate_step_4, Flask.handle_user_exception, Flask.handle_exception),
    sections.Section("g", narrate_g, _AppCtxGlobals, AppContext.__init__),
    sections.Section("sessions", narrate_sessions, SecureCookieSessionInterface),
    sections.Section("made_when", narrate_what_is_made_when),
    sections.Section("routes", watching.narrate_routes, create_app),
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
