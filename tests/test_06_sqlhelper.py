"""06_sqlhelper against a real MariaDB: the helpers, the notes' strategies, errors and settings."""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pymysql
import pytest
from conftest import ROOT, load, mysql_env, run_script, table_counts

from instruments import mysql_settings, server_count

sqlhelper = load("06_sqlhelper")

HOSTILE = [
    "Robert'); DROP TABLE tb1;--",
    "' OR '1'='1",
    "back\\slash",
    "%s %d %%",
    '"quoted"',
    "semi;colon",
    "你好，世界",
    "emoji 😀",
    "\x00nul",
    "tab\tand\nnewline",
    "x" * 64,
]


@pytest.fixture(scope="module")
def settings(test_database):
    sqlhelper.setup_database(test_database)
    return test_database


@pytest.fixture
def helper(settings):
    helper = sqlhelper.SqlHelper(sqlhelper.create_pool(settings, mincached=0))
    yield helper
    assert sqlhelper.pool_status(helper.pool)["in_use"] == 0  # every test returns what it took
    helper.pool.close()


def connection_id(cursor):
    cursor.execute("SELECT CONNECTION_ID()")
    return cursor.fetchone()[0]


def narration(settings):
    """06's plain run against the test server, its database and address said as in a default
    run (pooldb on 127.0.0.1:3306)."""
    result = run_script("06_sqlhelper", env=mysql_env(settings), timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    out = result.stdout.replace(f"'{settings['database']}'", "'pooldb'")
    out = out.replace(f"{settings['database']}.", "pooldb.")
    return out.replace(f"{settings['host']}:{settings['port']},", "127.0.0.1:3306,", 1)


def test_demo_narrates_against_the_server_the_same_every_run(settings):
    """Connection ids are named A, B, ... and nothing is timed, so two runs print the same."""
    first = narration(settings)
    assert narration(settings) == first
    assert first == (ROOT / "tests" / "snapshots" / "06_demo.txt").read_text("utf-8")


def test_the_notes_database_code_is_run_as_written_beside_the_fix(settings):
    out = narration(settings)
    for line in (
        "from DBUtils.PooledDB import PooledDB -> ModuleNotFoundError: No module named 'DBUtils'",
        "db.fetchall('SELECT 1') -> ((1,),); pool afterwards {'maxconnections': 6, 'in_use': 0",
        "block's c1.execute('select 2') ran on connection A, and c2 was taken for",
        "the notes' `with threading.Lock():` in the view -> True:",
        "one lock shared by every request -> False: safe, but one",
        "模式二 `with POOL.connection():` -> True: each on its own",
        "under @staticmethod -> TypeError: NotesStaticSqlHelper.fetch_all() missing 1 required "
        "positional argument: 'args'",
        "reads `select * from t1` -> (1146) Table 'pooldb.t1' doesn't exist:",
    ):
        assert line in out, line


def test_importing_connects_nothing():
    code = (
        "import importlib; m = importlib.import_module('06_sqlhelper'); "
        "print(m.db.opened_pool is None)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, MYSQL_PORT="1"),
        timeout=60,
    )
    assert (result.stdout.strip(), result.stderr) == ("True", "")


def test_unknown_arguments_are_one_line():
    result = run_script("06_sqlhelper", "--bogus")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "06_sqlhelper.py: error: unrecognized arguments: --bogus (see --help)"
    ]


def test_nested_with_uses_two_connections_and_returns_both(helper):
    with helper as c1:
        with helper as c2:
            assert connection_id(c1) != connection_id(c2)
            assert len(helper.local.stack) == 2
            assert sqlhelper.pool_status(helper.pool)["in_use"] == 2
        assert sqlhelper.pool_status(helper.pool)["in_use"] == 1
        assert connection_id(c1)  # the outer cursor still works
    assert sqlhelper.pool_status(helper.pool) == {"maxconnections": 6, "in_use": 0, "idle": 2}
    assert helper.local.stack == []


def test_each_thread_has_its_own_stack(helper):
    depths, barrier = {}, threading.Barrier(4)

    def worker(n):
        with helper:
            barrier.wait()
            depths[n] = len(helper.local.stack)
            barrier.wait()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert depths == {0: 1, 1: 1, 2: 1, 3: 1}


def test_exception_inside_with_rolls_back_and_returns_the_connection(helper):
    with pytest.raises(ZeroDivisionError):
        with helper as cur:
            cur.execute("INSERT INTO tb1 (name) VALUES (%s)", ("must vanish",))
            1 / 0
    assert helper.fetchone("SELECT COUNT(*) FROM tb1 WHERE name = %s", "must vanish") == (0,)
    assert sqlhelper.pool_status(helper.pool)["in_use"] == 0


