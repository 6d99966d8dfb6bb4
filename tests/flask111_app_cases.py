"""Programs a learner writes while following the notes or Flask 1.1.1's documentation, run on
real Flask 1.1.1 and on 05; prints JSON, part by part (issue "05 is Flask 1.1.1 wherever the
notes look").

    python tests/flask111_app_cases.py real    (inside the Flask 1.1.1 virtual environment)
    python tests/flask111_app_cases.py ours    (in the project's environment)

tests/test_05_flask111.py runs both and compares each part. Every value printed is plain data.
"""

import contextlib
import importlib
import io
import json
import os
import sys
import warnings

SIDE = sys.argv[1]
if SIDE == "ours":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    api = importlib.import_module("05_lifecycle")
else:
    import flask as api

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


CASES = {
    "run": run_cases,
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
