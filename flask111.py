"""flask111 — Flask 1.1.1's API beyond the notes, as a layer of subclasses on 05.

05_lifecycle.py is the notes' Flask: the request's path and what the notes read of a real
app, each class whole where it is defined. A learner's program also calls what the notes never
open: errorhandler, the test client's extras, jsonify, url_for, templates (filters, globals, a
blueprint's folder after the app's), class-based views, the TRAP_* settings, URL value
processors and defaults, app.run's banner. They are here, written to behave
as Flask 1.1.1's do, as subclasses of 05's classes, the way Flask itself layers
Flask(App(Scaffold)): where the request's path needs more, a method here adds it, calling 05's
with super() where 05's still does its part.

    flask111 → 05_lifecycle → 04_proxy → 03_localstack     (05 never imports this file)

The side-by-side tests (tests/flask111_cases.py and tests/flask111_app_cases.py: the same
programs on Flask 1.1.1 and here) run on this module as if it were `flask`; 07, 08 and 09
import it where they teach with Flask's wider API. What Werkzeug 3 cannot do as Werkzeug 1.0.1
did (a leading-dot cookie Domain, Request.url_charset) stays different, and the tests say so.

Use:  flask = importlib.import_module("flask111"); app = flask.Flask(__name__)
Test: python -m pytest tests/test_05_flask111.py tests/test_flask111.py
"""

import errno
import importlib
import importlib.metadata
import ipaddress
import json
import os
import sys
import types
import uuid
import warnings
from base64 import b64decode, b64encode
from contextlib import contextmanager
from datetime import date, datetime
from functools import update_wrapper
from itertools import chain
from urllib.parse import quote, urlsplit

import jinja2
import werkzeug.test
from markupsafe import Markup
from markupsafe import escape as escape  # re-exported, as flask 1.1.1 does
from werkzeug.datastructures import Headers, ImmutableDict
from werkzeug.exceptions import (
    BadHost,
    BadRequest,
    BadRequestKeyError,
    HTTPException,
    RequestEntityTooLarge,
    default_exceptions,
)
from werkzeug.http import http_date, parse_date
from werkzeug.routing import BuildError, RequestRedirect
from werkzeug.test import Client
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wsgi import LimitedStream

lifecycle = importlib.import_module("05_lifecycle")

# What `from flask import ...` finds where this layer adds nothing: 05's own.
request, session, g, current_app = (
    lifecycle.request,
    lifecycle.session,
    lifecycle.g,
    lifecycle.current_app,
)
_request_ctx_stack, _app_ctx_stack = lifecycle._request_ctx_stack, lifecycle._app_ctx_stack
abort, redirect, after_this_request = (
    lifecycle.abort,
    lifecycle.redirect,
    lifecycle.after_this_request,
)
AppContext = lifecycle.AppContext
SessionInterface, SecureCookieSession = lifecycle.SessionInterface, lifecycle.SecureCookieSession
NullSession, ConfigAttribute = lifecycle.NullSession, lifecycle.ConfigAttribute
appcontext_pushed, appcontext_popped = lifecycle.appcontext_pushed, lifecycle.appcontext_popped
request_started, request_finished = lifecycle.request_started, lifecycle.request_finished
got_request_exception = lifecycle.got_request_exception
request_tearing_down = lifecycle.request_tearing_down
appcontext_tearing_down = lifecycle.appcontext_tearing_down


def has_request_context():
    return _request_ctx_stack.top is not None


def has_app_context():
    return _app_ctx_stack.top is not None


# ==========================================================================================
# g's dict-like helpers, and a copy of a request context (flask/ctx.py)
# ==========================================================================================


_sentinel = object()  # "no default given" for g.pop


class AppCtxGlobals(lifecycle.Flask.app_ctx_globals_class):
    """05's g, with Flask 1.1.1's helpers: g.get, g.pop, g.setdefault, `in` and iteration."""

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


class RequestContext(lifecycle.RequestContext):
    """05's, with Flask 1.1.1's preserved context: inside the test client's `with`, or after an
    error in debug mode (PRESERVE_CONTEXT_ON_EXCEPTION), 第5步 leaves the context pushed so it
    can still be looked at; the next push, or the end of the `with`, pops it."""

    preserved = False
    preserved_exc = None

    def push(self):
        top = _request_ctx_stack.top
        if top is not None and getattr(top, "preserved", False):
            top.pop(top.preserved_exc)
        super().push()

    def auto_pop(self, exc):
        if self.request.environ.get("flask._preserve_context") or (
            exc is not None and self.app.preserve_context_on_exception
        ):
            self.preserved, self.preserved_exc = True, exc
        else:
            super().auto_pop(exc)

    def pop(self, *exc):
        if len(self._implicit_app_ctx_stack) == 1:  # the last pop of a context pushed twice
            self.preserved, self.preserved_exc = False, None
        super().pop(*exc)

    def copy(self):
        """A new context for the same request and session, e.g. for another thread
        (copy_current_request_context)."""
        return self.__class__(
            self.app, environ=self.request.environ, request=self.request, session=self.session
        )


