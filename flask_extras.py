"""Flask 1.1.1's API where the notes do not look, beside 05 so that 05 stays its lesson.

05_lifecycle.py is the request's path (Part A) and what the notes read of a real app (Part B).
A learner's program also calls things the notes never open: the test client, jsonify, url_for,
app.run's banner. Those are here, written to behave as Flask 1.1.1's do (tests/
flask111_app_cases.py runs the same programs on both), and 05 hands them on under Flask's names
(`lifecycle.jsonify`, `app.test_client()`, ...).

Like 05, this reaches the current request and app through 04's stacks and proxies; it imports
no later script.
"""

import importlib
import json
import os

from werkzeug.test import Client

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
# Helpers a quick-start app uses: jsonify, url_for
# ==========================================================================================


def jsonify(*args, **kwargs):
    data = args[0] if len(args) == 1 else (list(args) or kwargs)
    as_ascii = current_app.config["JSON_AS_ASCII"]
    body = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=as_ascii)
    # With JSON_AS_ASCII off (Chinese kept readable), say which encoding the bytes are in.
    mimetype = "application/json" if as_ascii else "application/json; charset=utf-8"
    return current_app.response_class(body + "\n", content_type=mimetype)


def url_for(endpoint, **values):
    ctx = _request_ctx_stack.top
    if ctx is not None:
        adapter, blueprint = ctx.url_adapter, ctx.request.blueprint
        if endpoint.startswith("."):
            endpoint = blueprint + endpoint if blueprint else endpoint[1:]
        external = values.pop("_external", False)
    else:
        if _app_ctx_stack.top is None:
            raise RuntimeError(localproxy._app_ctx_err_msg)
        adapter, external = _app_ctx_stack.top.url_adapter, values.pop("_external", True)
        if adapter is None:
            raise RuntimeError(
                "Application was not able to create a URL adapter for request "
                "independent URL generation. You might be able to fix this by "
                "setting the SERVER_NAME config variable."
            )
    return adapter.build(endpoint, values, force_external=external)


# ==========================================================================================
# The test client (flask/testing.py)
# ==========================================================================================


class FlaskClient(Client):
    """Werkzeug's test Client; inside `with client:` the last request's context stays on the
    stack (auto_pop sees flask._preserve_context) until the block ends."""

    preserve_context = False

    def open(self, *args, **kwargs):
        kwargs.setdefault("environ_overrides", {})["flask._preserve_context"] = (
            self.preserve_context
        )
        return super().open(*args, **kwargs)

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