def test_success_commits(helper, settings):
    new_id = helper.execute("INSERT INTO tb1 (name) VALUES (%s)", "committed")
    other = pymysql.connect(ssl_disabled=True, **settings)  # a separate connection sees it
    try:
        with other.cursor() as cur:
            cur.execute("SELECT name FROM tb1 WHERE id = %s", (new_id,))
            assert cur.fetchone() == ("committed",)
    finally:
        other.close()


def test_sql_error_inside_with_returns_the_connection(helper):
    with pytest.raises(pymysql.err.ProgrammingError):
        helper.fetchall("SELECT * FROM no_such_table")
    assert sqlhelper.pool_status(helper.pool)["in_use"] == 0


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_strings_are_bound_and_read_back_verbatim(helper, name):
    new_id = helper.execute("INSERT INTO tb1 (name) VALUES (%s)", name)
    assert helper.fetchone("SELECT name FROM tb1 WHERE id = %s", new_id) == (name,)
    assert (new_id, name) in helper.fetchall("SELECT id, name FROM tb1 WHERE name = %s", name)
    assert helper.fetchone("SELECT COUNT(*) FROM tb1") != (0,)  # the table survived


def test_regression_shared_instance_hands_out_a_connection_still_in_use(helper):
    broken = sqlhelper.SharedInstanceSqlHelper(helper.pool)
    with broken as c1:
        outer = connection_id(c1)
        with broken:
            pass
        with helper as someone_else:
            # "The same one" relies on CPython freeing the overwritten outer connection at once
            # (reference counting) and on DBUtils handing idle connections out first in, first
            # out; both hold here, and the demo says so.
            assert connection_id(someone_else) == outer  # two users on one connection


def test_way_two_each_instance_its_own_connection(helper):
    with sqlhelper.OwnConnectionSqlHelper(helper.pool) as c1:
        with sqlhelper.OwnConnectionSqlHelper(helper.pool) as c2:
            assert connection_id(c1) != connection_id(c2)
    assert sqlhelper.pool_status(helper.pool)["in_use"] == 0


def test_static_sqlhelper_of_note_002(settings, monkeypatch):
    monkeypatch.setattr(
        sqlhelper, "db", sqlhelper.SqlHelper(sqlhelper.create_pool(settings, mincached=0))
    )
    assert sqlhelper.StaticSqlHelper.fetch_one("SELECT %s, %s", [1, "a"]) == (1, "a")
    assert sqlhelper.StaticSqlHelper.fetch_all("SELECT 1 UNION SELECT 2", []) == ((1,), (2,))
    sqlhelper.db.pool.close()


def test_one_shared_connection_hands_one_users_answer_to_the_other(settings):
    """示例2 made deterministic: two users' queries on one socket are answered in order, so
    the user who reads first gets the other's answer (no race, no retries needed)."""
    assert sqlhelper.crossed_answers(settings) == ("the answer to A", "the answer to B")


def test_one_users_close_breaks_the_others_query(settings):
    """示例2's other harm: B's view closes the one CONN under A, who has taken its cursor."""
    assert sqlhelper.closed_under_query(settings) == "InterfaceError(0, ''): the connection is gone"


def test_the_examples_are_views_of_one_flask_app_requested_by_threads_at_once(settings):
    """002 示例1 and 示例3 as the notes write them: a Flask view at "/", several users (threads)
    requesting it at once. 示例1 opens a connection per request; the notes' `with
    threading.Lock():` lets both users in at once, a shared lock one at a time."""
    per_call = sqlhelper.ConnectPerCall(**sqlhelper.connect_kwargs(settings))
    ids = sqlhelper.requested_at_once(
        lambda: str(per_call.query("SELECT CONNECTION_ID()")[0][0]), users=4
    )
    assert len(set(ids)) == 4 and all(i.isdigit() for i in ids)
    assert sqlhelper.both_inside(threading.Lock) is True  # a new lock per request
    shared = threading.Lock()
    assert sqlhelper.both_inside(lambda: shared) is False
    names = sqlhelper.requested_at_once(lambda: threading.current_thread().name, users=3)
    assert len(set(names)) == 3  # each user a thread of its own


