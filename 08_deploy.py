"""08 — 05's app and 06's helper on a real server: serve, then gunicorn with gevent and forks.

Notes: none directly — this is where the notes stop. It takes 002's 2.3 small app (a view
reading the database through a pooled helper) to a server that must survive a slow or absent
database and a crowd; the 协程 line of 000's §6 (`try: from greenlet import getcurrent as
get_ident`) to gunicorn's gevent worker; and 002's module-level `POOL = PooledDB(...)` to a
server that forks.

Over 06 this adds what a server needs of the helper and the app. ServingSqlHelper is 06's
SqlHelper with a pool per process, a breaker, and a COMMIT without an answer said to be of
unknown outcome; create_serve_app is 05's demo app (on flask111's Flask, for jsonify and
MAX_CONTENT_LENGTH) plus /users, /slow, /pool, /case and /connection through it. `serve` keeps
a server of its own rather than app.run's run_simple: a deeper listen queue, no busy loop when
file descriptors run out, and its pool closed only after the requests in flight are done —
the lesson here is the server beyond the notes. 协程: use_ident keys the context stacks by the
OS thread, the greenlet or a ContextVar, and create_ident_app serves 05's app that way. 进程:
each worker process opens its own pool after the fork; InheritedPoolSqlHelper keeps the
parent's, to show why.
bench/bench_deploy.py measures each on real gunicorn processes (docs/beyond-one-process.md).

Run:  python 08_deploy.py                  a write whose answer never came; the ident, under asyncio
      python 08_deploy.py serve [--port P] 05's demo app plus the database routes
      gunicorn -w 4 '08_deploy:create_serve_app()'            the same app, 4 worker processes
      gunicorn -k gevent '08_deploy:create_ident_app("greenlet")'
Test: python -m pytest tests/test_08_serve.py tests/test_08_deploy.py
"""

import argparse
import asyncio
import importlib
import itertools
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from contextvars import ContextVar

from werkzeug.exceptions import HTTPException

from instruments import cli, mysql_settings, sections, serving, watching

localstack = importlib.import_module("03_localstack")
localproxy = importlib.import_module("04_proxy")
lifecycle = importlib.import_module("05_lifecycle")
flask111 = importlib.import_module("flask111")  # jsonify, MAX_CONTENT_LENGTH: 1.1.1's wider API
sqlhelper = importlib.import_module("06_sqlhelper")
basics = importlib.import_module("07_flask_basics")  # 补充：自定义session
PROG = "08_deploy.py"  # what its one-line errors begin with
pymysql, TooManyConnectionsError = sqlhelper.pymysql, sqlhelper.TooManyConnectionsError  # or None


# ==========================================================================================
# ServingSqlHelper — 06's SqlHelper, hardened for a server
# ==========================================================================================
# What changes when the helper serves a web app: a database can be slow, away or restarted,
# and a server can fork. The demo's `db` in 06 waits, retries and shares as the notes do.


CONNECTION_ERRORS = {1040, 1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031}


def is_timeout(exc):
    """PyMySQL's read, write and connect timeouts: (2013 or 2003, '... (timed out)')."""
    return isinstance(exc, pymysql.err.OperationalError) and "timed out" in str(exc.args)


def is_connection_error(exc):
    """Is this 'the database is not there' (→ 503) rather than a bad statement (→ 500)?"""
    if isinstance(exc, (TooManyConnectionsError, pymysql.err.InterfaceError)):
        return True
    code = exc.args[0] if isinstance(exc, pymysql.err.OperationalError) and exc.args else None
    return code in CONNECTION_ERRORS


class DatabaseUnavailable(pymysql.err.OperationalError if pymysql else Exception):
    """Raised at once while the database is known to be away (ServingSqlHelper.unavailable_for)."""


WAIT_FOR_CONNECTION = 2.0  # seconds a borrower waits for a free connection, at most


class PoolBusy(pymysql.err.OperationalError if pymysql else Exception):
    """Every connection stayed in use for as long as a borrower may wait."""


class BoundedPooledDB(sqlhelper.PooledDB or object):
    """PooledDB whose waiting borrowers give up: after `wait` seconds (PoolBusy), or at once
    when `down()` says the database is away. DBUtils' own wait (blocking=True) has no end: in
    a stall every request queued behind connections that would never come back in time.

    Waiting happens in DBUtils' `_wait_lock`, under its Condition; `wake_waiters` notifies it
    so that they look at `down()` again (the breaker below calls it when it opens)."""

    def __init__(self, *args, wait=WAIT_FOR_CONNECTION, down=lambda: False, **kwargs):
        self.wait, self.down = wait, down
        self.deadlines = threading.local()  # this borrower's deadline, while it waits
        super().__init__(*args, **kwargs)

    def connection(self, shareable=True):
        self.deadlines.at = time.monotonic() + self.wait
        return super().connection(shareable)

    def _wait_lock(self):  # called by connection() under self._lock, while all are in use
        if not self._blocking:
            raise TooManyConnectionsError
        if self.down():
            raise DatabaseUnavailable(2013, "the database did not answer a moment ago")
        left = self.deadlines.at - time.monotonic()
        if left <= 0:
            raise PoolBusy(
                1040, f"all {self._maxconnections} connections busy for {self.wait:.0f} s"
            )
        self._lock.wait(left)

    def wake_waiters(self):
        with self._lock:
            self._lock.notify_all()


