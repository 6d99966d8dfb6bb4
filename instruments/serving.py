"""Serving a lesson's app: bind first, answer in time, stop in order.

05's `Flask.run` is Flask 1.1.1's: `run_simple(host, port, app, threaded=True)`. The scripts'
own servers (`python 05_lifecycle.py`, `python 08_deploy.py serve`) use the same Werkzeug
server, with what a server that others can reach needs:

- `bind(host, port, app)` takes the port before anything is printed: of two copies started at
  once, the second says in one line that the port is taken, before it narrates anything.
- A connection that sends nothing for `IDLE_TIMEOUT` seconds is closed. Werkzeug's server
  gives each connection a thread and waits for its request for ever, so a crowd of half-open
  connections used up the threads and file descriptors, and Ctrl-C waited on them too.
- After a 413 (a body too large), at most 1 MB more of the body is read, not the whole of it.
- `serve(server)` stops in order on Ctrl-C (or SIGTERM): stop accepting, let the requests in
  flight finish (for up to `grace` seconds), close the idle connections, then return, so the
  caller closes its pool and exits 0.
- `use_secret_key(app)` signs sessions with $SECRET_KEY, or a random key per start, never the
  demo key written in the source.

Nothing here imports a numbered script: it is handed the app.
"""

import errno
import io
import os
import secrets
import signal
import socket
import sys
import threading
import time

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

IDLE_TIMEOUT = 10.0  # seconds a connection may send nothing (request line, headers, body)
LISTEN_BACKLOG = 1024  # connections the kernel queues before accept (Werkzeug's is 128)
LINGER_BYTES = 1 << 20  # of a body refused as too large, read at most this much more


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler with a socket timeout, and no reading past a refused body."""

    timeout = IDLE_TIMEOUT  # StreamRequestHandler applies it to the connection's socket

    def run_wsgi(self):
        self.server.request_started()
        try:
            super().run_wsgi()
        finally:
            self.server.request_finished()

    def send_response(self, code, message=None):
        super().send_response(code, message)
        if code == 413:
            # After answering, Werkzeug reads what is left of the body (up to 10 GB), so that
            # a client still sending sees the 413 rather than a reset. Read at most 1 MB of a
            # body too large, then close the connection.
            self.close_connection = True
            self.rfile = AtMost(self.rfile, LINGER_BYTES)


class AtMost(io.RawIOBase):
    """A stream that gives at most `left` more bytes of another, then says it has ended."""

    def __init__(self, stream, left):
        self.stream, self.left = stream, left

    def readable(self):
        return True

    def read(self, size=-1):
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.stream.read(size) if size else b""
        self.left -= len(data)
        return data


class Server(ThreadedWSGIServer):
    """Werkzeug's threaded server, knowing its connections and the requests in flight."""

    block_on_close = False  # serve() waits for the threads itself, with a deadline

    def __init__(self, sock, app):
        host, port = sock.getsockname()[:2]
        super().__init__(host, port, app, handler=RequestHandler, fd=sock.fileno())
        self.connections = set()  # sockets of connections a thread is serving
        self.in_flight = 0  # requests between their first line and their last byte
        self.changed = threading.Condition()

    def get_request(self):
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):  # out of file descriptors: the
                time.sleep(0.05)  # listener stays readable, so do not spin on it meanwhile
            raise

    def process_request(self, request, client_address):
        with self.changed:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.changed:
            self.connections.discard(request)
            self.changed.notify_all()
        super().shutdown_request(request)

    def request_started(self):
        with self.changed:
            self.in_flight += 1

    def request_finished(self):
        with self.changed:
            self.in_flight -= 1
            self.changed.notify_all()

    def wait_until(self, done, deadline):
        """Wait until done() holds (checked under the lock) or the deadline passes."""
        with self.changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
            return True


def use_secret_key(app, say=None):
    """A served app signs its sessions with $SECRET_KEY, never with a key from the source.

    Unset, `say` given: a random key for this start, said in one line (sessions then end when
    the server stops). gunicorn.conf.py does the same in gunicorn's master, before it forks,
    so every worker gets the same key through the environment."""
    key = os.environ.get("SECRET_KEY")
    if key:
        app.secret_key = key
    elif say is not None:
        app.secret_key = secrets.token_hex(32)
        say(
            "SECRET_KEY is not set: sessions are signed with a random key made for this start "
            "(they end when it stops; set SECRET_KEY to keep them)"
        )
    return app


class CannotListen(Exception):
    """The address cannot be listened on; the message says why and what to try."""


def listening_socket(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(
                f"cannot listen on {host}:{port}: port already in use (try another --port)"
            ) from None
        raise CannotListen(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(check --host: an address of this machine, e.g. 127.0.0.1 or ::1)"
        ) from None
    return sock


def bind(host, port, app):
    """A Server listening on host:port for app; raises CannotListen with a one-line reason."""
    sock = listening_socket(host, port)
    try:
        return Server(sock, app)
    finally:
        sock.close()  # the server listens on its own duplicate of it


def url_of(host, port):
    """http://host:port/, with an IPv6 address in brackets: http://[::1]:5000/."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(server, grace=10.0, on_stop=None, say=None):
    """Serve until Ctrl-C or SIGTERM, then stop in order and return (the caller exits 0).

    `on_stop()` runs once the requests in flight are done (06 closes its pool there). If some
    are still running after `grace` seconds, the process exits at once with status 1: their
    threads would otherwise run on while the interpreter shuts down, and crash it."""
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()  # returns on KeyboardInterrupt, having closed the listener
    finally:
        signal.signal(signal.SIGTERM, previous)
    say(
        f"stopping: no new connections; waiting up to {grace:.0f} s for the "
        f"{server.in_flight} request(s) in flight"
    )
    try:
        finished = server.wait_until(lambda: server.in_flight == 0, time.monotonic() + grace)
    except KeyboardInterrupt:  # a second Ctrl-C: do not wait any longer
        finished = False
    with server.changed:
        idle = list(server.connections)
    for connection in idle:  # each thread waits for a request that may never come: end it
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    server.wait_until(lambda: not server.connections, time.monotonic() + 1.0)
    if on_stop is not None:
        on_stop()
    if not finished:
        say(f"stopped with {server.in_flight} request(s) still running after {grace:.0f} s")
        sys.stdout.flush()
        os._exit(1)
    say("stopped")


def _interrupt(signum, frame):
    raise KeyboardInterrupt