def echo_race(strategy, threads=8, calls=10, sleep=0.005, join_timeout=30):
    """Threads each send a unique token and check it comes back; count what goes wrong.

    Returns Counter(ok=…, wrong=…, <error class>=…, hung=…). Bounded: PyMySQL's read_timeout
    ends a desynchronised read, and threads still running after join_timeout count as hung.
    """
    outcome, lock = Counter(), threading.Lock()
    barrier = threading.Barrier(threads)

    def worker():
        barrier.wait()
        for _ in range(calls):
            token = uuid.uuid4().hex
            try:
                rows = strategy.query("SELECT %s, SLEEP(%s)", (token, sleep))
                result = "ok" if rows and rows[0][0] == token else "wrong"
            except Exception as exc:  # any failure is data here
                result = type(exc).__name__
            with lock:
                outcome[result] += 1

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in workers:
        t.start()
    deadline = time.monotonic() + join_timeout
    for t in workers:
        t.join(max(0.0, deadline - time.monotonic()))
    outcome["hung"] = sum(t.is_alive() for t in workers)
    return outcome


@pytest.mark.parametrize(
    "make",
    [
        lambda s: sqlhelper.LockedGlobalConnection(**s),
        lambda s: sqlhelper.PooledStrategy(settings=s),
        lambda s: sqlhelper.SqlHelperStrategy(settings=s),
        lambda s: sqlhelper.PersistentStrategy(**s),
        lambda s: sqlhelper.ConnectPerCall(**s),
    ],
    ids=["locked", "pooled", "sqlhelper", "persistent", "per-call"],
)
def test_safe_strategies_return_every_token(settings, make):
    strategy = make(settings)
    try:
        outcome = echo_race(strategy, threads=8, calls=5, sleep=0.001)
    finally:
        strategy.close()
    assert outcome == {"ok": 40, "hung": 0}


def test_connect_per_call_opens_a_connection_each_time(settings):
    strategy = sqlhelper.ConnectPerCall(**settings)
    ids = {strategy.query("SELECT CONNECTION_ID()")[0][0] for _ in range(3)}
    assert len(ids) == 3


def test_settings_from_env():
    assert mysql_settings.settings_from_env({}) == {
        "host": "127.0.0.1",
        "port": 3306,
        "user": "root",
        "password": "",
        "database": "pooldb",
    }
    with pytest.raises(mysql_settings.SettingsError, match="MYSQL_PORT must be a number"):
        mysql_settings.settings_from_env({"MYSQL_PORT": "abc"})
    with pytest.raises(mysql_settings.SettingsError, match="MYSQL_DATABASE"):
        mysql_settings.settings_from_env({"MYSQL_DATABASE": "x`; DROP"})


@pytest.mark.parametrize(
    "script, args",
    [("06_sqlhelper", []), ("08_deploy", []), ("08_deploy", ["serve", "--port", "5999"])],
    ids=["06 demo", "08 demo", "08 serve"],
)
def test_database_unreachable_at_start_is_one_line(script, args):
    closed = _closed_port()
    result = run_script(script, *args, env={"MYSQL_PORT": str(closed)}, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"{script}.py: cannot use MySQL at 127.0.0.1:{closed} as 'root': "
        f"(2003) Can't connect to MySQL server on '127.0.0.1' "
        "([Errno 111] Connection refused); no server of your own? `python -m "
        "instruments.private_db` starts one and says the MYSQL_* to set (docs/database.md)"
    ], result.stderr


def test_bad_settings_are_one_line():
    result = run_script("06_sqlhelper", env={"MYSQL_PORT": "port"})
    assert result.returncode != 0
    assert result.stderr.strip() == "06_sqlhelper.py: MYSQL_PORT must be a number, got 'port'"


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- issue 10: the notes' database blocks, each shown ------------------------------------


def test_the_notes_helper_never_commits_so_the_write_is_rolled_back(helper):
    for who, expected in ((sqlhelper.NotesSqlHelper(helper.pool), 0), (helper, 1)):
        marker = f"commit-{uuid.uuid4().hex[:8]}"
        with who as cur:
            cur.execute("INSERT INTO tb1 (name) VALUES (%s)", (marker,))
        assert helper.fetchone("SELECT COUNT(*) FROM tb1 WHERE name = %s", marker) == (expected,)


def test_two_users_overlapping_on_one_shared_instance(helper, capsys):
    sqlhelper.demo_two_users_one_instance(helper)
    out = capsys.readouterr().out
    assert "user 1 A, user 2 B, user 3 A, user 1 again A" in out
    assert "while user 1 was still using it: True" in out