class OutcomeUnknown(DatabaseUnavailable):
    """COMMIT was sent and its answer never came: the write may be stored, or not."""


class ServingSqlHelper(sqlhelper.SqlHelper):
    """06's SqlHelper as `serve` and the lessons beyond one process use it: the same `with db as
    cur:`, plus what a server needs from it.

    - A pool per process: opened on first use in each process, so a worker forked by gunicorn
      never talks on the sockets it inherited (see 进程 below).
    - A breaker: after a timeout, "unavailable" at once for a moment instead of every request
      waiting out the same timeout; it answers the requests waiting for a connection too.
    - The outcome of a COMMIT that got no answer is unknown, and said so (OutcomeUnknown).
    """

    def __init__(self, pool=None, **pool_options):
        super().__init__(pool, **pool_options)
        self._pool_given = pool is not None
        self.pool_pid = os.getpid() if pool is not None else None  # the process that opened it
        self._inherited_pools = []

    @property
    def configured(self):
        return bool(self.pool_options) or self.opened_pool is not None

    @property
    def pool(self):
        if self.needs_own_pool():
            with self.pool_lock:
                if self.needs_own_pool():
                    self._open_pool()
        return self.opened_pool

    def needs_own_pool(self):
        """No pool yet, or one opened in another process (before a fork). 08's
        InheritedPoolSqlHelper answers differently, to show what that would do."""
        return self.opened_pool is None or self.pool_pid != os.getpid()

    def _open_pool(self):
        if self.opened_pool is not None:
            if self._pool_given:
                raise RuntimeError(
                    f"this helper's pool was opened in process {self.pool_pid}, before a fork, "
                    "and cannot be reopened here: give ServingSqlHelper pool options, not a pool"
                )
            # Opened by the parent before a fork: its sockets are the parent's connections
            # too. Keep it referenced and unused: closing it here would send COM_QUIT down
            # the parent's sockets (SQLAlchemy's engine.dispose(close=False) does the same).
            self._inherited_pools.append(self.opened_pool)
        self.opened_pool = sqlhelper.create_pool(
            pool_class=BoundedPooledDB,
            creator=self._connect, down=self.is_down, isfatal=self._worth_a_retry,
            **self.pool_options,
        )  # fmt: skip
        self.pool_pid = os.getpid()

    # --- the breaker: after a timeout, say "unavailable" at once for a moment ---------------
    # Without it, every request in a stall waited out the same timeouts one after the other.
    # It opens on the first timeout, answers the requests waiting for a connection at once
    # (wake_waiters), refuses new connections to the database meanwhile (_connect), and lets
    # requests try again after `unavailable_for` seconds: back within a second of the stall.
    unavailable_for = 1.0
    _unavailable_until = 0.0

    def is_down(self):
        return time.monotonic() < self._unavailable_until

    def trip(self):
        self._unavailable_until = time.monotonic() + self.unavailable_for
        if self.opened_pool is not None and hasattr(self.opened_pool, "wake_waiters"):
            self.opened_pool.wake_waiters()

    def _check_available(self):
        if self.is_down():
            raise DatabaseUnavailable(
                2013,
                "Lost connection to MySQL server (timed out a moment ago; not asked again "
                f"for {self.unavailable_for:.0f} s)",
            )

    def _connect(self, *args, **kwargs):
        """The pool's creator: DBUtils reconnects after a failed statement, commit or
        rollback, some of it under its pool lock; while the breaker is open, it fails fast."""
        self._check_available()
        return pymysql.connect(*args, **kwargs)

    _connect.dbapi = pymysql  # tells DBUtils whose exceptions and threadsafety to use

    def _worth_a_retry(self, error):
        """DBUtils' isfatal: retry a failed statement on a new connection (a restarted server)
        unless it timed out: a hung server would only make the retry wait again."""
        if is_timeout(error):
            self.trip()
            return False
        return True

    def open(self):
        self._check_available()
        conn = self.pool.connection()
        try:
            self._check_available()  # it may have gone while we waited for a connection
            return conn, conn.cursor()
        except BaseException:
            conn.close()
            raise

    def __exit__(self, exc_type, exc, tb):
        conn, cursor = self.local.stack.pop()
        try:
            if exc_type is None:
                self._commit(conn)
            elif is_connection_error(exc):
                self._lost(conn)
            else:
                sqlhelper.rollback_quietly(conn)
        finally:
            self.close(conn, cursor)

    def _commit(self, conn):
        try:
            conn.commit()
        except Exception as error:
            if not is_connection_error(error):
                raise
            self._lost(conn)
            # COMMIT was sent and no answer came: the server may have stored it or not.
            raise OutcomeUnknown(*error.args) from error

    def _lost(self, conn):
        self.trip()
        _discard(conn)


