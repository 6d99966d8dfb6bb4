"""Serving a lesson's app: the port first, answers in time, a stop in order.

`python 05_lifecycle.py` (and 09) serve as 7.1 reads: `app.run()` → `werkzeug.serving.
run_simple(host, port, app, threaded=True)`. What a server that others can reach needs comes
through run_simple's own parameters and around the call:

- `check_port(host, port)` tries the port before anything is printed: a copy started on a
  port in use says so in one line, before it narrates; run_simple binds it afterwards. (Two
  copies started in the same instant both pass the check; the second's run_simple then says
  that the port is in use, and exits 1.)
- `request_handler=` a handler whose connections time out after `IDLE_TIMEOUT` seconds of
  silence, and whose request line and headers must come within `HEAD_TIMEOUT` however they
  trickle. Werkzeug's server gives each connection a thread and waits for its request for
  ever, so a crowd of half-open connections used up the threads and file descriptors, and
  Ctrl-C waited on them too. Beyond `MAX_CONNECTIONS` served at once, a connection is answered
  503 at once and closed. The handler also counts the requests in flight, and after a 413
  (a body too large) reads what has arrived of the body, at most 1 MB for at most 1 s.
- `run(app, ...)` stops in order on Ctrl-C (or SIGTERM): run_simple's server stops accepting
  and returns; the requests in flight are let finish (for up to `grace` seconds), the idle
  connections are closed, and the caller exits 0; what could not finish is said.
- `use_secret_key(app)` signs sessions with $SECRET_KEY, or a random key per start, never the
  demo key written in the source.

08's `serve` keeps a server of its own (`bind` and `serve`: Werkzeug's threaded server with
the same handler, a deeper listen queue, and no busy loop when file descriptors run out).

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
HEAD_TIMEOUT = 10.0  # seconds for a request's line and headers together, however they trickle
MAX_CONNECTIONS = 1024  # connections served at once (each holds a thread); beyond: a 503
BUSY = (  # the answer to a connection beyond MAX_CONNECTIONS, without a thread to hold
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 40\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    b"too many connections at once; try again\n"
)
LISTEN_BACKLOG = 1024  # connections the kernel queues before accept (Werkzeug's is 128)
LINGER_BYTES = 1 << 20  # of a body refused as too large, read at most this much more
LINGER_SECONDS = 1.0  # and for at most this long


class Tracker:
    """The connections a server's threads are serving, and the requests in flight."""

    def __init__(self):
        self.connections = set()  # sockets of connections a thread is serving
        self.in_flight = 0  # requests between their first line and their last byte
        self.answering = 0  # of those, the ones whose answer has started going out
        self.changed = threading.Condition()

    def opened(self, connection):
        """Count a connection in, unless MAX_CONNECTIONS are being served: then False."""
        with self.changed:
            if len(self.connections) >= MAX_CONNECTIONS:
                return False
            self.connections.add(connection)
            return True

    def closed(self, connection):
        with self.changed:
            self.connections.discard(connection)
            self.changed.notify_all()

    def request_started(self):
        with self.changed:
            self.in_flight += 1

    def request_answering(self):
        with self.changed:
            self.answering += 1

    def request_finished(self, answering):
        with self.changed:
            self.in_flight -= 1
            self.answering -= answering
            self.changed.notify_all()

    def running(self):
        """Requests read and not yet answered: what a crowd is made of."""
        with self.changed:
            return self.in_flight - self.answering

    def cut(self):
        """What stopping now cuts, in one line: the requests in flight, and how many of them
        had their answer ready (what they did, a write say, is done; their client never
        hears so)."""
        with self.changed:
            running, ready = self.in_flight, self.answering
        line = f"cut {running} request(s) in flight, their clients unanswered"
        if ready:
            line += f" ({ready} with its answer ready: what it did is done, unknown to its client)"
        return line

    def wait_until(self, done, deadline):
        """Wait until done() holds (checked under the lock) or the deadline passes. It looks
        every 20 ms rather than in Condition.wait: the main thread waits here for a second
        Ctrl-C, and one landing inside Condition.wait, after it has let go of its lock, made
        the `with` around it let go again (RuntimeError, and a traceback)."""
        while True:
            with self.changed:
                if done():
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.02))


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler with a socket timeout, counted connections and requests, and no
    reading past a refused body. `handler_for(tracker)` gives one that counts into tracker."""

    timeout = IDLE_TIMEOUT  # StreamRequestHandler applies it to the connection's socket
    tracker = None
    answering = None  # in a request: whether its answer has started going out

    def setup(self):
        super().setup()
        self.admitted = self.tracker.opened(self.connection)

    def handle(self):
        if not self.admitted:  # beyond MAX_CONNECTIONS: answered at once, the thread ends
            self.wfile.write(BUSY)
            return
        super().handle()

    def handle_one_request(self):
        """The request line and headers are read against one deadline, HEAD_TIMEOUT from now:
        the idle timeout bounds each read, and a client sending a byte just before each would
        time out held the thread for ever. The body is read with the idle timeout."""
        self.rfile = HeadReader(self.rfile, self.connection, time.monotonic() + HEAD_TIMEOUT)
        super().handle_one_request()

    def parse_request(self):
        head = self.rfile
        try:
            return super().parse_request()  # reads the headers
        finally:
            self.rfile = head.stream
            self.connection.settimeout(self.timeout)

    def finish(self):
        try:
            super().finish()
        finally:
            self.tracker.closed(self.connection)

    def make_environ(self):
        environ = super().make_environ()
        environ["serving.tracker"] = self.tracker  # the recorder reads the crowd from it
        return environ

    def run_wsgi(self):
        self.tracker.request_started()
        self.answering = False
        try:
            super().run_wsgi()
        finally:
            self.tracker.request_finished(self.answering)
            self.answering = None

    def send_response(self, code, message=None):
        super().send_response(code, message)
        if self.answering is False:  # the first status line of a request (not a bad one's)
            self.answering = True
            self.tracker.request_answering()
        if code == 413:
            # After answering, Werkzeug reads what is left of the body (up to 10 GB), so that
            # a client still sending sees the 413 rather than a reset. Read what has arrived
            # of a body too large, at most 1 MB for at most 1 s, then close the connection.
            self.close_connection = True
            self.rfile = AtMost(self.rfile, LINGER_BYTES, LINGER_SECONDS)


def handler_for(tracker):
    """A RequestHandler class that counts its connections and requests into `tracker`."""
    return type("RequestHandler", (RequestHandler,), {"tracker": tracker})


class HeadReader:
    """The connection's reader while a request's head is read: each line must come before
    `deadline`, and the socket waits no longer than is left of it. A head ends at its blank
    line: a connection that ends before it is dropped (http.server would take the end of the
    stream for the end of the headers, and run a request the client never finished sending,
    one that the server's own stop cut short, say)."""

    def __init__(self, stream, connection, deadline):
        self.stream, self.connection, self.deadline = stream, connection, deadline
        self.lines = 0

    def readline(self, size=-1):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's line and headers took too long")
        self.connection.settimeout(min(left, IDLE_TIMEOUT))
        line = self.stream.readline(size)
        cut = line[-1:] != b"\n" and len(line) != size  # the stream ended inside the line
        if cut and (line or self.lines):  # (no request line at all: a keep-alive's end)
            raise ConnectionAbortedError("the connection ended inside a request's head")
        self.lines += 1
        return line

    def __getattr__(self, name):  # close() and the rest: the connection's reader's
        return getattr(self.stream, name)


class AtMost(io.RawIOBase):
    """A stream that gives what has arrived of another, at most `left` more bytes for at most
    `seconds`, then says it has ended. It never waits for bytes a client has not sent: a
    client that sent its whole body, and waits for the answer, is not held until the idle
    timeout."""

    def __init__(self, stream, left, seconds):
        self.stream, self.left = stream, left
        self.deadline = time.monotonic() + seconds

    def readable(self):
        return True

    def read(self, size=-1):
        size = self.left if size is None or size < 0 else min(size, self.left)
        if not size or time.monotonic() > self.deadline:
            return b""
        data = self.stream.read1(size)  # what is there: one read of the socket at most
        self.left -= len(data)
        return data


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
    """A socket listening on host:port; raises CannotListen with a one-line reason."""
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


def check_port(host, port):
    """Raise CannotListen, with a one-line reason, if host:port cannot be listened on now."""
    listening_socket(host, port).close()


def url_of(host, port):
    """http://host:port/, with an IPv6 address in brackets: http://[::1]:5000/."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def run(app, host, port, grace=10.0, say=None):
    """`app.run(host, port)`, that is run_simple, until Ctrl-C or SIGTERM; then stop in order
    and return (the caller exits 0)."""
    tracker = Tracker()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        app.run(host, port, request_handler=handler_for(tracker), threaded=True)
    finally:  # run_simple's server returns on KeyboardInterrupt, having closed the listener
        signal.signal(signal.SIGTERM, previous)
    stop(tracker, grace, say=say)


def stop(tracker, grace, on_stop=None, say=None):
    """The server has stopped accepting: let the requests in flight finish, close the idle
    connections, run `on_stop()` (08 closes its pool there), and say how it ended.

    If some requests are still running after `grace` seconds, the process exits at once with
    status 1: their threads would otherwise run on while the interpreter shuts down, and
    crash it."""
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    try:  # a second Ctrl-C from the moment the first is said
        say(
            f"stopping: no new connections; waiting up to {grace:.0f} s for the "
            f"{tracker.in_flight} request(s) in flight"
        )
        finished = tracker.wait_until(lambda: tracker.in_flight == 0, time.monotonic() + grace)
        how = f"stopped after {grace:.0f} s"
    except KeyboardInterrupt:  # a second Ctrl-C: do not wait any longer (the convention)
        finished, how = False, "stopped at a second Ctrl-C"
    cut = tracker.cut()  # before the connections are shut: what is running now
    with tracker.changed:
        idle = list(tracker.connections)
    for connection in idle:  # each thread waits for a request that may never come: end it
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    tracker.wait_until(lambda: not tracker.connections, time.monotonic() + 1.0)
    if on_stop is not None:
        on_stop()
    if not finished:
        say(f"{how}: {cut}")
        sys.stdout.flush()
        os._exit(1)
    say("stopped")


class Server(ThreadedWSGIServer):
    """08's own server: Werkzeug's threaded one, on a socket of a deeper listen queue, with
    the counting handler, and a pause when file descriptors run out."""

    block_on_close = False  # serve() waits for the threads itself, with a deadline

    def __init__(self, sock, app):
        host, port = sock.getsockname()[:2]
        self.tracker = Tracker()
        handler = handler_for(self.tracker)
        super().__init__(host, port, app, handler=handler, fd=sock.fileno())

    def get_request(self):
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):  # out of file descriptors: the
                time.sleep(0.05)  # listener stays readable, so do not spin on it meanwhile
            raise


def bind(host, port, app):
    """A Server listening on host:port for app; raises CannotListen with a one-line reason."""
    sock = listening_socket(host, port)
    try:
        return Server(sock, app)
    finally:
        sock.close()  # the server listens on its own duplicate of it


def serve(server, grace=10.0, on_stop=None, say=None):
    """Serve until Ctrl-C or SIGTERM, then stop in order (see stop) and return."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()  # returns on KeyboardInterrupt, having closed the listener
    finally:
        signal.signal(signal.SIGTERM, previous)
    stop(server.tracker, grace, on_stop, say)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
