"""08 — the lessons beyond one process: 05 and 06 under gunicorn, with gevent and with forks.

Notes: the 协程 line of 000's §3 (`try: from greenlet import getcurrent as get_ident`), taken
to a real server; and 002's module-level `POOL = PooledDB(...)`, taken to a server that forks.

Over 06 this adds no helper: it serves 05's and 06's apps the ways a production server does.
协程: use_ident keys the context stacks by the OS thread, the greenlet or a ContextVar, and
create_ident_app serves 05's app that way. 进程: each worker process opens its own pool after
the fork (06's ServingSqlHelper.pool); InheritedPoolSqlHelper keeps the parent's, to show why.
bench/bench_deploy.py measures each on real gunicorn processes (docs/beyond-one-process.md).

Run:  gunicorn -k gevent '08_deploy:create_ident_app("greenlet")'
      python bench/bench_deploy.py
Test: python -m pytest tests/test_06_deploy.py
"""

import asyncio
import importlib
import sys
import threading
from collections import Counter

from instruments import cli, serving

localstack = importlib.import_module("03_localstack")
localproxy = importlib.import_module("04_proxy")
lifecycle = importlib.import_module("05_lifecycle")
sqlhelper = importlib.import_module("06_sqlhelper")


def _say(line):
    print(f"08_deploy.py: {line}", file=sys.stderr, flush=True)


# ==========================================================================================
# 协程 and the ident, on a real server (after the notes: gunicorn -k gevent)
# ==========================================================================================
# A gevent worker serves every request in one OS thread, each in its own greenlet. The notes'
# `try: from greenlet import getcurrent as get_ident` is what keeps their contexts apart there.

IDENT_STRATEGIES = {
    "thread": "threading.get_ident: the OS thread",
    "greenlet": "greenlet.getcurrent: 03's get_ident, the notes' 协程 line",
    "contextvar": "a ContextVar: 03's ContextVarLocalStack, as in Flask >= 2.2",
}
_LOCALSTACKS = (
    localproxy._request_ctx_stack,
    localproxy._app_ctx_stack,
)  # 04's, keyed by get_ident


def use_ident(strategy):
    """Key the two context stacks of 04 and 05 by `strategy`, for this whole process."""
    if strategy not in IDENT_STRATEGIES:
        raise ValueError(f"ident {strategy!r} is not one of {', '.join(IDENT_STRATEGIES)}")
    if strategy == "contextvar":
        stacks = localstack.ContextVarLocalStack(), localstack.ContextVarLocalStack()
    else:
        stacks = _LOCALSTACKS
        # gevent's worker patches threading.get_ident to answer the greenlet; the OS thread's
        # ident is the original. Nothing here patches threading.
        ident = localstack.get_ident if strategy == "greenlet" else _os_thread_ident()
        localstack.LocalManager(list(stacks), ident_func=ident)  # Werkzeug 1.0.1's own switch
    for module in (localproxy, lifecycle):
        module._request_ctx_stack, module._app_ctx_stack = stacks


def _os_thread_ident():
    from gevent.monkey import get_original

    return get_original("_thread", "get_ident")


def create_ident_app(ident="greenlet"):
    """05's demo app with its stacks keyed by `ident`, plus /together. For example:
    gunicorn -k gevent '08_deploy:create_ident_app("thread")'"""
    use_ident(ident)
    app = serving.use_secret_key(lifecycle.create_app(), say=_say)
    # Without 05's recorder: it watches one request per OS thread and reads LocalStack storage.
    app.wsgi_app = app.wsgi_app.wsgi_app
    app.routes = app.routes + [("/together?value=hi&n=1", "wait for n requests, then answer")]
    sqlhelper.answered_by_header(app)
    request = lifecycle.request

    @app.route("/together")
    def together():
        """n requests meet here, each inside its own request context, before any reads it."""
        n = request.args.get("n", "1")
        if not n.isdigit() or not 1 <= int(n) <= 1000:
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
# The sessions every worker can read (DatabaseSessionInterface) are serve's, in 06.


class InheritedPoolSqlHelper(sqlhelper.ServingSqlHelper):
    """What a pool opened before the fork does: every worker uses the parent's connections."""

    def needs_own_pool(self):
        return self.pool_pid is None  # opened once, wherever: forked workers keep it


def create_app_with_pool_opened_now(per_process=True):
    """The app with a one-connection pool opened right here, as 002's module-level
    `POOL = PooledDB(...)` is at import; under `gunicorn --preload` that is the master,
    before the fork. per_process=False keeps using that pool in every worker."""
    helper_class = sqlhelper.ServingSqlHelper if per_process else InheritedPoolSqlHelper
    helper = helper_class(settings=sqlhelper.settings_or_exit(), maxconnections=1, mincached=1)
    sqlhelper.setup_or_exit(helper)
    helper.pool  # noqa: B018  (opened now, in this process)
    return sqlhelper.create_serve_app(helper)


# ==========================================================================================
# Demo — what runs without a server: the ident each way, under asyncio
# ==========================================================================================


def main(argv=None):
    cli.demo_parser("08_deploy.py", __doc__).parse_args(sys.argv[1:] if argv is None else argv)
    print("== 协程: 100 asyncio tasks on one thread, each in a request context of its own, meet")
    print("   at a barrier, then read request.args['value'] (own: their own value) ==")
    for strategy, meaning in IDENT_STRATEGIES.items():
        outcomes = dict(sorted(asyncio_ident_race(strategy, 100).items()))
        print(f"{strategy:<10} {meaning}")
        print(f"{'':<10} -> {outcomes}")
    print("-> tasks share the thread and the greenlet: only a ContextVar keeps them apart.")
    print("   Under gunicorn: python bench/bench_deploy.py (docs/beyond-one-process.md)")


if __name__ == "__main__":
    cli.run(main, "08_deploy.py")