def _discard(conn):
    """Really close a pooled connection that timed out or broke. The pool then gets back a
    closed connection, which it reopens on next use; returned as it was, the pool would roll
    it back under its lock — and wait on a hung server while every checkout waits too."""
    try:
        conn._con._close()  # DBUtils' steady connection; close() is a no-op on pooled ones
    except Exception:
        pass


db = ServingSqlHelper()  # what serve and create_serve_app() use: one per process


# ==========================================================================================
# serve — 05's demo app plus routes that go through the pooled helper
# ==========================================================================================

MAX_BODY = 64 * 1024  # a form with one name needs far less; larger bodies are refused (413)


def unavailable_in_words(exc, settings, pool):
    """What went wrong with the database, in words, for the 503's body."""
    where = f"{settings['host']}:{settings['port']}"
    code = exc.args[0] if isinstance(exc, pymysql.err.Error) and exc.args else None
    text = str(exc.args[1]) if isinstance(exc, pymysql.err.Error) and len(exc.args) > 1 else ""
    if isinstance(exc, TooManyConnectionsError):
        return f"pool exhausted (all {pool._maxconnections} connections in use)"
    if isinstance(exc, PoolBusy):
        return f"{text}; try again shortly"
    if isinstance(exc, DatabaseUnavailable) and not isinstance(exc, OutcomeUnknown):
        return f"MySQL at {where} did not answer a moment ago; it is asked again shortly"
    if code in (2002, 2003):
        return f"cannot reach MySQL at {where}"
    if "timed out" in text:
        return f"MySQL at {where} timed out after {settings.get('read_timeout', '?')} s"
    if code == 1040:
        return f"MySQL at {where} has too many connections"
    return f"lost the connection to MySQL at {where}"


SERVE_ROUTES = [
    ("/users", "the users in tb1, as JSON; ?name= finds one (exactly)"),
    ("/users/1", "one user, or 404"),
    ("/slow?seconds=0.2", "SELECT SLEEP(S) through the pool, S <= 1"),
    ("/pool", "the pool: maxconnections, in_use, idle"),
    ("/case", "002's 2.3 app: StaticSqlHelper.fetch_one('select * from tb1 limit 1', [])"),
    ("/connection", "this process, its pool's process, the connection id and its last user"),
]


# A served pool does not roll back the connections it gets back (reset=True would): SqlHelper
# commits or rolls back in __exit__ itself, and DBUtils' ROLLBACK on return is a second round
# trip made under the pool's lock — where, with the database stalled, every request waited its
# turn behind the others. (06's demo keeps reset=True: the notes' helpers never commit.)
SERVE_POOL = {"reset": False}
JSON_ROUTES = ("/users", "/slow", "/pool", "/case", "/connection")


