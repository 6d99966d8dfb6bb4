"""Beyond one process: real gunicorn processes on free loopback ports (docs/beyond-one-
process.md). The measuring code is bench/bench_deploy.py's, so the docs' tables come from the
code tested here. Every gunicorn is stopped by its pid when its `with` ends."""

import os
import select
import signal
import sys
import threading
import time

import pytest
from conftest import (
    ROOT,
    free_port,
    load,
    mysql_env,
    run_script,
    seconds_until_ok,
    stall_database,
    table_counts,
)

sys.path.insert(0, str(ROOT / "bench"))
import bench_deploy as deploy  # noqa: E402

sqlhelper = load("06_sqlhelper")
deployment = load("08_deploy")
lifecycle = load("05_lifecycle")
localproxy = load("04_proxy")
localstack = load("03_localstack")


@pytest.fixture
def db_settings(mysql_server):
    """A fresh database with 06's tables for one test (dropped afterwards)."""
    with deploy.database_for_run(mysql_server, prefix="deploytest") as settings:
        yield settings


# --- 协程 and the ident --------------------------------------------------------------------


def test_greenlet_ident_keeps_every_gevent_request_apart():
    outcomes = deploy.ident_outcomes("gevent", "greenlet", 50)
    assert outcomes == {"own": 50}


def test_thread_ident_under_gevent_mixes_the_requests():
    # 50 greenlets in one OS thread share one stack: all meet inside their contexts first,
    # so most read whichever context is on top, and 05's pop assertion gives 500s.
    outcomes = deploy.ident_outcomes("gevent", "thread", 50)
    assert outcomes["own"] < 50 and outcomes["500"] + outcomes["another's"] > 0, outcomes


def test_contextvar_stacks_keep_gevent_requests_apart():
    assert deploy.ident_outcomes("gevent", "contextvar", 50) == {"own": 50}


def test_thread_ident_is_enough_under_real_threads():
    assert deploy.ident_outcomes("gthread", "thread", 20) == {"own": 20}


@pytest.mark.parametrize(
    "strategy, all_own", [("thread", False), ("greenlet", False), ("contextvar", True)]
)
def test_asyncio_tasks_need_the_contextvar(strategy, all_own):
    outcomes = deployment.asyncio_ident_race(strategy, 30)
    assert (outcomes == {"own": 30}) is all_own, outcomes
    for stack in (localproxy._request_ctx_stack, localproxy._app_ctx_stack):
        assert stack.__ident_func__ is localstack.get_ident  # put back afterwards


def test_together_answers_and_refuses_a_bad_n():
    with deploy.Gunicorn('08_deploy:create_ident_app("greenlet")', "-k", "gevent") as server:
        assert deploy.get(server.address, "/together?value=a&n=1")[:2] == (200, "a")
        for bad in ("x", "%C2%B2", "%D9%A3"):  # and the digits str.isdigit() takes, int() may not
            status, body, _ = deploy.get(server.address, f"/together?n={bad}")
            assert status == 400 and "n must be a whole number from 1 to 1000" in body


def test_unknown_ident_is_one_line():
    with pytest.raises(ValueError, match="ident 'fiber' is not one of thread, greenlet"):
        deployment.use_ident("fiber")


def test_gunicorn_serves_05_unchanged_on_gevent():
    with deploy.Gunicorn("05_lifecycle:app", "-k", "gevent") as server:
        answers = deploy.get_all_at_once(server.address, [f"/echo?value={i}" for i in range(20)])
    assert [body for _, body, _ in answers] == [str(i) for i in range(20)]


def test_gunicorn_stops_in_one_line_when_the_database_is_away():
    port = free_port()  # nothing listens there
    env = {"MYSQL_HOST": "127.0.0.1", "MYSQL_PORT": str(port)}
    server = deploy.Gunicorn("08_deploy:create_serve_app()", env=env)
    with pytest.raises(RuntimeError) as failure:
        server.__enter__()
    assert f"08_deploy.py: cannot use MySQL at 127.0.0.1:{port} as 'root'" in str(failure.value)
    assert "Worker failed to boot" in str(failure.value) and server.process.returncode == 3


# --- a pool per process -------------------------------------------------------------------


def test_each_worker_has_its_own_pool(db_settings):
    one, statuses, _, _ = deploy.pool_peak(db_settings, workers=1, clients=16, seconds=2)
    assert 0 < one <= sqlhelper.MAXCONNECTIONS and set(statuses) == {200}, (one, statuses)
    two, statuses, _, _ = deploy.pool_peak(db_settings, workers=2, clients=16, seconds=2)
    assert sqlhelper.MAXCONNECTIONS < two <= 2 * sqlhelper.MAXCONNECTIONS and set(statuses) == {
        200
    }, two