# ==========================================================================================
# app.run: the debug flag from the environment, and the banner (flask/helpers.py, cli.py)
# ==========================================================================================


def get_env():
    """FLASK_ENV, or "production"."""
    return os.environ.get("FLASK_ENV") or "production"


def get_debug_flag():
    """FLASK_DEBUG (0, false and no are off); unset, on in the development environment."""
    value = os.environ.get("FLASK_DEBUG")
    if not value:
        return get_env() == "development"
    return value.lower() not in ("0", "false", "no")


def show_server_banner(env, debug, app_import_path):
    """What app.run prints before it serves, as Flask 1.1.1 prints it."""
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        return  # the reloader's child: the parent printed it already
    print(f' * Serving Flask app "{app_import_path}" (lazy loading)')
    print(f" * Environment: {env}")
    if env == "production":
        print("   WARNING: This is a development server. Do not use it in a production deployment.")
        print("   Use a production WSGI server instead.")
    print(f" * Debug mode: {'on' if debug else 'off'}")


# ==========================================================================================
# Request and Response: body limits, JSON errors, the cookie size (flask/wrappers.py)
# ==========================================================================================


class Request(lifecycle.Request):
    """05's Request, with MAX_CONTENT_LENGTH (a larger body is a 413) and Flask's answer to
    bad JSON (a 400 that says why only in debug mode)."""

    @property
    def max_content_length(self):
        top = _app_ctx_stack.top
        return top.app.config["MAX_CONTENT_LENGTH"] if top is not None else None

    def on_json_loading_failed(self, e):
        top = _app_ctx_stack.top
        if top is not None and top.app.debug:
            raise BadRequest(f"Failed to decode JSON object: {e}")
        raise BadRequest()

    def _load_form_data(self):  # Werkzeug's hook for parsing the body, overridden as Flask does
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


class Response(lifecycle.Response):
    """05's Response, whose cookies may be as large as the app's MAX_COOKIE_SIZE (Werkzeug
    warns past it; 0 turns the warning off)."""

    @property
    def max_cookie_size(self):
        top = _app_ctx_stack.top
        if top is not None:
            return top.app.config["MAX_COOKIE_SIZE"]
        return super().max_cookie_size


# ==========================================================================================
# Sessions: the tagged JSON, and the cookie domain from SERVER_NAME (flask/sessions.py)
# ==========================================================================================


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
            " u": (lambda v: isinstance(v, uuid.UUID), lambda v: v.hex, uuid.UUID),
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
            default=json_default,
        )  # fmt: skip

    def loads(self, text):
        return json.loads(text, object_hook=self.untag)


def _html(value):
    return str(value.__html__())


def _naive_utc(text):
    """Werkzeug 1.0.1's parse_date gave a naive datetime in UTC; Werkzeug 3's is aware."""
    return parse_date(text).replace(tzinfo=None)


def _is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class SecureCookieSessionInterface(lifecycle.SecureCookieSessionInterface):
    """05's signed-cookie sessions with 1.1.1's tagged JSON, and the cookie's domain taken
    from SERVER_NAME when SESSION_COOKIE_DOMAIN is unset (warning where browsers refuse it)."""

    serializer = TaggedJSONSerializer()

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


# ==========================================================================================
# Config: from_object's siblings (flask/config.py)
# ==========================================================================================


class Config(lifecycle.Config):
    """05's Config (a dict, from_object) with Flask 1.1.1's other loaders: files and mappings
    of settings, upper-case names only, as from_object takes them. A relative file name is
    looked for in `root_path` (the app's folder, or its instance folder)."""

    def from_envvar(self, variable_name, silent=False):
        value = os.environ.get(variable_name)
        if not value:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set and as such "
                "configuration could not be loaded.  Set this variable and make it point to a "
                "configuration file"
            )
        return self.from_pyfile(value, silent=silent)

    def from_pyfile(self, filename, silent=False):
        """Run a Python file and keep its upper-case names."""
        filename = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = filename
        try:
            with open(filename, mode="rb") as config_file:
                exec(compile(config_file.read(), filename, "exec"), module.__dict__)
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        self.from_object(module)
        return True

    def from_json(self, filename, silent=False):
        filename = os.path.join(self.root_path, filename)
        try:
            with open(filename) as json_file:
                obj = json.loads(json_file.read())
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR):
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        return self.from_mapping(obj)

    def from_mapping(self, *mapping, **kwargs):
        if len(mapping) > 1:
            raise TypeError(f"expected at most 1 positional argument, got {len(mapping)}")
        pairs = []
        if mapping:
            pairs += mapping[0].items() if hasattr(mapping[0], "items") else mapping[0]
        for key, value in [*pairs, *kwargs.items()]:
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(self, namespace, lowercase=True, trim_namespace=True):
        """{'type': ..., 'path': ...} from IMAGE_STORE_TYPE, IMAGE_STORE_PATH, ..."""
        found = {}
        for key, value in self.items():
            if key.startswith(namespace):
                key = key[len(namespace) :] if trim_namespace else key
                found[key.lower() if lowercase else key] = value
        return found


