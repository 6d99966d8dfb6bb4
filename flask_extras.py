"""Flask 1.1.1's API where the notes do not look, beside 05 so that 05 stays its lesson.

05_lifecycle.py is the request's path (Part A) and what the notes read of a real app (Part B).
A learner's program also calls things the notes never open: the test client, jsonify, url_for,
app.run's banner. Those are here, written to behave as Flask 1.1.1's do (tests/
flask111_app_cases.py runs the same programs on both), and 05 hands them on under Flask's names
(`lifecycle.jsonify`, `app.test_client()`, ...).

Like 05, this reaches the current request and app through 04's stacks and proxies; it imports
no later script.
"""

import errno
import importlib
import importlib.metadata
import json
import os
import types
import uuid
import warnings
from contextlib import contextmanager
from datetime import date
from functools import update_wrapper
from itertools import chain
from urllib.parse import quote, urlsplit

import jinja2
import werkzeug.test
from werkzeug.exceptions import BadRequest, BadRequestKeyError
from werkzeug.http import http_date
from werkzeug.routing import BuildError
from werkzeug.test import Client
from werkzeug.wrappers import Request as WerkzeugRequest

localproxy = importlib.import_module("04_proxy")
_request_ctx_stack, _app_ctx_stack = localproxy._request_ctx_stack, localproxy._app_ctx_stack
current_app = localproxy.current_app


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
# Flask and Blueprint beyond the notes: URL values and defaults, endpoint, build errors,
# trapped HTTP errors, templates' environment
# ==========================================================================================


class FlaskExtras:
    """What 05's Flask has of Flask 1.1.1 beyond the notes: hooks beyond before/after/teardown
    (their lists, url_value_preprocessors, url_default_functions and url_build_error_handlers,
    are made in Flask.__init__; preprocess_request runs the value preprocessors, url_for the
    defaults), the TRAP_* settings, and the templates' environment."""

    @property
    def got_first_request(self):
        """True once the first request has run the before_first_request functions."""
        return self._got_first_request

    def url_value_preprocessor(self, f):
        """f(endpoint, view_args) before every request's before_request functions."""
        self.url_value_preprocessors.setdefault(None, []).append(f)
        return f

    def url_defaults(self, f):
        """f(endpoint, values) before url_for builds a URL: it may fill in values."""
        self.url_default_functions.setdefault(None, []).append(f)
        return f

    def endpoint(self, endpoint):
        """The view of an endpoint whose rule is (or will be) added by add_url_rule."""

        def decorator(f):
            self.view_functions[endpoint] = f
            return f

        return decorator

    @property
    def jinja_env(self):
        """The app's Jinja2 environment, made on first use (flask_extras' templates)."""
        if getattr(self, "_jinja_env", None) is None:
            self._jinja_env = create_jinja_environment(self)
        return self._jinja_env

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


class BlueprintExtras:
    """What a Flask 1.1.1 Blueprint can register beyond its routes and own hooks: hooks for the
    whole app, URL values and defaults, error handlers. Each is recorded once: a blueprint
    registered twice (under two prefixes) adds its rules twice and its hooks once."""

    def record_once(self, func):
        def wrapper(state):
            if state.first_registration:
                func(state)

        self.record(update_wrapper(wrapper, func))

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

    def app_errorhandler(self, code_or_exception):
        def decorator(f):
            self.record_once(lambda state: state.app.errorhandler(code_or_exception)(f))
            return f

        return decorator

    def endpoint(self, endpoint):
        def decorator(f):
            name = f"{self.name}.{endpoint}"
            self.record_once(lambda state: state.app.view_functions.__setitem__(name, f))
            return f

        return decorator


# ==========================================================================================
# Config: from_object's siblings (flask/config.py)
# ==========================================================================================


class ConfigLoaders:
    """What Flask 1.1.1's Config has besides from_object: files and mappings of settings,
    upper-case names only, as from_object takes them. `root_path` is where a relative file
    name is looked for (the app's folder, or its instance folder)."""

    def __init__(self, root_path, defaults=None):
        super().__init__(defaults or {})
        self.root_path = root_path

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

    def __repr__(self):
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


# ==========================================================================================
# Helpers a quick-start app uses: jsonify, url_for
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


# ==========================================================================================
# Templates: Jinja2, seeing request, session and g through the stacks (flask/templating.py)
# ==========================================================================================


def create_jinja_environment(app):
    """Templates from the app's templates folder; request, session, g, config and url_for
    are there in every template. Autoescaped: .html, .htm, .xml, .xhtml and strings."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(app.root_path, app.template_folder)),
        autoescape=lambda name: name is None or name.endswith((".html", ".htm", ".xml", ".xhtml")),
    )
    env.globals.update(
        url_for=url_for, config=app.config, request=localproxy.request,
        session=localproxy.session, g=localproxy.g,
    )  # fmt: skip
    return env


def render_template(template_name_or_list, **context):
    app = _app_ctx_stack.top.app
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return template.render(_with_default_context(context))


def render_template_string(source, **context):
    app = _app_ctx_stack.top.app
    return app.jinja_env.from_string(source).render(_with_default_context(context))


def _with_default_context(context):
    """Flask's default context processor: g from the app context, request and session from
    the request context, read from the stacks when the template is rendered."""
    app_ctx, req_ctx = _app_ctx_stack.top, _request_ctx_stack.top
    values = {"g": app_ctx.g}
    if req_ctx is not None:
        values.update(request=req_ctx.request, session=req_ctx.session)
    return {**values, **context}


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
        top = _request_ctx_stack.top
        if top is not None and top.preserved:
            top.pop()