def test_a_gevent_worker_shares_its_pool_between_greenlets(db_settings):
    # PyMySQL is pure Python, so gevent's patched sockets let other greenlets run while one
    # waits on MariaDB: all 6 connections are in use at once in one OS thread.
    with deploy.Gunicorn(
        "08_deploy:create_serve_app()", "-k", "gevent", env=mysql_env(db_settings)
    ) as server:
        with deploy.PeakConnections(db_settings) as sampler:
            statuses, _, _ = deploy.keep_getting(server.address, "/slow?seconds=0.2", 16, 2)
    assert sampler.peak == sqlhelper.MAXCONNECTIONS and set(statuses) == {200}, (
        sampler.peak,
        statuses,
    )


def test_too_few_server_connections_give_quick_503s(throwaway_factory):
    server = throwaway_factory(max_connections=10)  # below 2 workers x 6; MariaDB's least
    assert deploy.server_max_connections(server.settings) == 10
    with deploy.database_for_run(server.settings, prefix="deploytest") as settings:
        peak, statuses, bodies, slowest = deploy.pool_peak(settings, 2, clients=16, seconds=2)
    assert statuses[503] > 0 and set(statuses) <= {200, 503}, statuses  # no resets, no hangs
    assert all("has too many connections" in body for body in bodies), bodies
    assert slowest < 5, slowest  # a refused connect is answered at once, not after a timeout


def test_a_pool_opened_before_the_fork_is_shared_by_the_workers(db_settings):
    master, in_turn, together = deploy.fork_answers(db_settings, per_process=False, rounds=1)
    summary = deploy.summarize_fork(master, in_turn, together)
    assert summary["workers"] == 2 and summary["pool opened by"] == "master"
    assert summary["connections"] == 1 and summary["used by 2+ workers"] == 1, summary
    assert summary["last user another"] == 19, summary  # the workers took turns: all but one


def test_the_pool_is_reopened_in_each_worker(db_settings):
    master, in_turn, together = deploy.fork_answers(db_settings, per_process=True)
    summary = deploy.summarize_fork(master, in_turn, together)
    assert summary["pool opened by"] == "itself"
    assert summary["used by 2+ workers"] == 0 and summary["last user another"] == 0, summary
    assert summary["failed in turn"] == summary["failed at once"] == 0, summary


def test_a_given_pool_is_refused_after_a_fork(db_settings):
    helper = deployment.ServingSqlHelper(pool=sqlhelper.create_pool(db_settings, mincached=0))
    deadline = time.monotonic() + 5  # threads an earlier test left ending: fork without them
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    pid = os.fork()
    if pid == 0:  # the child: it must not use the parent's pool, and cannot make its own
        try:
            helper.pool  # noqa: B018
        except RuntimeError as exc:
            os._exit(3 if "before a fork" in str(exc) else 4)
        os._exit(5)
    assert os.waitpid(pid, 0)[1] >> 8 == 3
    assert helper.fetchone("SELECT 1") == (1,)  # the parent's pool is unharmed


# --- sessions across workers --------------------------------------------------------------


@pytest.mark.parametrize("store, keeps", [("cookie", True), ("memory", False), ("mariadb", True)])
def test_sessions_across_four_workers(db_settings, store, keeps):
    # Each request to the next worker in turn: the others are paused (SIGSTOP) meanwhile, so
    # the spread does not depend on which worker the kernel wakes.
    right, workers = deploy.session_counts(db_settings, store, 4, requests=20, in_turn=True)
    assert workers == 4
    assert right == (20 if keeps else 1), right  # in memory: a new session at every worker


def test_unknown_session_store_is_one_line():
    with pytest.raises(ValueError, match="sessions='redis' is not one of cookie, memory"):
        deployment.session_interface("redis", deployment.db)


def test_database_sessions_survive_a_new_interface(db_settings):
    first = deployment.DatabaseSessionInterface(sqlhelper.SqlHelper(settings=db_settings))
    first.save("sid-1", {"counter": 7})
    second = deployment.DatabaseSessionInterface(sqlhelper.SqlHelper(settings=db_settings))
    assert second.load("sid-1") == {"counter": 7} and second.load("forged") is None
    second.delete("sid-1")
    assert first.load("sid-1") is None


# --- throughput: the two apps are the same app ---------------------------------------------


def test_the_throughput_apps_answer_alike():
    from werkzeug.test import Client

    ours, flask = (Client(deploy.app_on(name)).get("/item/7?q=z") for name in ("ours", "flask"))
    assert ours.text == flask.text == "item 7 q=z user=alice"
    assert ours.headers["X-After"] == flask.headers["X-After"] == "1"


# --- the steering the tests above rely on (Gunicorn.only / get_from) -----------------------


def _state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_steering_to_a_worker_that_is_gone_says_so_at_once():
    with deploy.Gunicorn("05_lifecycle:app", workers=3) as server:
        gone, *others = server.worker_pids()
        exited = os.pidfd_open(gone)  # readable once the process has exited
        os.kill(gone, signal.SIGKILL)
        assert select.select([exited], [], [], 10)[0]
        os.close(exited)
        with pytest.raises(RuntimeError, match=f"gunicorn worker {gone} is gone"):
            server.get_from(gone, "/echo?value=a")
        assert all(_state(pid) != "T" for pid in others)  # nobody left paused