# ==========================================================================================
# Blueprint: app-wide hooks, URL values and defaults, endpoints (flask/blueprints.py)
# ==========================================================================================


class BlueprintSetupState(lifecycle.BlueprintSetupState):
    """05's setup state, with URL defaults: the blueprint's, then register_blueprint's
    (url_defaults=...), then the rule's own (defaults=...)."""

    def __init__(self, blueprint, app, options, first_registration):
        super().__init__(blueprint, app, options, first_registration)
        self.url_defaults = dict(blueprint.url_values_defaults)
        self.url_defaults.update(options.get("url_defaults", ()))

    def add_url_rule(self, rule, endpoint, view_func, **options):
        defaults = dict(self.url_defaults, **options.pop("defaults", {}))
        super().add_url_rule(rule, endpoint, view_func, defaults=defaults, **options)


class Blueprint(lifecycle.Blueprint):
    """05's Blueprint, with what a Flask 1.1.1 blueprint can register beyond its routes and
    own hooks: hooks for the whole app, URL values and defaults, app-wide error handlers,
    endpoints. Each is recorded once, as 05's hooks are."""

    def __init__(
        self,
        name,
        import_name,
        static_folder=None,
        static_url_path=None,
        template_folder=None,
        url_prefix=None,
        subdomain=None,
        url_defaults=None,
        root_path=None,
    ):
        super().__init__(
            name, import_name, static_folder, static_url_path, template_folder, url_prefix,
            subdomain, root_path=root_path,
        )  # fmt: skip
        self.url_values_defaults = url_defaults or {}

    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        """A dot in an endpoint would be ambiguous in 'blueprint.endpoint': Flask 1.1.1 says so."""
        assert not endpoint or "." not in endpoint, "Blueprint endpoints should not contain dots"
        name = getattr(view_func, "__name__", "")
        assert "." not in name, "Blueprint view function name should not contain dots"
        super().add_url_rule(rule, endpoint, view_func, **options)

    def make_setup_state(self, app, options, first_registration=False):
        return BlueprintSetupState(self, app, options, first_registration)

    def before_app_request(self, f):
        return self.record_hook("before_request_funcs", f, key=None)

    def after_app_request(self, f):
        return self.record_hook("after_request_funcs", f, key=None)

    def teardown_app_request(self, f):
        return self.record_hook("teardown_request_funcs", f, key=None)

    def before_app_first_request(self, f):
        self.record_once(lambda state: state.app.before_first_request_funcs.append(f))
        return f

    def url_value_preprocessor(self, f):
        return self.record_hook("url_value_preprocessors", f)

    def url_defaults(self, f):
        return self.record_hook("url_default_functions", f)

    def app_url_value_preprocessor(self, f):
        return self.record_hook("url_value_preprocessors", f, key=None)

    def app_url_defaults(self, f):
        return self.record_hook("url_default_functions", f, key=None)

    def errorhandler(self, code_or_exception):
        """f handles this error when a view of this blueprint raises it."""

        def decorator(f):
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    def register_error_handler(self, code_or_exception, f):
        self.record_once(
            lambda state: state.app._register_error_handler(self.name, code_or_exception, f)
        )

    def app_errorhandler(self, code_or_exception):
        def decorator(f):
            self.record_once(lambda state: state.app.errorhandler(code_or_exception)(f))
            return f

        return decorator

    def endpoint(self, endpoint):
        """The view of an endpoint, as the app names it: not prefixed with the blueprint's
        name (a rule added straight to url_map says which endpoint it means)."""

        def decorator(f):
            self.record_once(lambda state: state.app.view_functions.__setitem__(endpoint, f))
            return f

        return decorator


# ==========================================================================================
# Flask: what Flask 1.1.1's app has beyond the notes
# ==========================================================================================


def module_folder(import_name):
    """The folder of the module `import_name` (the current one, for a module without a file)."""
    module_file = getattr(sys.modules.get(import_name), "__file__", None)
    return os.path.dirname(os.path.abspath(module_file)) if module_file else os.getcwd()


def setupmethod(method):
    """A method that sets the app up: in debug mode, calling it after the first request is
    an error, for a view registered then would be missing from every worker that already
    served one."""

    def wrapper(self, *args, **kwargs):
        if self.debug and self.got_first_request:
            raise AssertionError(
                "A setup function was called after the first request was handled.  This "
                "usually indicates a bug in the application where a module was not imported "
                "and decorators or other functionality was called too late.\nTo fix this make "
                "sure to import all your view modules, database models and everything related "
                "at a central place before the application starts serving requests."
            )
        return method(self, *args, **kwargs)

    return update_wrapper(wrapper, method)


