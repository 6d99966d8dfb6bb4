"""06 — a pooled SqlHelper on DBUtils + PyMySQL, against a real MariaDB.

Notes: 000/001 扩展 SQLhelper (方式一, 方式二, and 001's note on why 方式一 keeps a per-thread
stack); 002 数据库连接池 (示例1–3, 模式一 PersistentDB, 模式二 PooledDB, 2.3 实际开发小应用案例).

Over 05 this adds a database (05's Flask only runs 002's views). The same idea as 03's LocalStack
returns: `with db as cur:` takes a connection from a PooledDB and pushes (conn, cursor) on a
`threading.local` stack, so one shared `db` serves every thread and nested `with` blocks each
get their own connection. Beside it: OwnConnectionSqlHelper (方式二), note 002's static
SQLHelper (StaticSqlHelper here), and the three ways note 002 argues against — a connection per
call, one global connection, one global connection under a lock — as strategies: the demo runs
each (示例1–3), bench/bench_pool.py times them side by side.

Settings: MYSQL_HOST=127.0.0.1 MYSQL_PORT=3306 MYSQL_USER=root MYSQL_PASSWORD= MYSQL_DATABASE=
pooldb (the database and table tb1 are created if missing; `python -m instruments.private_db`
starts a server of your own). Run: python 06_sqlhelper.py     the narrated demo
Test: python -m pytest tests/test_06_sqlhelper.py tests/test_08_misuse.py
"""

import functools
import importlib
import sys
import threading
import uuid

try:
    import pymysql

    # The notes import DBUtils.PooledDB / DBUtils.PersistentDB: DBUtils 2.0 renamed the modules.
    from dbutils.persistent_db import PersistentDB
    from dbutils.pooled_db import PooledDB, TooManyConnectionsError
    from pymysql.constants import COMMAND

    MISSING = None  # else the package to install
except ImportError as exc:  # 01-05 run on Werkzeug alone. Importing 06 connects to nothing, so
    # it works without them too; the first connection (or the demo) says what to do.
    MISSING = exc.name.split(".")[0]
    pymysql = PersistentDB = PooledDB = TooManyConnectionsError = COMMAND = None

from werkzeug.test import Client

from instruments import cli, mysql_settings, sections, server_count
from instruments.mysql_settings import SETTINGS_HELP, settings_from_env, settings_or_exit

lifecycle = importlib.import_module("05_lifecycle")  # 002's examples are views of a Flask app

# ==========================================================================================
# Settings — MYSQL_* from the environment (instruments/mysql_settings.py reads them)
# ==========================================================================================


def missing_in_words(prog="06_sqlhelper.py"):
    return f"{prog} needs {MISSING}: pip install -r requirements.txt"


def connect_kwargs(settings=None, with_database=True):
    """What every connection in this file passes to pymysql.connect."""
    if MISSING:
        raise ImportError(missing_in_words())
    settings = settings or settings_from_env()
    kwargs = dict(
        settings,
        charset="utf8mb4",
        # A database that hangs must cost a request seconds, not minutes. DBUtils retries a
        # failed statement once on a new connection, whose handshake waits read_timeout too:
        # about 2 + 2 s in all. read_timeout must stay above /slow's 1 s.
        connect_timeout=2,
        read_timeout=2,
        write_timeout=2,
        # PyMySQL >= 1.2 builds a TLS context on every connect (~17 ms of CPU) when
        # the server offers TLS; a local server does not need it.
        ssl_disabled=True,
    )
    if not with_database:
        kwargs.pop("database", None)
    return kwargs


def describe(exc, connecting=False):
    """A database error in one line; a 2013 while connecting lost no query: said as it was."""
    if connecting and isinstance(exc, pymysql.err.Error) and exc.args[:1] == (2013,):
        return "(2013) the server closed the connection before MySQL's greeting (is it MySQL?)"
    if isinstance(exc, pymysql.err.Error) and len(exc.args) == 2:
        return f"({exc.args[0]}) {exc.args[1]}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def setup_database(settings=None):
    """CREATE DATABASE / TABLE tb1 if missing. Names are identifiers, checked by settings."""
    settings = settings or settings_from_env()
    conn = pymysql.connect(**connect_kwargs(settings, with_database=False))
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"CREATE DATABASE IF NOT EXISTS `{settings['database']}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS `{settings['database']}`.tb1 ("
                "id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL)"
            )
        conn.commit()
    finally:
        conn.close()


# ==========================================================================================
# 模式二 PooledDB — create_pool (the pool every helper below shares)
# ==========================================================================================


class PoolSettingsError(ValueError):
    """Pool settings DBUtils would take but that cannot work; the message says which."""


def check_pool_settings(maxconnections, mincached):
    if maxconnections is None or maxconnections < 1:
        raise PoolSettingsError(
            f"maxconnections={maxconnections} means no limit at all in DBUtils, which is what "
            "a pool is for: give a number >= 1"
        )
    if mincached and mincached > maxconnections:
        raise PoolSettingsError(
            f"mincached={mincached} is more than maxconnections={maxconnections}: the pool "
            "could never open them (lower mincached or raise maxconnections)"
        )