def test_a_worker_that_does_not_answer_is_an_error_and_the_others_run_again():
    with deploy.Gunicorn("05_lifecycle:app", workers=3) as server:
        silent, *others = server.worker_pids()
        os.kill(silent, signal.SIGSTOP)  # it cannot accept: nobody answers
        try:
            with pytest.raises(RuntimeError, match=f"gunicorn worker {silent} did not answer"):
                server.get_from(silent, "/echo?value=a", timeout=1)
            assert all(_state(pid) != "T" for pid in others)
        finally:
            os.kill(silent, signal.SIGCONT)
        assert server.get_from(others[0], "/echo?value=b")[:2] == (200, "b")


def test_gunicorn_signs_sessions_with_one_key_per_start_never_the_demo_key():
    """The demo key is in the source: a cookie forged with it must not be taken. With no
    SECRET_KEY set, gunicorn.conf.py makes one in the master, so the workers agree."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    forged = lifecycle.SecureCookieSessionInterface().get_signing_serializer(lifecycle.create_app())
    cookie = f"session={forged.dumps({'counter': 41})}"
    with deploy.Gunicorn("05_lifecycle:app", workers=2, env=env) as server:
        pids = server.worker_pids()
        answers = [server.get_from(pid, "/session", headers={"Cookie": cookie}) for pid in pids]
        assert [body for _, body, _ in answers] == ["1", "1"]  # a fresh session, not 42
        again = answers[0][2]["Set-Cookie"].split(";")[0]  # minted by one worker ...
        status, body, _ = server.get_from(pids[1], "/session", headers={"Cookie": again})
        assert (status, body) == (200, "2")  # ... read by the other
        assert "SECRET_KEY is not set" in server.log_text()


def test_database_sessions_expire_and_are_swept(db_settings):
    helper = sqlhelper.SqlHelper(settings=db_settings, maxconnections=2, mincached=0)
    store = deployment.DatabaseSessionInterface(helper)
    store.save("gone", {"counter": 1}, expires=time.time() - 1)
    store.save("kept", {"counter": 2})
    assert store.load("gone") is None and store.load("kept") == {"counter": 2}
    assert store.delete_expired() >= 1
    assert helper.fetchone("SELECT COUNT(*) FROM sessions WHERE sid = 'gone'")[0] == 0
    helper.pool.close()


def test_under_gunicorn_gthread_a_stalled_database_answers_every_request_within_6_s(
    throwaway_factory,
):
    """gunicorn's app factory configures the pool as serve does: 20 threads keep asking while
    the database is SIGSTOPped for 8 s; every answer within 6 s, service back within 2 s."""
    db = throwaway_factory()
    with deploy.database_for_run(db.settings, prefix="gthread_stall") as settings:
        server = deploy.Gunicorn(
            "08_deploy:create_serve_app()", "-k", "gthread", "--threads", "20",
            env=mysql_env(settings),
        )  # fmt: skip
        with server:
            answers, stop = [], threading.Event()
            barrier = threading.Barrier(21)

            def client():
                barrier.wait()
                while not stop.is_set():
                    started = time.monotonic()
                    status, _, _ = deploy.get(server.address, "/users", timeout=30)
                    answers.append((status, time.monotonic() - started))

            threads = [threading.Thread(target=client) for _ in range(20)]
            for t in threads:
                t.start()
            barrier.wait()
            resumed = stall_database(db.process.pid, 8, lambda: len(answers) >= 100)
            stop.set()
            for t in threads:
                t.join(60)
            back_after = seconds_until_ok(
                resumed, lambda: deploy.get(server.address, "/users?limit=1")[0]
            )
    assert max(seconds for _, seconds in answers) <= 6, sorted(answers, key=lambda a: -a[1])[:5]
    assert {status for status, _ in answers} <= {200, 503} and back_after <= 2.5


def test_08s_demo_shows_only_a_contextvar_keeps_asyncio_tasks_apart():
    result = run_script("08_deploy")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    lines = result.stdout.splitlines()
    contextvar = lines.index(next(line for line in lines if line.startswith("contextvar")))
    assert lines[contextvar + 1].strip() == "-> {'own': 100}"
    assert (
        "-> tasks share the thread and the greenlet: only a ContextVar keeps them apart." in lines
    )


def test_the_demo_leaves_the_tables_as_it_found_them(db_settings):
    tables = ["tb1", "idempotency_keys"]
    before = table_counts(db_settings, tables)
    result = run_script("08_deploy", env=mysql_env(db_settings), timeout=120)
    assert result.returncode == 0, result.stderr
    assert table_counts(db_settings, tables) == before


def test_the_demo_says_which_mysql_it_uses_first(db_settings):
    """A MySQL already on 3306 was used without a word: the first line says which server."""
    result = run_script("08_deploy", env=mysql_env(db_settings), timeout=120)
    first = result.stdout.splitlines()[0]
    where = f"{db_settings['host']}:{db_settings['port']}"
    assert first == f"MySQL at {where}, database {db_settings['database']!r}", first