def create_serve_app(helper=None, sessions="cookie"):
    """05's demo app plus the database routes. `gunicorn '08_deploy:create_serve_app()'`
    serves it too: with no helper it uses `db`, configured from the MYSQL_* settings, and
    creates the database and tables if missing. sessions: cookie, memory or mariadb (进程)."""
    if helper is None:
        helper = db
        if not helper.configured:
            helper.configure(**SERVE_POOL)
        setup_or_exit(helper)
    app = serving.use_secret_key(lifecycle.create_app(flask111.Flask), say=_say)
    app.session_interface = session_interface(sessions, helper)
    answered_by_header(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["JSON_AS_ASCII"] = False  # 你好, not \u4f60\u597d
    app.config["JSONIFY_MIMETYPE"] = "application/json; charset=utf-8"  # ... and say so
    app.routes = app.routes + SERVE_ROUTES
    bp = lifecycle.Blueprint("users", __name__)
    request, abort = lifecycle.request, lifecycle.abort

    @bp.route("/users", methods=["GET"])
    def list_users():
        """A page of users (?limit=, ?after= the last id seen); ?name= finds one, exactly."""
        limit, after = _page_args(request.args)
        name = request.args.get("name")
        if name is None:
            rows = helper.fetchall(
                "SELECT id, name FROM tb1 WHERE id > %s ORDER BY id LIMIT %s", after, limit
            )
        else:  # BINARY: MariaDB's `=` ignores trailing spaces ('bob' = 'bob  '); bytes do not
            rows = helper.fetchall(
                "SELECT id, name FROM tb1 WHERE BINARY name = BINARY %s AND id > %s "
                "ORDER BY id LIMIT %s",
                name, after, limit,
            )  # fmt: skip
        response = flask111.jsonify([{"id": i, "name": n} for i, n in rows])
        if len(rows) == limit:  # maybe more: where the next page starts
            query = urllib.parse.urlencode({**request.args, "after": rows[-1][0]})
            response.headers["Link"] = f'</users?{query}>; rel="next"'
        return response

    @bp.route("/users", methods=["POST"])
    def create_user():
        name = (request.form.get("name") or "").strip()  # " bob " is bob; "   " is no name
        if not name:
            abort(400, description="missing or blank form field 'name'")
        if len(name) > 64:
            abort(400, description="name is longer than 64 characters")
        if "\0" in name:
            abort(400, description="name contains a NUL character")
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return {
                "id": helper.execute("INSERT INTO tb1 (name) VALUES (%s)", name),
                "name": name,
            }, 201
        if not IDEMPOTENCY_KEY.fullmatch(key):
            abort(400, description="Idempotency-Key must be 1-64 visible ASCII characters")
        return create_user_once(helper, key, name)

    @bp.route("/users/<int:user_id>")
    def get_user(user_id):
        row = helper.fetchone("SELECT id, name FROM tb1 WHERE id = %s", user_id)
        if row is None:
            abort(404, description=f"no user {user_id}")
        return {"id": row[0], "name": row[1]}

    @bp.route("/slow")
    def slow():
        seconds = _parse_seconds(request.args.get("seconds", "0.1"))
        helper.fetchone("SELECT SLEEP(%s)", seconds)
        return {"slept": seconds}

    @bp.route("/pool")
    def show_pool():
        return sqlhelper.pool_status(helper.pool)

    @bp.route("/case")
    def hello():
        """002's 2.3 app.py, whose view reads `select * from t1` (our table is tb1), through
        06's StaticSqlHelper: its pool is 06's `db`'s, 002's module-level POOL, not this one."""
        static = sqlhelper.StaticSqlHelper
        result = static.fetch_one("select * from tb1 limit 1", [])  # not the whole table
        return {
            "StaticSqlHelper.fetch_one('select * from tb1 limit 1', [])": (
                list(result) if result else None
            ),
            "same pool as /users": static.pool() is helper.pool,
        }

    @bp.route("/connection")
    def which_connection():
        """Which server connection answered, and which process used it before (进程)."""
        pid = os.getpid()
        connection_id, last_used_by, _ = helper.fetchone(
            "SELECT CONNECTION_ID(), @used_by, @used_by := %s", pid
        )
        return {
            "pid": pid,
            "pool_opened_in": getattr(helper, "pool_pid", None),
            "connection_id": connection_id,
            "last_used_by": last_used_by,
        }

    @app.errorhandler(HTTPException)
    def json_for_json_routes(exc):
        """The database routes answer JSON, errors included; the others, 05's HTML."""
        if not request.path.startswith(JSON_ROUTES):
            return exc
        response = flask111.jsonify({"error": exc.description})
        response.status_code = exc.code
        if exc.code == 405:
            response.headers["Allow"] = exc.get_response().headers.get("Allow", "")
        return response

    @app.errorhandler(pymysql.err.Error)
    @app.errorhandler(TooManyConnectionsError)
    def database_unavailable(exc):
        if not is_connection_error(exc):
            raise exc  # a bad statement is a 500 (logged), not "unavailable"
        settings = {**mysql_settings.settings_from_env(), **helper.pool._kwargs}
        message = unavailable_in_words(exc, settings, helper.pool)
        if isinstance(exc, OutcomeUnknown) and request.method not in ("GET", "HEAD"):
            message = (
                f"outcome unknown: the write was sent and {message}: it may or may not be "
                "stored. Retry with the same Idempotency-Key header to get its result."
            )
            return flask111.jsonify({"error": message}), 503
        return flask111.jsonify({"error": f"database unavailable: {message}"}), 503

    app.register_blueprint(bp)
    return app


IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,64}")


def create_user_once(helper, key, name):
    """POST /users with an Idempotency-Key: the user and its key are stored in one
    transaction, the key unique. A retry with the same key (after a timeout whose outcome is
    unknown, say) finds the key and answers with the user stored the first time."""
    try:
        with helper as cursor:
            cursor.execute("INSERT INTO tb1 (name) VALUES (%s)", (name,))
            new_id = cursor.lastrowid
            cursor.execute(
                "INSERT INTO idempotency_keys (idem_key, user_id) VALUES (%s, %s)", (key, new_id)
            )
        return {"id": new_id, "name": name}, 201
    except pymysql.err.IntegrityError:  # the key is stored already; this transaction rolled back
        row = helper.fetchone(
            "SELECT u.id, u.name FROM idempotency_keys k JOIN tb1 u ON u.id = k.user_id "
            "WHERE k.idem_key = %s",
            key,
        )
    if row is None or row[1] != name:
        lifecycle.abort(422, description=f"Idempotency-Key {key!r} was used for another request")
    return {"id": row[0], "name": row[1]}, 201