class Flask(lifecycle.Flask):
    """05's Flask with Flask 1.1.1's wider API: all 29 default settings, the debug flag from
    the environment, errorhandler, URL value processors and defaults, build-error handlers,
    trapped HTTP errors, every form make_response takes, Jinja2 templates, the test client,
    app.run's banner, and setup methods that complain after the first request in debug mode."""

    request_class = Request
    response_class = Response
    config_class = Config
    session_interface = SecureCookieSessionInterface()
    app_ctx_globals_class = AppCtxGlobals
    request_context_class = RequestContext
    test_client_class = None  # None: FlaskClient, below
    env = ConfigAttribute("ENV")
    default_config = ImmutableDict(
        {
            **lifecycle.Flask.default_config,
            "ENV": None,
            "PRESERVE_CONTEXT_ON_EXCEPTION": None,
            "USE_X_SENDFILE": False,
            "MAX_CONTENT_LENGTH": None,
            "SEND_FILE_MAX_AGE_DEFAULT": 43200,
            "TRAP_BAD_REQUEST_ERRORS": None,
            "TRAP_HTTP_EXCEPTIONS": False,
            "EXPLAIN_TEMPLATE_LOADING": False,
            "JSON_AS_ASCII": True,
            "JSON_SORT_KEYS": True,
            "JSONIFY_PRETTYPRINT_REGULAR": False,
            "JSONIFY_MIMETYPE": "application/json",
            "TEMPLATES_AUTO_RELOAD": None,
            "MAX_COOKIE_SIZE": 4093,
        }
    )

    def __init__(
        self,
        *args,
        template_folder="templates",
        instance_path=None,
        instance_relative_config=False,
        **kwargs,
    ):
        self.template_folder = template_folder
        self.instance_path = instance_path  # None: the app's folder's instance/, at make_config
        self.instance_relative_config = instance_relative_config
        super().__init__(*args, **kwargs)
        self.url_value_preprocessors = {}  # blueprint name (None: the app) -> [f(endpoint, values)]
        self.url_default_functions = {}  # the same, for url_for
        self.url_build_error_handlers = []
        # blueprint name (None: the app) -> status code (None: any) -> exception class -> f
        self.error_handler_spec = {}
        self.template_context_processors = {None: [_default_template_context]}
        self._jinja_env = None

    def make_config(self, instance_relative=None):
        """As 05's, with ENV from FLASK_ENV and DEBUG from FLASK_DEBUG; with
        instance_relative_config, a file is looked for in the instance folder."""
        if self.instance_path is None:  # beside the app's module, whatever its root_path
            self.instance_path = os.path.join(module_folder(self.import_name), "instance")
        if instance_relative is None:
            instance_relative = self.instance_relative_config
        config = super().make_config()
        if instance_relative:
            config.root_path = self.instance_path
        config["ENV"], config["DEBUG"] = get_env(), get_debug_flag()
        return config

    @property
    def preserve_context_on_exception(self):
        rv = self.config["PRESERVE_CONTEXT_ON_EXCEPTION"]
        return rv if rv is not None else self.debug

    # --- setting up: Flask 1.1.1's checks ------------------------------------------------
    @setupmethod
    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        if isinstance(options.get("methods"), str):
            raise TypeError(
                "Allowed methods must be a list of strings, for example: "
                '@app.route(..., methods=["POST"])'
            )
        return super().add_url_rule(rule, endpoint, view_func, **options)

    @setupmethod
    def register_blueprint(self, blueprint, **options):
        """Another blueprint with a name already registered is an error (the same one again,
        under another url_prefix, is not)."""
        known = self.blueprints.get(blueprint.name)
        assert known is None or known is blueprint, (
            f"A name collision occurred between blueprints {blueprint!r} and {known!r}. Both "
            f"share the same name {blueprint.name!r}. Blueprints that are created on the fly "
            "need unique names."
        )
        return super().register_blueprint(blueprint, **options)

    # --- the request's path, where Flask 1.1.1 does more ----------------------------------
    def create_url_adapter(self, request):
        """A Host that is no host name (a byte such as \\x8a) is a 400: Werkzeug 1.0.1 found
        it when it encoded the host for IDNA; Werkzeug 3 routes the request as if no host was
        sent (a 404 where nothing matches)."""
        if request is not None:
            try:
                _encode_idna(request.environ.get("HTTP_HOST") or "")
            except UnicodeError:
                raise BadHost() from None
            return super().create_url_adapter(request)
        if self.config["SERVER_NAME"] is not None:  # an app context's adapter, for url_for
            return self.url_map.bind(
                self.config["SERVER_NAME"],
                script_name=self.config["APPLICATION_ROOT"],
                url_scheme=self.config["PREFERRED_URL_SCHEME"],
            )
        return None

    def preprocess_request(self):
        """The URL value preprocessors first (the app's, then the blueprint's): they may take
        values out of view_args (a language code in every URL, say); then 05's 3.2."""
        req = _request_ctx_stack.top.request
        funcs = self.url_value_preprocessors.get(None, ())
        if req.blueprint is not None and req.blueprint in self.url_value_preprocessors:
            funcs = chain(funcs, self.url_value_preprocessors[req.blueprint])
        for func in funcs:
            func(req.endpoint, req.view_args)
        return super().preprocess_request()

    def handle_user_exception(self, e):
        """05's, with the app's errorhandler functions: an HTTP error is still a response of
        its own unless it is trapped (TRAP_* settings, or a missing form key in debug mode);
        any other error, or a trapped one, is answered by its handler or raised (第4步)."""
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True  # say which key was missing from the form
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)
        handler = self._find_error_handler(e)
        if handler is None:
            raise e
        return handler(e)

    def handle_http_exception(self, e):
        """An HTTP error's handler answers it, if there is one (a redirect is never handled)."""
        if e.code is None or isinstance(e, RequestRedirect):
            return e
        handler = self._find_error_handler(e)
        return e if handler is None else handler(e)

    def _find_error_handler(self, e):
        """The blueprint's handler before the app's, by status code before by class; among
        the classes, the most specific registered one (the first in the error's MRO)."""
        exc_class, code = _exception_class_and_code(type(e))
        bp = _request_ctx_stack.top.request.blueprint
        for name, c in ((bp, code), (None, code), (bp, None), (None, None)):
            handler_map = self.error_handler_spec.get(name, {}).get(c)
            if not handler_map:
                continue
            for cls in exc_class.__mro__:
                handler = handler_map.get(cls)
                if handler is not None:
                    return handler
        return None

    def trap_http_exception(self, e):
        """Should this HTTP error propagate, instead of becoming its error page? All of them
        with TRAP_HTTP_EXCEPTIONS; bad requests with TRAP_BAD_REQUEST_ERRORS; unset, a
        missing form key in debug mode."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, BadRequestKeyError):
            return True
        return bool(trap_bad_request) and isinstance(e, BadRequest)

    def make_response(self, rv):
        """Every form Flask 1.1.1 takes, with its messages: a body (str, bytes, a dict as
        jsonify makes it, a Response, any WSGI callable), alone or in a tuple with a status
        (int or str) and headers (a dict, a list of pairs, Headers)."""
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

    # --- setup methods: an error after the first request, in debug mode -------------------
    before_request = setupmethod(lifecycle.Flask.before_request)
    before_first_request = setupmethod(lifecycle.Flask.before_first_request)
    after_request = setupmethod(lifecycle.Flask.after_request)
    teardown_request = setupmethod(lifecycle.Flask.teardown_request)
    teardown_appcontext = setupmethod(lifecycle.Flask.teardown_appcontext)

    @setupmethod
    def errorhandler(self, code_or_exception):
        """f answers this error (a status code, or an exception class and its subclasses)."""

        def decorator(f):
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    @setupmethod
    def register_error_handler(self, code_or_exception, f):
        self._register_error_handler(None, code_or_exception, f)

    @setupmethod
    def _register_error_handler(self, blueprint_name, code_or_exception, f):
        """f answers this error in the views of blueprint_name (None: the whole app), as a
        Blueprint's errorhandler records it."""
        exc_class, code = _exception_class_and_code(code_or_exception)
        self.error_handler_spec.setdefault(blueprint_name, {}).setdefault(code, {})[exc_class] = f

    @setupmethod
    def url_value_preprocessor(self, f):
        """f(endpoint, view_args) before every request's before_request functions."""
        self.url_value_preprocessors.setdefault(None, []).append(f)
        return f

    @setupmethod
    def url_defaults(self, f):
        """f(endpoint, values) before url_for builds a URL: it may fill in values."""
        self.url_default_functions.setdefault(None, []).append(f)
        return f

    @setupmethod
    def endpoint(self, endpoint):
        """The view of an endpoint whose rule is (or will be) added by add_url_rule."""

        def decorator(f):
            self.view_functions[endpoint] = f
            return f

        return decorator

    @setupmethod
    def context_processor(self, f):
        """f() returns a dict of names every template sees."""
        self.template_context_processors[None].append(f)
        return f

    # --- url_for's helpers ---------------------------------------------------------------
    def inject_url_defaults(self, endpoint, values):
        funcs = self.url_default_functions.get(None, ())
        if "." in endpoint:
            funcs = chain(funcs, self.url_default_functions.get(endpoint.rsplit(".", 1)[0], ()))
        for func in funcs:
            func(endpoint, values)

    def handle_url_build_error(self, error, endpoint, values):
        """url_for could not build: the first handler that returns a URL wins."""
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if rv is not None:
                    return rv
        raise error

    # --- templates -----------------------------------------------------------------------
    @property
    def jinja_env(self):
        """The app's Jinja2 environment, made on first use."""
        if self._jinja_env is None:
            self._jinja_env = create_jinja_environment(self)
        return self._jinja_env

    @setupmethod
    def add_template_filter(self, f, name=None):
        """{{ value|name }} calls f(value): a filter, for every template of the app."""
        self.jinja_env.filters[name or f.__name__] = f

    def template_filter(self, name=None):
        """@app.template_filter(): the decorator form of add_template_filter."""

        def decorator(f):
            self.add_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_global(self, f, name=None):
        """{{ name(...) }} calls f(...) in every template of the app."""
        self.jinja_env.globals[name or f.__name__] = f

    def template_global(self, name=None):
        """@app.template_global(): the decorator form of add_template_global."""

        def decorator(f):
            self.add_template_global(f, name=name)
            return f

        return decorator

    def update_template_context(self, context):
        """The context processors' names, under what the caller passed."""
        bp = _request_ctx_stack.top.request.blueprint if has_request_context() else None
        funcs = self.template_context_processors[None]
        if bp is not None and bp in self.template_context_processors:
            funcs = chain(funcs, self.template_context_processors[bp])
        given = dict(context)
        for func in funcs:
            context.update(func())
        context.update(given)

    # --- testing and running -------------------------------------------------------------
    def test_request_context(self, *args, **kwargs):
        """A RequestContext from EnvironBuilder arguments (path, method, data, ...); the URL
        defaults to SERVER_NAME, APPLICATION_ROOT and PREFERRED_URL_SCHEME."""
        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies=True, **kwargs):
        """Flask's test client: `with app.test_client() as c:` keeps the last request's
        context until the block ends."""
        cls = self.test_client_class or FlaskClient
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def run(self, host=None, port=None, debug=None, load_dotenv=True, **options):
        """05's run, as in 1.1.1: FLASK_ENV and FLASK_DEBUG set debug, then the `debug`
        argument does; host and port come from the arguments, then SERVER_NAME, then
        127.0.0.1:5000; the banner first. This layer reads no .env file (load_dotenv)."""
        if "FLASK_ENV" in os.environ or "FLASK_DEBUG" in os.environ:
            self.debug = get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)
        sn_host = sn_port = None
        if self.config["SERVER_NAME"]:
            sn_host, _, sn_port = self.config["SERVER_NAME"].partition(":")
        host = host or sn_host or "127.0.0.1"
        port = int(next((p for p in (port, sn_port) if p is not None), 5000))  # 0 is a port
        show_server_banner(get_env(), self.debug, self.name)
        super().run(host, port, **options)