MAXCONNECTIONS = 6  # create_pool's default, and 08's serve's


def create_pool(settings=None, pool_class=None, **overrides):
    """PooledDB(creator=pymysql, maxconnections=6, ...), every argument by keyword
    (DBUtils 3.2 inserted a positional parameter, so positions are not safe). 08 passes its
    own pool_class, a PooledDB whose borrowers stop waiting."""
    options = dict(
        creator=pymysql,
        maxconnections=MAXCONNECTIONS,  # at most 6 connections checked out at once
        mincached=2,  # opened when the pool is created
        maxcached=0,  # keep every returned connection (0 = no limit; below 6 causes churn)
        maxshared=0,  # PyMySQL's threadsafety is 1: connections are never shared anyway
        blocking=True,  # wait for a free connection instead of raising
        # No ping as a connection leaves the pool: DBUtils pings (and opens connections) while
        # holding the pool's lock, so one hung ping would hold every checkout. A statement that
        # finds its connection dead is retried on a new one instead, which survives a restart.
        ping=0,
        reset=True,  # ROLLBACK whatever a borrower left open
        **connect_kwargs(settings),
    )
    options.update(overrides)
    # With blocking=True, PooledDB(mincached > maxconnections) waits for ever in its constructor.
    check_pool_settings(options["maxconnections"], options["mincached"])
    return (pool_class or PooledDB)(**options)


def pool_status(pool):
    """What DBUtils keeps privately: the limit, connections checked out, and idle ones."""
    return {
        "maxconnections": pool._maxconnections,
        "in_use": pool._connections,
        "idle": len(pool._idle_cache),
    }


# ==========================================================================================
# 扩展 SQLhelper 方式一 — one shared `db`, a per-thread stack of (conn, cursor)
# ==========================================================================================


class SqlHelper:
    """扩展 SQLhelper 方式一 (notes 000/001): one shared `db`, a per-thread stack of connections.

    `with db as cur:` — one instance for the whole program, safe in every thread.

    storage = {thread: {"stack": [(conn, cursor), ...]}}: each `with` pushes its own pair, so a
    nested `with db as c2:` gets a second connection and each __exit__ returns its own.
    """

    def __init__(self, pool=None, **pool_options):
        self.opened_pool = pool
        self.pool_options = pool_options  # for create_pool, when no pool is given
        self.pool_lock = threading.Lock()
        self.local = threading.local()

    def configure(self, **pool_options):
        """Set the pool's options (settings=..., maxconnections=...) before its first use."""
        if self.opened_pool is not None:
            raise RuntimeError("the pool exists already; configure the helper before using it")
        self.pool_options = pool_options

    @property
    def pool(self):
        """Created on first use: importing this file connects to nothing."""
        if self.opened_pool is None:
            with self.pool_lock:
                if self.opened_pool is None:
                    self.opened_pool = create_pool(**self.pool_options)
        return self.opened_pool

    def open(self):
        conn = self.pool.connection()
        return conn, conn.cursor()

    @staticmethod
    def close(conn, cursor):
        # Fixed: the notes defined close(cursor, conn) but called close(conn, cursor).
        try:
            cursor.close()
        finally:
            conn.close()  # a pooled connection goes back to the pool, it is not closed

    def __enter__(self):
        conn, cursor = self.open()
        stack = getattr(self.local, "stack", None)
        if stack is None:
            self.local.stack = stack = []
        stack.append((conn, cursor))
        return cursor

    def __exit__(self, exc_type, exc, tb):
        conn, cursor = self.local.stack.pop()
        try:  # fixed: the notes never commit, and the pool rolls back what is left open
            if exc_type is None:
                conn.commit()
            else:
                rollback_quietly(conn)  # the original exception is the one worth seeing
        finally:
            self.close(conn, cursor)

    def fetchall(self, sql, *args):
        with self as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()

    def fetchone(self, sql, *args):
        with self as cursor:
            cursor.execute(sql, args)
            return cursor.fetchone()

    def execute(self, sql, *args):
        """Run a write and commit it; returns the new AUTO_INCREMENT id, if any."""
        with self as cursor:
            cursor.execute(sql, args)
            return cursor.lastrowid


def rollback_quietly(conn):
    try:
        conn.rollback()
    except Exception:  # the connection is broken; the pool's reset and ping deal with it
        pass


db = SqlHelper()  # 方式一's one shared `db`; StaticSqlHelper (2.3) reads its pool too


class SharedInstanceSqlHelper(SqlHelper):
    """What 001 warns against: self.conn / self.cursor on the one shared instance.

    A nested `with` overwrites the outer pair. Nothing refers to the outer connection any more,
    so CPython collects it and DBUtils returns it to the pool while its cursor is still in use.
    """

    def __enter__(self):
        self.conn, self.cursor = self.open()
        return self.cursor

    def __exit__(self, exc_type, exc, tb):
        self.close(self.conn, self.cursor)