def _page_args(args):
    """(limit, after) from ?limit= (1-1000, default 100) and ?after= (an id, default 0)."""
    limit, after = args.get("limit", "100"), args.get("after", "0")
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 1000):
        lifecycle.abort(400, description="limit must be a whole number from 1 to 1000")
    if not (after.isascii() and after.isdigit() and len(after) <= 10):
        lifecycle.abort(400, description="after must be a user id (a whole number)")
    return int(limit), int(after)


def setup_database(settings=None):
    """06's database and tb1, plus what serve stores: the keys of idempotent POSTs and the
    sessions every worker reads."""
    settings = settings or mysql_settings.settings_from_env()
    sqlhelper.setup_database(settings)
    conn = pymysql.connect(**sqlhelper.connect_kwargs(settings, with_database=False))
    try:
        with conn.cursor() as cur:
            cur.execute(  # POST /users with an Idempotency-Key: the key, and the user it made
                f"CREATE TABLE IF NOT EXISTS `{settings['database']}`.idempotency_keys ("
                "idem_key VARCHAR(64) PRIMARY KEY, user_id INT NOT NULL)"
            )
            cur.execute(  # DatabaseSessionInterface's store: one row per session id
                f"CREATE TABLE IF NOT EXISTS `{settings['database']}`.sessions ("
                "sid VARCHAR(64) PRIMARY KEY, data TEXT NOT NULL, "
                "expires_at DOUBLE NOT NULL DEFAULT 0)"
            )
            cur.execute(  # a sessions table made before sessions expired: add the column
                "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                "AND TABLE_NAME = 'sessions' AND COLUMN_NAME = 'expires_at'",
                (settings["database"],),
            )
            if not cur.fetchone()[0]:
                cur.execute(
                    f"ALTER TABLE `{settings['database']}`.sessions "
                    "ADD COLUMN expires_at DOUBLE NOT NULL DEFAULT 0"
                )
        conn.commit()
    finally:
        conn.close()


def setup_or_exit(helper):
    """The database and tables, created where the helper's pool will connect; else one line
    and exit status 3, gunicorn's "worker failed to boot": its master then stops, instead of
    forking new workers that fail the same way for ever."""
    try:
        settings = helper.pool_options.get("settings") or mysql_settings.settings_or_exit(PROG)
        sqlhelper.check_database(settings, None, PROG, setup_database)
    except SystemExit as exc:
        print(exc.code, file=sys.stderr, flush=True)
        raise SystemExit(3) from None


def _parse_seconds(text):
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= 1:
        lifecycle.abort(400, description="seconds must be a number from 0 to 1")
    return seconds + 0.0  # -0 is 0.0, not -0.0


def _say(line):
    print(f"{PROG}: {line}", file=sys.stderr, flush=True)


# ==========================================================================================
# serve's sessions and answers, for more than one process: a store every worker can read
# ==========================================================================================
# Under gunicorn (进程 below): 07's 自定义session with its store in MariaDB, and an X-Worker-Pid
# header on every answer, so a test can tell which worker answered.


def answered_by_header(app):
    """Every answer says which process gave it: X-Worker-Pid."""

    @app.after_request
    def add_pid(response):
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response


class DatabaseSessionInterface(basics.ServerSideSessionInterface):
    """07's 自定义session with its store in MariaDB (table sessions), through the pool: what
    one worker saves, the next request's worker loads. Expired rows are not loaded, and every
    `sweep_every`-th save deletes them."""

    sweep_every = 100

    def __init__(self, helper):
        self.helper = helper
        self.saves = itertools.count(1)

    def load(self, sid):
        row = self.helper.fetchone(
            "SELECT data FROM sessions WHERE sid = %s AND expires_at > %s", sid, time.time()
        )
        return None if row is None else json.loads(row[0])

    def save(self, sid, data, expires=None):
        self.helper.execute(
            "INSERT INTO sessions (sid, data, expires_at) VALUES (%s, %s, %s) "
            "ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at)",
            sid,
            json.dumps(data),
            self.default_expiry() if expires is None else expires,
        )
        if next(self.saves) % self.sweep_every == 0:
            self.delete_expired()

    def delete(self, sid):
        self.helper.execute("DELETE FROM sessions WHERE sid = %s", sid)

    def delete_expired(self):
        with self.helper as cursor:
            return cursor.execute("DELETE FROM sessions WHERE expires_at <= %s", (time.time(),))


SESSION_STORES = {
    "cookie": "05's SecureCookieSessionInterface: the data, signed, in the cookie",
    "memory": "07's ServerSideSessionInterface: in this process's memory",
    "mariadb": "DatabaseSessionInterface: in MariaDB, through the pool",
}