def test_pool_parameters_each_do_what_they_say(settings):
    admin = pymysql.connect(
        ssl_disabled=True, autocommit=True, **{k: v for k, v in settings.items() if k != "database"}
    )
    try:
        lines = list(sqlhelper.pool_parameter_lines(settings, admin, settings["database"]))
    finally:
        admin.close()
    text = "\n".join(lines)
    for expected in (
        "mincached=3: right after PooledDB(...) the server shows 3 more connections",
        "maxcached=1: 3 rounds of 4 borrowers -> 10 connections opened in all, 1 kept open",
        "so 4 shareable connections are 4 different ones",
        "PooledDB(maxshared=10, maxconnections=6) allows 10 connections",
        "the connection behind 7 executes -> AAABBBC",
        "a new connection says @greeting = 'hi'",
        "ping=0: COM_PING counted by the connection over 3 checkouts -> [0, 0, 0]",
        "ping=1: COM_PING counted by the connection over 3 checkouts -> [1, 2, 3]",
        "a second checkout -> TooManyConnectionsError",
        "waited while the first was held: True; it went on when it was returned: True",
        "PersistentDB(closeable=False, ping=0): conn.close(), then the next connection() is "
        "the same connection",
        "PersistentDB(closeable=True, ping=0): conn.close(), then the next connection() is "
        "a new connection",  # run with the notes' own parameters: ping=0, threadlocal=None
        "the notes say that with closeable=True the next connection() raises: it does not",
        "PersistentDB(threadlocal=None): 3 threads -> 3 connections, one each;",
        "None is _threading_local.local (pure Python), not the notes' threading.local: True",
    ):
        assert expected in text, expected


def test_configure_before_first_use_only():
    helper = sqlhelper.SqlHelper()
    helper.configure(maxconnections=3)
    helper.opened_pool = object()  # as if it had been used
    with pytest.raises(RuntimeError, match="configure the helper before using it"):
        helper.configure(maxconnections=4)


def test_docstrings_say_which_note_and_which_way():
    assert sqlhelper.SqlHelper.__doc__.startswith("扩展 SQLhelper 方式一")
    assert sqlhelper.OwnConnectionSqlHelper.__doc__.startswith("扩展 SQLhelper 方式二")
    assert sqlhelper.StaticSqlHelper.__doc__.startswith("Note 002's 2.3 db_helper.SQLHelper")


def test_the_server_count_ignores_a_connection_that_goes_after_the_baseline(settings):
    """The pool-parameter demo counts the connections its pools open. A connection that was
    open when the count started and closes during it (an earlier section's, still closing) must
    not make the count one short: it made the demo's snapshot flaky (2 where 3 was printed)."""
    kwargs = sqlhelper.connect_kwargs(settings)
    admin = pymysql.connect(**sqlhelper.connect_kwargs(settings, with_database=False))
    leaving = pymysql.connect(**kwargs)
    try:
        leaving_id = connection_id(leaving.cursor())
        server = server_count.ServerCount(admin, settings["database"])
        leaving.close()
        with admin.cursor() as cur:  # wait, on the server's word, until it has gone
            for _ in range(200):
                cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s",
                            (leaving_id,))  # fmt: skip
                if cur.fetchone()[0] == 0:
                    break
                time.sleep(0.025)
        pool = sqlhelper.create_pool(settings, mincached=3, maxconnections=6)
        try:
            assert server.now() == 3
        finally:
            pool.close()
    finally:
        admin.close()


def test_the_demo_leaves_the_table_as_it_found_it(settings):
    narration(settings)  # the table made, if it was not there
    before = table_counts(settings, ["tb1"])
    narration(settings)
    assert table_counts(settings, ["tb1"]) == before


def test_a_server_that_drops_the_connection_at_start_is_said_so(tmp_path):
    """Something on the port accepts and closes at once: PyMySQL says "Lost connection to
    MySQL server during query", which is no query; the line says what happened."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)  # a blocked accept() is not woken by close(): it polls instead
    port = listener.getsockname()[1]
    done = threading.Event()

    def drop_every_connection():
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.close()

    dropper = threading.Thread(target=drop_every_connection)
    dropper.start()
    try:
        result = run_script("06_sqlhelper", env={"MYSQL_PORT": str(port)}, timeout=60)
    finally:
        done.set()
        dropper.join(10)  # no thread left behind (a later test forks)
        listener.close()
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "during query" not in result.stderr
    assert f"06_sqlhelper.py: cannot use MySQL at 127.0.0.1:{port} as 'root': (2013) " in (
        result.stderr
    )
    assert "closed the connection before MySQL's greeting" in result.stderr