class NotesSqlHelper(SqlHelper):
    """方式一 exactly as in the notes. __enter__/__exit__ never commit: PyMySQL starts every
    connection with autocommit off, and PooledDB(reset=True) rolls back what a borrower left
    open when the connection goes back, so a write made here is gone. close() is declared
    (cursor, conn) and called (conn, cursor)."""

    def close(self, cursor, conn):
        cursor.close()
        conn.close()

    def fetchall(self, sql, *args):
        conn, cursor = self.open()
        cursor.execute(sql, args)
        result = cursor.fetchall()
        self.close(conn, cursor)
        return result

    def __enter__(self):
        conn, cursor = self.open()
        rv = getattr(self.local, "stack", None)
        if not rv:
            self.local.stack = [(conn, cursor)]
        else:
            rv.append((conn, cursor))
            self.local.stack = rv
        return cursor

    def __exit__(self, exc_type, exc_val, exc_tb):
        rv = getattr(self.local, "stack", None)
        if not rv:
            return
        conn, cursor = self.local.stack.pop()
        cursor.close()
        conn.close()


# ==========================================================================================
# 扩展 SQLhelper 方式二 — each instance holds its own connection
# ==========================================================================================


class OwnConnectionSqlHelper:
    """扩展 SQLhelper 方式二 (notes 000/001): each instance holds its own connection.

    `with OwnConnectionSqlHelper() as cur:` — a new object per use, so no stack is needed."""

    def __init__(self, pool=None):
        self.pool = pool or db.pool
        self.conn = None
        self.cursor = None

    def __enter__(self):
        self.conn = self.pool.connection()
        self.cursor = self.conn.cursor()
        return self.cursor

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.conn.commit()
            else:
                rollback_quietly(self.conn)
        finally:
            SqlHelper.close(self.conn, self.cursor)


# ==========================================================================================
# 2.3 实际开发小应用案例 — db_helper.SQLHelper with static methods (StaticSqlHelper here)
# ==========================================================================================


class StaticSqlHelper:
    """Note 002's 2.3 db_helper.SQLHelper: static fetch_one / fetch_all on the one pool (db's).
    (Named apart from 方式一's SqlHelper here; the notes call it SQLHelper.)"""

    @staticmethod
    def fetch_one(sql, args=()):
        return StaticSqlHelper._fetch(sql, args, "fetchone")

    @staticmethod
    def fetch_all(sql, args=()):  # fixed: the notes wrote fetch_all(self, sql, args)
        return StaticSqlHelper._fetch(sql, args, "fetchall")

    @staticmethod
    def pool():
        return db.pool

    @staticmethod
    def _fetch(sql, args, method):
        conn = StaticSqlHelper.pool().connection()
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, args)
                return getattr(cursor, method)()
        finally:
            try:
                conn.rollback()  # end the read's transaction: 08's served pool does not
            finally:
                conn.close()


class NotesStaticSqlHelper:
    """002's 2.3 fetch_all as written: `self` is left in under @staticmethod."""

    @staticmethod
    def fetch_all(self, sql, args):
        return StaticSqlHelper.fetch_all(sql, args)


# ==========================================================================================
# 02 在web中使用原生sql — 示例1, 示例2, 示例3, 模式一, 模式二 as strategies
# ==========================================================================================


class ConnectPerCall:
    """示例1: connect in every view — every request pays a connect, the server sees them all."""

    name = "connect per call"

    def __init__(self, **kwargs):
        self.kwargs = {**connect_kwargs(), **kwargs}

    def query(self, sql, args=()):
        conn = pymysql.connect(**self.kwargs)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()
        finally:
            conn.close()

    def close(self):
        pass


class GlobalConnection:
    """示例2: one connection for all threads — unsafe: PyMySQL's threadsafety is 1."""

    name = "global connection, no lock"

    def __init__(self, **kwargs):
        self.conn = pymysql.connect(**{**connect_kwargs(), "autocommit": True, **kwargs})

    def query(self, sql, args=()):
        with self.conn.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()

    def close(self):
        try:
            self.conn.close()
        except pymysql.err.Error:
            pass  # a connection a race already broke


def crossed_answers(settings=None):
    """示例2's failure, step by step on one connection: user A sends a query and, before A
    reads its answer, user B sends one on the same socket (what two threads do when they share
    a connection). MySQL answers in order, so whoever reads first gets A's answer.
    Returns (what B read, what A read)."""
    conn = pymysql.connect(**connect_kwargs(settings))
    try:
        conn._execute_command(COMMAND.COM_QUERY, "SELECT 'the answer to A'")  # A sends
        conn._execute_command(COMMAND.COM_QUERY, "SELECT 'the answer to B'")  # B sends
        conn._read_query_result()  # B reads first
        read_by_b = conn._result.rows[0][0]
        conn._next_seq_id = 1  # A reads as if alone: it sent with sequence 0, as B did
        conn._read_query_result()  # then A
        return read_by_b, conn._result.rows[0][0]
    finally:
        conn.close()


class LockedGlobalConnection(GlobalConnection):
    """示例3: the same under one lock — correct, but every query waits for the one before."""

    name = "global connection + lock"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Fixed: the notes wrote `with threading.Lock():` in the view — a new lock per
        # request, which locks nothing. All threads must share one lock.
        self.lock = threading.Lock()

    def query(self, sql, args=()):
        with self.lock:
            return super().query(sql, args)