def _exception_class_and_code(exc_class_or_code):
    """(exception class, status code or None) for errorhandler's key: 404 is NotFound's."""
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


def _encode_idna(host):
    """Werkzeug 1.0.1's check of a host name: ASCII as it is, else each label as IDNA."""
    try:
        return host.encode("ascii")
    except UnicodeError:
        return b".".join(label.encode("idna") for label in host.split("."))


# ==========================================================================================
# Class-based views, 内容回顾 8's CBV: as_view returns a view function, a closure (flask/views.py)
# ==========================================================================================

HTTP_METHOD_FUNCS = frozenset(["get", "post", "head", "options", "delete", "put", "trace", "patch"])


class View:
    """A class-based view: subclass it, write dispatch_request, register View.as_view(name)."""

    methods = None
    provide_automatic_options = None
    decorators = ()

    def dispatch_request(self, *args, **kwargs):
        raise NotImplementedError()

    @classmethod
    def as_view(cls, name, *class_args, **class_kwargs):
        """A plain view function: each call makes a new instance and dispatches to it. The
        function closes over cls and the arguments (the notes: 闭包的应用场景)."""

        def view(*args, **kwargs):
            self = view.view_class(*class_args, **class_kwargs)
            return self.dispatch_request(*args, **kwargs)

        if cls.decorators:
            view.__name__ = name
            view.__module__ = cls.__module__
            for decorator in cls.decorators:
                view = decorator(view)
        view.view_class = cls
        view.__name__ = name
        view.__doc__ = cls.__doc__
        view.__module__ = cls.__module__
        view.methods = cls.methods
        view.provide_automatic_options = cls.provide_automatic_options
        return view