def session_interface(store, helper):
    if store == "cookie":
        return lifecycle.SecureCookieSessionInterface()
    if store == "memory":
        return basics.ServerSideSessionInterface()
    if store == "mariadb":
        return DatabaseSessionInterface(helper)
    raise ValueError(f"sessions={store!r} is not one of {', '.join(SESSION_STORES)}")


# ==========================================================================================
# 协程 and the ident, on a real server (after the notes: gunicorn -k gevent)
# ==========================================================================================
# A gevent worker serves every request in one OS thread, each in its own greenlet. The notes'
# `try: from greenlet import getcurrent as get_ident` is what keeps their contexts apart there.

IDENT_STRATEGIES = {
    "thread": "threading.get_ident: the OS thread",
    "greenlet": "greenlet.getcurrent: 03's get_ident, the notes' 协程 line",
    "contextvar": "a number kept in a ContextVar: one per thread, greenlet or asyncio task",
}
CONTEXT_STACKS = (localproxy._request_ctx_stack, localproxy._app_ctx_stack)  # 04's two


def use_ident(strategy):
    """Key 04's two context stacks (the ones 05 pushes on) by `strategy`, for this process.

    Werkzeug 1.0.1's own switch does it: LocalManager(locals, ident_func=...) gives every
    Local the function that names the current ident. Nothing is patched: not threading, not
    the stacks' modules."""
    if strategy not in IDENT_STRATEGIES:
        raise ValueError(f"ident {strategy!r} is not one of {', '.join(IDENT_STRATEGIES)}")
    if strategy == "thread":
        # gevent's worker patches threading.get_ident to answer the greenlet; the OS thread's
        # ident is the original.
        ident = _os_thread_ident()
    elif strategy == "greenlet":
        ident = localstack.get_ident
    else:
        ident = context_ident
    localstack.LocalManager(list(CONTEXT_STACKS), ident_func=ident)


def _os_thread_ident():
    from gevent.monkey import get_original

    return get_original("_thread", "get_ident")


_context_number = ContextVar("08_deploy.context_number")
_numbers = itertools.count(1)


def context_ident():
    """The current context's number, given the first time it asks. A new thread or greenlet
    starts with an empty context, and every asyncio task with a copy of its creator's: so
    each gets a number of its own, as long as its creator never asked for one. (A task
    started by a context that has a number shares it; Flask >= 2.2 puts the stack itself in
    a ContextVar instead, 03's ContextVarLocalStack, and has no idents at all.)"""
    try:
        return _context_number.get()
    except LookupError:
        number = next(_numbers)
        _context_number.set(number)
        return number


def create_ident_app(ident="greenlet"):
    """05's demo app with its stacks keyed by `ident`, plus /together. For example:
    gunicorn -k gevent '08_deploy:create_ident_app("thread")'"""
    use_ident(ident)
    app = serving.use_secret_key(lifecycle.create_app(), say=_say)
    # Without 05's recorder: it watches one request per OS thread and reads LocalStack storage.
    watching.unwatch(app)
    app.routes = app.routes + [("/together?value=hi&n=1", "wait for n requests, then answer")]
    answered_by_header(app)
    request = lifecycle.request

    @app.route("/together")
    def together():
        """n requests meet here, each inside its own request context, before any reads it."""
        n = request.args.get("n", "1")
        if not (n.isascii() and n.isdigit() and 1 <= int(n) <= 1000):
            lifecycle.abort(400, description="n must be a whole number from 1 to 1000")
        if not _meet(int(n), timeout=10):
            lifecycle.abort(503, description=f"fewer than {n} requests arrived within 10 s")
        return request.args.get("value", ""), {"Content-Type": "text/plain; charset=utf-8"}

    return app


_meetings, _meetings_lock = {}, threading.Lock()


def _meet(n, timeout):
    """Wait until n callers are here (threads, or greenlets where gevent patched threading)."""
    with _meetings_lock:
        barrier = _meetings.setdefault(n, threading.Barrier(n))
    try:
        barrier.wait(timeout)
        return True
    except threading.BrokenBarrierError:
        with _meetings_lock:
            if _meetings.get(n) is barrier:
                del _meetings[n]  # the next group gets a fresh one
        return False


def asyncio_ident_race(strategy, n=100):
    """n asyncio tasks, each in its own request context, meet at a barrier and then read
    request.args['value']: {'own': k, "another's": k, 'error': k}. All tasks run in one OS
    thread and one greenlet, so only the ContextVar tells them apart."""
    app = lifecycle.Flask(__name__)

    async def one(i, barrier):
        value, popped = None, True
        try:
            with app.test_request_context(f"/together?value={i}"):
                await barrier.wait()
                value = lifecycle.request.args["value"]
        except AssertionError:  # "Popped wrong request context."
            popped = False
        if value != str(i):
            return "another's"
        return "own" if popped else "error"

    async def race():
        barrier = asyncio.Barrier(n)
        return await asyncio.gather(*(one(i, barrier) for i in range(n)))

    use_ident(strategy)
    try:
        return Counter(asyncio.run(race()))
    finally:
        use_ident("greenlet")