class PersistentStrategy:
    """模式一 PersistentDB: one connection per thread, kept for the thread's life."""

    name = "PersistentDB"

    def __init__(self, **kwargs):
        self.pool = PersistentDB(
            creator=pymysql,
            maxusage=None,
            setsession=[],
            ping=0,
            closeable=False,
            threadlocal=threading.local,
            **{**connect_kwargs(), "autocommit": True, **kwargs},
        )

    def query(self, sql, args=()):
        conn = self.pool.connection()
        with conn.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()

    def close(self):
        """Close the calling thread's connection; other threads' close when those threads end
        (with threadlocal=threading.local; DBUtils' default local waits for garbage collection)."""
        conn = getattr(self.pool.thread, "connection", None)
        if conn is not None:
            conn._close()  # with closeable=False, conn.close() is deliberately a no-op
            del self.pool.thread.connection


class PooledStrategy:
    """模式二 PooledDB: at most `maxconnections` connections, shared by all threads in turn."""

    name = "PooledDB"

    def __init__(self, **overrides):
        self.pool = create_pool(**{"autocommit": True, **overrides})

    def query(self, sql, args=()):
        with self.pool.connection() as conn:
            with conn.cursor() as cursor:
                cursor.execute(sql, args)
                return cursor.fetchall()

    def close(self):
        self.pool.close()


class SqlHelperStrategy(PooledStrategy):
    """方式一's SqlHelper on the same kind of pool (what the pool costs through the helper)."""

    name = "SqlHelper"

    def __init__(self, **overrides):
        super().__init__(**overrides)
        self.helper = SqlHelper(self.pool)

    def query(self, sql, args=()):
        return self.helper.fetchall(sql, *args)


# ==========================================================================================
# Starting — the database is there and set up, or one line says why not
# ==========================================================================================


def check_database(settings, helper, prog="06_sqlhelper.py", setup=setup_database):
    """At start: reach the server, create the database and table (`setup`), or exit with one
    line that begins with `prog`, the script the reader ran."""
    if MISSING:
        sys.exit(missing_in_words(prog))
    where = f"{settings['host']}:{settings['port']}"
    try:
        setup(settings)
        if helper is not None:
            helper.fetchone("SELECT 1")
    except (pymysql.err.Error, TooManyConnectionsError) as exc:
        reason = f"cannot use MySQL at {where} as {settings['user']!r}: {describe(exc, True)}"
        sys.exit(f"{prog}: {reason}; {mysql_settings.NO_SERVER}")


# ==========================================================================================
# Demo — the notes' database sections, in order, against the configured server
# ==========================================================================================


def ready_database(prog="06_sqlhelper.py"):
    """The settings, with the database and its table ready (or one line naming `prog`)."""
    settings = settings_or_exit(prog)
    check_database(settings, db, prog)
    return settings


def connection_id(cursor):
    cursor.execute("SELECT CONNECTION_ID()")
    return cursor.fetchone()[0]


def demo_imports_then_and_now():
    """002 数据库连接池: the notes' imports (DBUtils.PooledDB, MySQLdb), run today"""
    print("== 002 数据库连接池: the notes' imports, run today ==")
    try:
        importlib.import_module("DBUtils.PooledDB")
    except ImportError as exc:
        print(f"from DBUtils.PooledDB import PooledDB -> {type(exc).__name__}: {exc}")
    print("  DBUtils 2.0 renamed its modules: from dbutils.pooled_db import PooledDB")
    try:
        importlib.import_module("MySQLdb")
        where = "installed here"
    except ImportError:
        where = "not installed here"
    print(f"002 says MySQLdb supports only Python 2: MySQLdb is {where}, and its fork")
    print("  mysqlclient provides it on Python 3 (a C extension); PyMySQL is pure Python")
    print()


def demo_sqlhelper_way_one(helper):
    """扩展 SQLhelper 方式一: one shared db, a per-thread stack of (conn, cursor)"""
    print("== 扩展 SQLhelper 方式一: one shared db, a per-thread stack of (conn, cursor) ==")
    print(f"pool created on first use: {pool_status(helper.pool)}")
    print(f"db.fetchone('SELECT %s', 'hello') -> {helper.fetchone('SELECT %s', 'hello')}")
    name = ConnectionNames()
    with helper as c1:
        id1 = connection_id(c1)
        with helper as c2:
            id2 = connection_id(c2)  # fixed: the notes ran c1.execute in the inner block
            print(
                f"nested: c1 on connection {name(id1)}, c2 on connection {name(id2)}; "
                f"this thread's stack holds {len(helper.local.stack)} pairs; "
                f"pool {pool_status(helper.pool)}"
            )
        print(f"inner with returned its connection; c1 still works: {connection_id(c1) == id1}")
    print(f"both returned: pool {pool_status(helper.pool)}")
    marker = f"rolled-back-{uuid.uuid4().hex[:8]}"
    try:
        with helper as cur:
            cur.execute("INSERT INTO tb1 (name) VALUES (%s)", (marker,))
            raise ValueError("something failed after the INSERT")
    except ValueError as exc:
        print(
            f"exception inside with ({exc}) -> rollback; row kept: "
            f"{helper.fetchone('SELECT COUNT(*) FROM tb1 WHERE name = %s', marker)[0]}; "
            f"pool {pool_status(helper.pool)}"
        )
    shared = SharedInstanceSqlHelper(helper.pool)
    with shared as c1:
        outer_id = connection_id(c1)
        with shared:
            pass  # the inner __enter__ overwrote self.conn: nothing refers to the outer one
        lost = pool_status(helper.pool)
        with helper as someone_else:
            other_id = connection_id(someone_else)
    print(
        f"001's warning, self.conn on the shared instance: after the nested with the pool says "
        f"{lost} while c1 (connection {name(outer_id)}) is still in use; the next checkout "
        f"got connection {name(other_id)}{' — the same one' if other_id == outer_id else ''}"
    )


