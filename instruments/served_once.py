"""Serving an app for one request, as the notes' review serves its WSGI apps: a server on a
free loopback port that answers one GET and stops, so a narration can print the answer.

`serve_once(make_server, app)` takes a `make_server(app)` (wsgiref's, Werkzeug's);
`run_simple_once(app)` calls Werkzeug's `run_simple` itself, or `run_simple_once(app,
run=app.run)` a lesson's `app.run`, which calls run_simple in turn. Nothing here imports a
numbered script: it is handed the app.
"""

import logging
import socket
import threading
import time
import urllib.error
import urllib.request


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, response.read().decode("utf-8")


def serve_once(make_server_function, app):
    """Serve `app` on a free loopback port just long enough for one GET; returns its answer."""
    server = make_server_function(app)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        return fetch(f"http://127.0.0.1:{server.server_port}/")
    finally:
        thread.join(10)
        server.server_close()


def run_simple_once(app, run=None):
    """`run_simple("127.0.0.1", port, app)`, as the notes run it, for one GET (or `run(
    "127.0.0.1", port, **options)`, `app.run` say, in one thread): its request handler stops
    the server after answering, so run_simple returns. run_simple's startup lines go to the
    "werkzeug" logger, quiet meanwhile."""
    from werkzeug.serving import WSGIRequestHandler, run_simple

    class AnswerOnce(WSGIRequestHandler):
        def log(self, *args):
            pass

        def handle(self):
            super().handle()
            # run_simple's serve_forever returns (told from another thread: it may be this one)
            threading.Thread(target=self.server.shutdown).start()

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {"request_handler": AnswerOnce, "threaded": run is None}
    run = run or (lambda host, port, **options: run_simple(host, port, app, **options))
    server = threading.Thread(target=run, args=("127.0.0.1", port), kwargs=options)
    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_log.disabled = True
    server.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                return fetch(f"http://127.0.0.1:{port}/")
            except urllib.error.URLError:  # not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
    finally:
        server.join(10)
        werkzeug_log.disabled = False