# ==========================================================================================
# 进程: one pool per worker process, opened after the fork
# ==========================================================================================
# gunicorn -w W forks W worker processes. Each has its own `db` and so its own pool: the
# server sees up to W x maxconnections connections from the app, so
#     server max_connections >= W x maxconnections + headroom (admin, cron, migrations).
# A pool opened before the fork (002's module-level POOL under `gunicorn --preload`) is in
# every worker at once: W processes talking on the same sockets. ServingSqlHelper.pool opens a
# new one in each process instead; InheritedPoolSqlHelper below keeps the inherited one, to
# show why.
# The sessions every worker can read (DatabaseSessionInterface) are serve's, above.


class InheritedPoolSqlHelper(ServingSqlHelper):
    """What a pool opened before the fork does: every worker uses the parent's connections."""

    def needs_own_pool(self):
        return self.pool_pid is None  # opened once, wherever: forked workers keep it


def create_app_with_pool_opened_now(per_process=True):
    """The app with a one-connection pool opened right here, as 002's module-level
    `POOL = PooledDB(...)` is at import; under `gunicorn --preload` that is the master,
    before the fork. per_process=False keeps using that pool in every worker."""
    helper_class = ServingSqlHelper if per_process else InheritedPoolSqlHelper
    helper = helper_class(
        settings=mysql_settings.settings_or_exit(PROG), maxconnections=1, mincached=1
    )
    setup_or_exit(helper)
    helper.pool  # noqa: B018  (opened now, in this process)
    return create_serve_app(helper)


# ==========================================================================================
# Demo — a write whose answer never came; the ident each way, under asyncio
# ==========================================================================================


def demo_asyncio_idents():
    print()
    print("== 协程: 100 asyncio tasks on one thread, each in a request context of its own, meet")
    print("   at a barrier, then read request.args['value'] (own: their own value) ==")
    for strategy, meaning in IDENT_STRATEGIES.items():
        outcomes = dict(sorted(asyncio_ident_race(strategy, 100).items()))
        print(f"{strategy:<10} {meaning}")
        print(f"{'':<10} -> {outcomes}")
    print("-> tasks share the thread and the greenlet: only a ContextVar keeps them apart.")
    print("   Under gunicorn: python bench/bench_deploy.py (docs/beyond-one-process.md)")


def demo_ambiguous_write(helper, settings):
    """After the notes: a write whose answer never came, and what an idempotency key does."""
    print("== beyond the notes: a write that timed out is ambiguous; an idempotency key ==")
    name, keyed, key = f"ambiguous-{uuid.uuid4().hex[:8]}", f"keyed-{uuid.uuid4().hex[:8]}", None
    try:
        key = show_the_ambiguous_write(helper, settings, name, keyed)
    finally:  # the demo leaves the tables as it found them
        helper.execute("DELETE FROM idempotency_keys WHERE idem_key = %s", key)
        helper.execute("DELETE FROM tb1 WHERE name IN (%s, %s)", name, keyed)


def show_the_ambiguous_write(helper, settings, name, keyed):
    """demo_ambiguous_write's steps, on rows named `name` and `keyed`; returns the key used."""
    conn = pymysql.connect(
        **dict(sqlhelper.connect_kwargs(settings), read_timeout=0.5), autocommit=True
    )
    connection_id = conn.thread_id()
    try:
        with conn.cursor() as cur:  # the statement takes 1 s; the client waits 0.5 s
            cur.execute(
                "INSERT INTO tb1 (name) SELECT %s FROM (SELECT SLEEP(1)) AS slow_server", (name,)
            )
    except pymysql.err.OperationalError as exc:
        print(f"INSERT sent, no answer in 0.5 s -> {sqlhelper.describe(exc)}")
    finally:
        conn.close()
    _wait_until_gone(helper, connection_id)  # the server finishes what it was doing first
    count = helper.fetchone("SELECT COUNT(*) FROM tb1 WHERE name = %s", name)[0]
    print(f"yet the server finished it: {count} row. Stored or not, the client could not know")
    helper.execute("INSERT INTO tb1 (name) VALUES (%s)", name)
    count = helper.fetchone("SELECT COUNT(*) FROM tb1 WHERE name = %s", name)[0]
    print(f"so a blind retry stores it twice: {count} rows")
    key = uuid.uuid4().hex
    first, retry = (create_user_once(helper, key, keyed)[0] for _ in range(2))
    count = helper.fetchone("SELECT COUNT(*) FROM tb1 WHERE name = %s", keyed)[0]
    print("with a key stored beside the row, unique, in the same transaction (create_user_once):")
    print(f"  the retry finds the key -> the first answer again: {retry == first}; {count} row")
    print("-> POST /users takes an Idempotency-Key header; a 503 after the write was sent says")
    print("   'outcome unknown', and a retry with the same key returns the first result")
    return key