def demo_commit_semantics(helper):
    """方式一: the notes' helpers never commit; DBUtils' reset=True rolls the write back"""
    print()
    print("== the notes' helpers never commit: with DBUtils' reset=True a write is rolled back ==")
    for label, who in (("the notes' 方式一", NotesSqlHelper(helper.pool)), ("ours", helper)):
        marker = f"commit-{uuid.uuid4().hex[:8]}"
        with who as cur:
            cur.execute("INSERT INTO tb1 (name) VALUES (%s)", (marker,))
        kept = helper.fetchone("SELECT COUNT(*) FROM tb1 WHERE name = %s", marker)[0]
        print(
            f"{label:<17} INSERT inside `with`, then look from another connection: "
            f"{kept} row{'' if kept == 1 else 's'}"
        )
        helper.execute("DELETE FROM tb1 WHERE name = %s", marker)  # tb1 as it was found


def demo_way_one_as_written(helper):
    """方式一 as the notes write it: close(self, cursor, conn), called close(conn, cursor)"""
    print()
    print(
        "== 方式一 as the notes write it: close(self, cursor, conn), called close(conn, cursor) =="
    )
    notes = NotesSqlHelper(helper.pool)
    result = notes.fetchall("SELECT 1")
    print(f"db.fetchall('SELECT 1') -> {result}; pool afterwards {pool_status(helper.pool)}")
    print("  it works, by luck: the names are swapped, so `cursor.close()` closes the connection")
    print("  (back to the pool) and `conn.close()` the cursor; both have close(), so both close,")
    print("  the connection first. PyMySQL had read every row at execute, so nothing is lost;")
    print("  another thread may take the connection while its old cursor is still open.")
    name = ConnectionNames()
    with notes as c1:
        outer = name(connection_id(c1))
        with notes as c2:
            inner = name(connection_id(c2))  # the notes leave c2 unused: it never runs a query
            c1.execute("SELECT CONNECTION_ID()")  # the notes' inner `c1.execute('select 2')`
            ran_on = name(c1.fetchone()[0])
    print(f"the usage example, c1 on connection {outer}, c2 on connection {inner}: the inner")
    print(f"  block's c1.execute('select 2') ran on connection {ran_on}, and c2 was taken for")
    print("  nothing (the demo above runs c2.execute in the inner block)")