class MethodViewType(type):
    """Fills in `methods` from the handler methods a MethodView defines (get, post, ...)."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        if "methods" not in namespace:
            methods = set()
            for base in bases:
                methods.update(getattr(base, "methods", None) or ())
            methods.update(key.upper() for key in HTTP_METHOD_FUNCS if hasattr(cls, key))
            if methods:
                cls.methods = methods


class MethodView(View, metaclass=MethodViewType):
    """GET goes to self.get, POST to self.post, ..."""

    def dispatch_request(self, *args, **kwargs):
        meth = getattr(self, request.method.lower(), None)
        if meth is None and request.method == "HEAD":
            meth = getattr(self, "get", None)
        assert meth is not None, f"Unimplemented method {request.method!r}"
        return meth(*args, **kwargs)


# ==========================================================================================
# Helpers a quick-start app uses: jsonify, make_response, url_for
# ==========================================================================================


def json_default(value):
    """What Flask 1.1.1's JSONEncoder makes of what JSON has no type for."""
    if isinstance(value, date):  # datetimes too: an HTTP date, in UTC
        return http_date(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(obj, **kwargs):
    """flask.json.dumps in an app context: keys sorted (JSON_SORT_KEYS), 你好 kept as it is
    when JSON_AS_ASCII is off."""
    config = current_app.config
    kwargs.setdefault("sort_keys", config["JSON_SORT_KEYS"])
    kwargs.setdefault("ensure_ascii", config["JSON_AS_ASCII"])
    return json.dumps(obj, default=json_default, **kwargs)


def jsonify(*args, **kwargs):
    """A JSON response: one argument as it is, several as a list, keywords as a dict.
    Indented in debug mode (or JSONIFY_PRETTYPRINT_REGULAR), compact otherwise."""
    if args and kwargs:
        raise TypeError("jsonify() behavior undefined when passed both args and kwargs")
    data = args[0] if len(args) == 1 else (args or kwargs)
    pretty = current_app.config["JSONIFY_PRETTYPRINT_REGULAR"] or current_app.debug
    body = dumps(
        data,
        indent=2 if pretty else None,
        separators=(", " if pretty else ",", ": " if pretty else ":"),
    )
    return current_app.response_class(body + "\n", mimetype=current_app.config["JSONIFY_MIMETYPE"])


def make_response(*args):
    """What a view may return, made into a Response: make_response(body, status, headers)."""
    if not args:
        return current_app.response_class()
    return current_app.make_response(args[0] if len(args) == 1 else args)


def url_for(endpoint, **values):
    """The URL of an endpoint, built by the current request's URL adapter (relative, unless
    _external=True) or, outside a request, the app's (absolute: SERVER_NAME is needed).
    '.name' is the current blueprint's; _anchor, _method and _scheme are not query values."""
    appctx, reqctx = _app_ctx_stack.top, _request_ctx_stack.top
    if appctx is None:
        raise RuntimeError(
            "Attempted to generate a URL without the application context being pushed. This "
            "has to be executed when application context is available."
        )
    if reqctx is not None:
        url_adapter, blueprint = reqctx.url_adapter, reqctx.request.blueprint
        if endpoint[:1] == ".":
            endpoint = blueprint + endpoint if blueprint is not None else endpoint[1:]
        external = values.pop("_external", False)
    else:
        url_adapter = appctx.url_adapter
        if url_adapter is None:
            raise RuntimeError(
                "Application was not able to create a URL adapter for request independent URL "
                "generation. You might be able to fix this by setting the SERVER_NAME config "
                "variable."
            )
        external = values.pop("_external", True)
    anchor, method = values.pop("_anchor", None), values.pop("_method", None)
    scheme = values.pop("_scheme", None)
    appctx.app.inject_url_defaults(endpoint, values)
    old_scheme = None
    if scheme is not None:
        if not external:
            raise ValueError("When specifying _scheme, _external must be True")
        old_scheme, url_adapter.url_scheme = url_adapter.url_scheme, scheme
    try:
        try:
            rv = url_adapter.build(endpoint, values, method=method, force_external=external)
        finally:
            if old_scheme is not None:
                url_adapter.url_scheme = old_scheme
    except BuildError as error:
        values.update(_external=external, _anchor=anchor, _method=method, _scheme=scheme)
        return appctx.app.handle_url_build_error(error, endpoint, values)
    if anchor is not None:
        rv += "#" + quote(anchor, safe="/:")
    return rv


# ==========================================================================================
# Templates: Jinja2, seeing request, session and g through the stacks (flask/templating.py)
# ==========================================================================================


def create_jinja_environment(app):
    """Templates from the app's templates folder; request, session, g, config and url_for
    are there in every template. Autoescaped: .html, .htm, .xml, .xhtml and strings."""
    env = jinja2.Environment(
        loader=DispatchingJinjaLoader(app),
        autoescape=lambda name: name is None or name.endswith((".html", ".htm", ".xml", ".xhtml")),
    )
    env.globals.update(
        url_for=url_for, config=app.config, request=request, session=session, g=g,
    )  # fmt: skip
    return env


class DispatchingJinjaLoader(jinja2.BaseLoader):
    """The app's templates folder first, then each blueprint's in the order they were
    registered: the app's template hides a blueprint's of the same name (003 三: 先从最外层的
    templates文件找,找不到才到自定义的template_folder里面找)."""

    def __init__(self, app):
        self.app = app

    def loaders(self):
        for owner in (self.app, *self.app.blueprints.values()):
            if owner.template_folder is not None:
                yield jinja2.FileSystemLoader(os.path.join(owner.root_path, owner.template_folder))

    def get_source(self, environment, template):
        for loader in self.loaders():
            try:
                return loader.get_source(environment, template)
            except jinja2.TemplateNotFound:
                continue
        raise jinja2.TemplateNotFound(template)

    def list_templates(self):
        return sorted({name for loader in self.loaders() for name in loader.list_templates()})


def _default_template_context():
    """Flask's default context processor: g from the app context, request and session from
    the request context, read from the stacks when the template is rendered."""
    app_ctx, req_ctx = _app_ctx_stack.top, _request_ctx_stack.top
    values = {"g": app_ctx.g}
    if req_ctx is not None:
        values.update(request=req_ctx.request, session=req_ctx.session)
    return values


def render_template(template_name_or_list, **context):
    app = _app_ctx_stack.top.app
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    app.update_template_context(context)
    return template.render(context)


def render_template_string(source, **context):
    app = _app_ctx_stack.top.app
    app.update_template_context(context)
    return app.jinja_env.from_string(source).render(context)


# ==========================================================================================
# Outside the view: another thread, a greenlet, a streamed body (flask/ctx.py, helpers.py)
# ==========================================================================================
# The context is kept per ident (03): a thread or a greenlet started in a view has no
# request, and a streamed body is sent after 第5步 popped the context. These put it back.


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


# ==========================================================================================
# The test client (flask/testing.py)
# ==========================================================================================


class EnvironBuilder(werkzeug.test.EnvironBuilder):
    """Werkzeug's EnvironBuilder, with the app's defaults: the host is SERVER_NAME (or
    localhost), with `subdomain` in front; the root is APPLICATION_ROOT; the scheme is
    PREFERRED_URL_SCHEME. A full URL as the path keeps its own scheme, host and query."""

    def __init__(self, app, path="/", base_url=None, subdomain=None, url_scheme=None, *args, **kw):
        assert not (base_url or subdomain or url_scheme) or (base_url is not None) != bool(
            subdomain or url_scheme
        ), 'Cannot pass "subdomain" or "url_scheme" with "base_url".'
        if base_url is None:
            http_host = app.config.get("SERVER_NAME") or "localhost"
            if subdomain:
                http_host = f"{subdomain}.{http_host}"
            url = urlsplit(path)
            scheme = url.scheme or url_scheme or app.config["PREFERRED_URL_SCHEME"]
            root = app.config["APPLICATION_ROOT"].lstrip("/")
            base_url = f"{scheme}://{url.netloc or http_host}/{root}"
            path = url.path + (f"?{url.query}" if url.query else "")
        self.app = app
        super().__init__(path, base_url, *args, **kw)

    def json_dumps(self, obj, **kwargs):
        """json= bodies are dumped as the app's jsonify would: keys sorted."""
        kwargs.setdefault("sort_keys", True)
        kwargs.setdefault("ensure_ascii", self.app.config["JSON_AS_ASCII"])
        return json.dumps(obj, **kwargs)


def make_test_environ_builder(*args, **kwargs):
    """Flask 1.1.1's old name for EnvironBuilder(app, ...), deprecated there."""
    warnings.warn(
        "make_test_environ_builder is deprecated; use EnvironBuilder",
        DeprecationWarning,
        stacklevel=2,
    )
    return EnvironBuilder(*args, **kwargs)


class FlaskClient(Client):
    """Werkzeug's test Client building its requests with the EnvironBuilder above. Inside
    `with client:` the last request's context stays on the stack (auto_pop sees
    flask._preserve_context) until the block ends."""

    preserve_context = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": f"werkzeug/{importlib.metadata.version('werkzeug')}",
        }

    def open(self, *args, buffered=False, follow_redirects=False, **kwargs):
        """A request built here, or (a redirect being followed) one built already."""
        given = args[0] if len(args) == 1 and not kwargs else None
        if isinstance(given, (werkzeug.test.EnvironBuilder, dict)):
            environ = dict(self.environ_base)
            environ.update(given if isinstance(given, dict) else given.get_environ())
            environ["flask._preserve_context"] = self.preserve_context
        else:
            kwargs.setdefault("environ_overrides", {})["flask._preserve_context"] = (
                self.preserve_context
            )
            kwargs.setdefault("environ_base", self.environ_base)
            builder = EnvironBuilder(self.application, *args, **kwargs)
            try:
                environ = builder.get_environ()
            finally:
                builder.close()
        # As a Request: a dict would be rebuilt by Werkzeug 3, which drops REMOTE_ADDR.
        request = WerkzeugRequest(environ)
        return super().open(request, buffered=buffered, follow_redirects=follow_redirects)

    @contextmanager
    def session_transaction(self, *args, **kwargs):
        """The session a request with this client's cookies would have, to read and change
        outside any request; what the block leaves in it is saved into the client's cookies.

        It opens a request context of its own to open the session, and while the block runs
        puts the caller's context (or None) back on top of the stack: code in the block sees
        no request but its own (a push would run teardown hooks; a bare push does not)."""
        if self._cookies is None:
            raise RuntimeError("Session transactions only make sense with cookies enabled.")
        app = self.application
        outer = _request_ctx_stack.top
        builder = EnvironBuilder(app, *args, **kwargs)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        self._add_cookies_to_wsgi(environ)
        with app.request_context(environ) as ctx:
            interface = app.session_interface
            session = interface.open_session(app, ctx.request)
            if session is None:
                raise RuntimeError(
                    "Session backend did not open a session. Check the configuration"
                )
            _request_ctx_stack.push(outer)
            try:
                yield session
            finally:
                _request_ctx_stack.pop()
            response = app.response_class()
            if not interface.is_null_session(session):
                interface.save_session(app, session, response)
            self._update_cookies_from_response(
                ctx.request.host.partition(":")[0],
                ctx.request.path,
                response.headers.getlist("Set-Cookie"),
            )

    def __enter__(self):
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.preserve_context = False
        # Pop every context kept for looking at: a streamed body (stream_with_context) may
        # have pushed the request's context a second time.
        top = _request_ctx_stack.top
        while top is not None and top.preserved:
            top.pop()
            top = _request_ctx_stack.top