def _wait_until_gone(helper, connection_id, timeout=10):
    """Until the server has finished with a connection the client closed."""
    deadline = time.monotonic() + timeout
    while (
        time.monotonic() < deadline
        and helper.fetchone(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s", connection_id
        )[0]
    ):
        time.sleep(0.05)


def _maxconnections(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    try:
        sqlhelper.check_pool_settings(value, 0)
    except sqlhelper.PoolSettingsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def build_parser():
    parser = cli.ArgumentParser(
        prog="08_deploy.py",
        description="A write whose answer never came and the ident under asyncio, narrated "
        "(the default), or 05's demo app served with database routes on one pool (serve).",
        epilog=mysql_settings.SETTINGS_HELP,
    )
    commands = parser.add_subparsers(dest="command", metavar="{demo,serve}")
    commands.add_parser(
        "demo", help="the narration (the default)", epilog=mysql_settings.SETTINGS_HELP
    )
    serve_parser = commands.add_parser(
        "serve",
        help="serve 05's demo app plus /users, /slow, /pool and /case",
        description="Serve 05's demo app plus /users, /slow, /pool and /case, all on one pool.",
        epilog=mysql_settings.SETTINGS_HELP,
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve_parser.add_argument(  # 05 has 5000 and 09 5009: all three can run at once
        "--port", type=cli.port, default=5008, help="port to listen on (default: %(default)s)"
    )
    serve_parser.add_argument(
        "--maxconnections",
        type=_maxconnections,
        default=sqlhelper.MAXCONNECTIONS,
        help="the most connections the pool opens at once "
        f"(>= 1; default {sqlhelper.MAXCONNECTIONS})",
    )
    serve_parser.add_argument(
        "--nonblocking",
        action="store_true",
        help="answer 503 when every connection is in use, instead of waiting for one",
    )
    sections.add_arguments(parser)
    return parser


def serve(args):
    try:  # first: a port in use is one line, before the database is touched
        serving.check_port(args.host, args.port)
    except serving.CannotListen as exc:
        sys.exit(f"{PROG}: {exc}")
    settings = mysql_settings.settings_or_exit(PROG)
    # One pool for the process: `db` serves the routes.
    helper = db
    helper.configure(
        settings=settings,
        maxconnections=args.maxconnections,
        # All of them now: DBUtils opens connections under its pool lock, one at a time, which
        # during an outage would queue every request behind one slow handshake.
        mincached=args.maxconnections,
        blocking=not args.nonblocking,
        **SERVE_POOL,
    )
    sqlhelper.check_database(settings, helper, PROG, setup_database)
    try:
        server = serving.bind(args.host, args.port, create_serve_app(helper))
    except serving.CannotListen as exc:
        sys.exit(f"{PROG}: {exc}")
    print(
        f"08_deploy: serving {serving.url_of(args.host, args.port)} with MySQL at "
        f"{settings['host']}:{settings['port']}/{settings['database']}",
        flush=True,
    )
    # Ctrl-C: no new requests, the ones in flight finish, then the pool closes: in this order,
    # no thread is left holding a connection while the interpreter shuts down.
    serving.serve(server, on_stop=helper.pool.close)


SECTIONS = sections.registry(
    sections.Section(
        "ambiguous_write",
        lambda settings: demo_ambiguous_write(db, settings),
        OutcomeUnknown, create_user_once, show_the_ambiguous_write, demo_ambiguous_write,
        heading="### Beyond the notes: a write whose answer never came, and an idempotency key",
        call="demo_ambiguous_write(deploy.db, deploy.ready_database())",
    ),
    sections.Section(
        "asyncio_idents",
        demo_asyncio_idents,
        use_ident, context_ident, asyncio_ident_race,
        heading="### Beyond the notes: 协程, asyncio tasks keyed by thread, greenlet or ContextVar",
        needs_context=False,
    ),
)  # fmt: skip


def ready_database():
    """The settings, with the database and its tables ready (or one line naming 08)."""
    settings = mysql_settings.settings_or_exit(PROG)
    sqlhelper.check_database(settings, db, PROG, setup_database)
    return settings


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "serve":
        return serve(args)

    if not sections.wanted(args):  # which server: one on 3306 would be used without a word
        settings = ready_database()
        print(
            f"MySQL at {settings['host']}:{settings['port']}, database {settings['database']!r}\n"
        )
    sections.run(SECTIONS, args, parser, ready_database)


if __name__ == "__main__":
    cli.run(main, "08_deploy.py")