def demo_two_users_one_instance(helper):
    """001: why 方式一 keeps a stack — two users on one shared instance with self.conn"""
    print()
    print("== 001: why 方式一 keeps a stack — two users on one shared instance with self.conn ==")
    shared, pool = SharedInstanceSqlHelper(helper.pool), helper.pool
    user1_in, user2_done = threading.Event(), threading.Event()
    seen = {}

    def user1():
        with shared as c1:
            seen["user 1"] = connection_id(c1)
            user1_in.set()
            user2_done.wait()  # a long query: user 2 comes and goes meanwhile
            with helper as c3:  # a third user takes a connection from the pool now
                seen["user 3"] = connection_id(c3)
            seen["user 1 again"] = connection_id(c1)

    def user2():
        user1_in.wait()
        with shared as c2:  # overwrites self.conn: user 1's connection has no owner now
            seen["user 2"] = connection_id(c2)
        user2_done.set()

    threads = [threading.Thread(target=user1), threading.Thread(target=user2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = _letters(seen.values())
    print(
        "connections (A, B: two different ones): "
        + ", ".join(f"{who} {name}" for who, name in zip(seen, names, strict=True))
    )
    same = seen["user 3"] == seen["user 1"]
    print(
        f"user 3 got user 1's connection while user 1 was still using it: {same}; pool now "
        f"{pool_status(pool)}"
    )


def demo_sqlhelper_way_two(helper):
    """扩展 SQLhelper 方式二: each OwnConnectionSqlHelper() holds its own connection"""
    print()
    print("== 扩展 SQLhelper 方式二: each OwnConnectionSqlHelper() holds its own connection ==")
    name = ConnectionNames()
    with OwnConnectionSqlHelper(helper.pool) as c1:
        with OwnConnectionSqlHelper(helper.pool) as c2:
            print(
                f"c1 on connection {name(connection_id(c1))}, "
                f"c2 on connection {name(connection_id(c2))}"
            )
    print(f"after both: pool {pool_status(helper.pool)}")


def requested_at_once(view, users):
    """002's examples as the notes write them: `view` at "/" of a Flask app, requested by
    `users` threads at once (a user is a thread, the notes say). Their answers, in order."""
    app = lifecycle.Flask("app")
    app.route("/")(view)
    start, answers = threading.Barrier(users), [None] * users

    def user(i):
        start.wait()
        answers[i] = Client(app).get("/").get_data(as_text=True)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def both_inside(enter, timeout=1.0):
    """Two users request, at the same moment, a view that runs `with enter():`: are both
    inside at once? Each waits inside for the other, at most `timeout` seconds."""
    meeting = threading.Barrier(2, timeout=timeout)

    def view():
        with enter():
            try:
                meeting.wait()
            except threading.BrokenBarrierError:
                return "alone"
            return "met"

    return requested_at_once(view, users=2) == ["met", "met"]


def closed_under_query(settings=None):
    """示例2's other harm, step by step on one CONN: user A's view has taken its cursor when
    user B's view closes the connection; A's query then fails."""
    conn = pymysql.connect(**connect_kwargs(settings))
    cursor = conn.cursor()  # A: cursor = CONN.cursor()
    conn.close()  # B: CONN.close()
    try:
        cursor.execute("select * from tb1")  # A: cursor.execute(...)
    except pymysql.err.Error as exc:
        return f"{type(exc).__name__}{exc.args}: the connection is gone"


def demo_example1(settings):
    """002 示例1: connect in every view"""
    print()
    print("== 02 在web中使用原生sql 示例1: connect in every view ==")
    per_call = ConnectPerCall()
    ids = requested_at_once(lambda: str(per_call.query("SELECT CONNECTION_ID()")[0][0]), 4)
    print(f"@app.route('/') connecting in the view, 4 users at once: {len(set(ids))} connections")


def demo_example2(settings):
    """002 示例2: one global connection for every thread"""
    print()
    print("== 02 示例2: one global connection for every thread ==")
    read_by_b, read_by_a = crossed_answers(settings)
    print("two users, step by step: A sends, B sends,")
    print(f"  B reads {read_by_b!r}, A reads {read_by_a!r}")
    print("  (threads at full speed get the same: wrong answers and errors, different every run)")
    print(f"A has its cursor, B's view closes CONN, A executes -> {closed_under_query(settings)}")


def demo_example3(settings):
    """002 示例3: a lock around one shared connection"""
    print()
    print("== 02 示例3: a lock around one shared connection ==")
    shared = threading.Lock()
    pool = create_pool(settings, mincached=0)
    print("two requests at once: are both inside at the same moment?")
    print(f"  the notes' `with threading.Lock():` in the view -> {both_inside(threading.Lock)}:")
    print("    a new lock per call locks nothing")
    print(f"  one lock shared by every request -> {both_inside(lambda: shared)}: safe, but one")
    print("    request at a time (the notes' 小结: 串行)")
    print(f"  模式二 `with POOL.connection():` -> {both_inside(pool.connection)}: each on its own")
    print("    connection, at most maxconnections at once")
    pool.close()


def demo_two_pools(settings):
    """002 模式一 PersistentDB vs 模式二 PooledDB"""
    print()
    print("== 模式一 PersistentDB vs 模式二 PooledDB ==")
    persistent = PersistentStrategy()
    ids = _ids_from_threads(persistent, threads=3, calls=3)
    print(f"PersistentDB, 3 threads x 3 calls: {len(set(ids))} connections (one per thread)")
    pooled = PooledStrategy(settings=settings, mincached=0)
    ids = _ids_from_threads(pooled, threads=12, calls=3)
    print(
        f"PooledDB(maxconnections=6), 12 threads x 3 calls: {len(set(ids))} distinct "
        f"connections (limit 6); pool {pool_status(pooled.pool)}"
    )
    pooled.close()


def _ids_from_threads(strategy, threads, calls):
    ids, lock = [], threading.Lock()
    barrier = threading.Barrier(threads)

    def worker():
        barrier.wait()
        for _ in range(calls):
            ((cid, _),) = strategy.query("SELECT CONNECTION_ID(), SLEEP(0.01)")
            with lock:
                ids.append(cid)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return ids


def show_mincached(settings, server):
    pool = create_pool(settings, mincached=3, maxconnections=6)
    yield f"mincached=3: right after PooledDB(...) the server shows {server.now()} more connections"
    pool.close()


def show_maxcached(settings, server):
    pool = create_pool(settings, mincached=0, maxcached=1, maxconnections=6)
    ids = set()
    for _ in range(3):
        held = [pool.connection() for _ in range(4)]
        ids.update(connection_id(c.cursor()) for c in held)
        for conn in held:
            conn.close()
    yield (
        f"maxcached=1: 3 rounds of 4 borrowers -> {len(ids)} connections opened in all, "
        f"{server.settled(1)} kept open (the rest closed)"
    )
    pool.close()


def show_maxshared(settings, server):
    pool = create_pool(settings, mincached=0, maxshared=3, maxconnections=6)
    shared = [pool.connection(shareable=True) for _ in range(4)]
    ids = {connection_id(c.cursor()) for c in shared}
    for conn in shared:
        conn.close()
    pool.close()
    yield (
        f"maxshared=3: pymysql.threadsafety = {pymysql.threadsafety}, so 4 shareable "
        f"connections are {len(ids)} different ones:"
    )
    yield "  nothing is ever shared (the notes' comment says '所有链接都共享': wrong)"
    raised = create_pool(settings, mincached=0, maxshared=10, maxconnections=6)
    yield (
        f"  and maxshared still counts: PooledDB(maxshared=10, maxconnections=6) allows "
        f"{raised._maxconnections} connections"
    )
    raised.close()


def show_maxusage(settings, server):
    pool = create_pool(settings, mincached=0, maxcached=1, maxusage=3)
    ids = []
    conn = pool.connection()
    cursor = conn.cursor()
    for _ in range(7):
        cursor.execute("SELECT CONNECTION_ID()")
        ids.append(cursor.fetchone()[0])
    conn.close()
    pool.close()
    yield (
        f"maxusage=3: the connection behind 7 executes -> {_letters(ids)} (a new one after "
        "every 3 uses)"
    )


def show_setsession(settings, server):
    pool = create_pool(settings, mincached=0, maxcached=1, setsession=["SET @greeting = 'hi'"])
    with pool.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT @greeting")
        greeting = cur.fetchone()[0]
    pool.close()
    yield f"setsession=[\"SET @greeting = 'hi'\"]: a new connection says @greeting = {greeting!r}"


def show_ping(settings, server):
    for ping in (0, 1, 7):
        pool = create_pool(settings, mincached=1, maxcached=1, ping=ping)
        pings = []
        for _ in range(3):
            with pool.connection() as conn:
                pings.append(server_count.session_counter(conn, "Com_admin_commands"))
        pool.close()
        yield f"ping={ping}: COM_PING counted by the connection over 3 checkouts -> {pings}"


def show_blocking(settings, server):
    pool = create_pool(settings, mincached=0, maxconnections=1, blocking=False)
    held = pool.connection()
    try:
        pool.connection()
    except TooManyConnectionsError:
        yield "blocking=False, maxconnections=1: a second checkout -> TooManyConnectionsError"
    finally:
        held.close()
        pool.close()
    pool = create_pool(settings, mincached=0, maxconnections=1, blocking=True)
    held, got = pool.connection(), threading.Event()
    waiter = threading.Thread(target=lambda: (pool.connection().close(), got.set()))
    waiter.start()
    waited = not got.wait(0.3)
    held.close()
    waiter.join(10)
    pool.close()
    yield (
        f"blocking=True: the second checkout waited while the first was held: {waited}; "
        f"it went on when it was returned: {got.is_set()}"
    )


def notes_persistent_db(settings, closeable):
    """模式一's PersistentDB with the notes' own parameters (ping=0, threadlocal=None, ...)."""
    notes = {"maxusage": None, "setsession": [], "ping": 0, "threadlocal": None}
    return PersistentDB(creator=pymysql, closeable=closeable, **notes, **connect_kwargs(settings))


def show_closeable(settings, server):
    for closeable in (False, True):
        persist = notes_persistent_db(settings, closeable)
        conn = persist.connection(shareable=False)
        before = connection_id(conn.cursor())
        conn.close()
        after = connection_id(persist.connection().cursor())  # the notes: raises if closeable
        persist.connection()._close()
        yield (
            f"PersistentDB(closeable={closeable}, ping=0): conn.close(), then the next "
            f"connection() is {'the same' if before == after else 'a new'} connection"
        )
    yield "  the notes say that with closeable=True the next connection() raises: it does not"


def show_threadlocal(settings, server):
    persist = notes_persistent_db(settings, closeable=False)
    ids = []
    threads = [
        threading.Thread(target=lambda: ids.append(connection_id(persist.connection().cursor())))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kind = type(persist.thread)
    yield f"PersistentDB(threadlocal=None): 3 threads -> {len(set(ids))} connections, one each;"
    yield (
        f"  None is {kind.__module__}.{kind.__name__} (pure Python), not the notes' "
        f"threading.local: {kind is not threading.local}"
    )


# One demonstration per parameter the notes comment on, in the notes' order.
POOL_PARAMETERS = (
    show_mincached,
    show_maxcached,
    show_maxshared,
    show_maxusage,
    show_setsession,
    show_ping,
    show_blocking,
    show_closeable,
    show_threadlocal,
)


def demo_pool_parameters(settings):
    """002 模式二 PooledDB's parameters, each measured on the server"""
    print()
    print("== 模式二 PooledDB's parameters, each measured on the server ==")
    admin = pymysql.connect(**connect_kwargs(settings, with_database=False), autocommit=True)
    try:
        for line in pool_parameter_lines(settings, admin, settings["database"]):
            print(line)
    finally:
        admin.close()


def pool_parameter_lines(settings, admin, database):
    """Each PooledDB/PersistentDB parameter the notes comment on, doing what it does."""
    server = server_count.ServerCount(admin, database)
    for show in POOL_PARAMETERS:
        yield from show(settings, server)


class ConnectionNames:
    """Connection ids as A, B, C... in the order they are first seen: the ids differ per run,
    the names do not."""

    def __init__(self):
        self.names = {}

    def __call__(self, connection_id):
        return self.names.setdefault(connection_id, "ABCDEFGHIJ"[len(self.names)])


def _letters(ids):
    return "".join(map(ConnectionNames(), ids))


def demo_small_app():
    """002 2.3 实际开发小应用案例: db_helper.SQLHelper (StaticSqlHelper here)"""
    print()
    print("== 2.3 实际开发小应用案例: db_helper.SQLHelper (StaticSqlHelper here) ==")
    try:
        NotesStaticSqlHelper.fetch_all("SELECT 1", [])
    except TypeError as exc:
        print(f"the notes' fetch_all(self, sql, args) under @staticmethod -> TypeError: {exc}")
    try:
        StaticSqlHelper.fetch_one("select * from t1", [])
    except pymysql.err.ProgrammingError as exc:
        print(f"the notes' app.py reads `select * from t1` -> {describe(exc)}:")
        print("  06 creates tb1 (setup_database), and 08's GET /case reads tb1")
    print(
        f"StaticSqlHelper.fetch_one('SELECT %s, %s', [1, 'a']) -> "
        f"{StaticSqlHelper.fetch_one('SELECT %s, %s', [1, 'a'])}"
    )
    print(
        f"StaticSqlHelper.fetch_all('SELECT 1 UNION SELECT 2', []) -> "
        f"{StaticSqlHelper.fetch_all('SELECT 1 UNION SELECT 2', [])}"
    )
    view = lambda: f"Hello World ({StaticSqlHelper.fetch_one('select * from tb1', [])!r})"  # noqa: E731
    print(f"app.py's view, reading tb1 (empty here), requested -> {requested_at_once(view, 1)}")
    print("served: python 08_deploy.py serve, then GET /case")


def on_db(name, demo, *code, helper="SqlHelper()", **options):
    """A section whose demo runs on a helper: 方式一's shared `db` here; in a pasted block, the
    database made ready and `helper` (the class the block shows, made anew)."""
    run = functools.wraps(demo)(lambda settings: demo(db))
    call = f"sqlhelper.ready_database()\n{demo.__name__}({helper})"
    return sections.Section(name, run, *code, call=call, **options)


SECTIONS = sections.registry(
    sections.Section("imports", demo_imports_then_and_now, needs_context=False,
                     heading="### 2.2 Python数据库连接池DBUtiles", note="002"),
    on_db("way_one", demo_sqlhelper_way_one, SqlHelper, SharedInstanceSqlHelper,
          heading="### 方式一", note="000"),
    on_db("commit", demo_commit_semantics, SqlHelper.__exit__, bug=(NotesSqlHelper,),
          heading="### 方式一", note="000"),
    on_db("way_one_as_written", demo_way_one_as_written, SqlHelper.close, bug=(NotesSqlHelper,),
          heading="### 方式一", note="000"),
    on_db("two_users", demo_two_users_one_instance, SharedInstanceSqlHelper, helper="sqlhelper.db",
          heading="### 方式一", note="001"),
    on_db("way_two", demo_sqlhelper_way_two, OwnConnectionSqlHelper, helper="sqlhelper.db",
          heading="### 方式二", note="000"),
    sections.Section("example1", demo_example1, ConnectPerCall, heading="### 示例1:", note="002"),
    sections.Section("example2", demo_example2, crossed_answers, heading="### 示例2", note="002"),
    sections.Section("example3", demo_example3, both_inside, heading="### 示例3", note="002"),
    sections.Section("two_pools", demo_two_pools, PersistentStrategy, PooledStrategy,
                     heading="### DBUtils连接池的两种连接模式:", note="002"),
    sections.Section("pool_parameters", demo_pool_parameters, create_pool,
                     *POOL_PARAMETERS, note="002",
                     heading="### 模式二: 创建一批连接到连接池,供所有线程共享使用。"),
    sections.Section("small_app", lambda settings: demo_small_app(), StaticSqlHelper,
                     demo_small_app,
                     bug=(NotesStaticSqlHelper,), heading="### 2.3 实际开发小应用案例:", note="002",
                     call="sqlhelper.ready_database()\ndemo_small_app()"),
)  # fmt: skip


def main(argv=None):
    parser = cli.demo_parser("06_sqlhelper.py", __doc__)
    parser.epilog = SETTINGS_HELP
    sections.add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    if not sections.wanted(args):
        settings = ready_database()
        where = f"{settings['host']}:{settings['port']}"
        print(f"MySQL at {where}, database {settings['database']!r}, table tb1 ready\n")
    sections.run(SECTIONS, args, parser, ready_database)


if __name__ == "__main__":
    cli.run(main, "06_sqlhelper.py")
