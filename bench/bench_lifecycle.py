"""What the context machinery costs per request: 05's Flask vs real Flask 3 vs bare Werkzeug.

One app on three stacks: a before_request that sets g, an after_request that adds a header,
and a route with a URL argument that reads request.args. "floor" does the same work in bare
Werkzeug (Request + Map.match + Response) with no contexts, hooks, session or signals.

1. In process: each app is called as a WSGI app on a fresh copy of one environ; rounds are
   interleaved (floor, ours, flask, floor, ...) and the median per-request time is kept.
2. Over HTTP: each app under run_simple(threaded=True) in its own process, 8 client threads.

Run: python bench/bench_lifecycle.py [--json PATH] [--rounds 9] [--seconds 3] [--profile]
Targets: Flask takes >= 1.5x ours per request; ours <= 1.35x the floor.
"""

import http.client
import socket
import subprocess
import sys
import threading
import time
import types

import common
import flask
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

lc = common.load("05_lifecycle")
PATH = "/item/42?q=x"


def build(api):
    """The same app on our Flask (api = 05_lifecycle) or on real Flask (api = flask)."""
    app = api.Flask("bench")

    @app.before_request
    def before():
        api.g.user = "alice"

    @app.after_request
    def after(response):
        response.headers["X-After"] = "1"
        return response

    @app.route("/item/<int:n>")
    def item(n):
        return f"item {n} q={api.request.args.get('q')} user={api.g.user}"

    return app


def build_floor():
    url_map = Map([Rule("/item/<int:n>", endpoint="item")])

    def app(environ, start_response):
        request = Request(environ)
        _, args = url_map.bind_to_environ(environ).match()
        g = types.SimpleNamespace(user="alice")
        response = Response(f"item {args['n']} q={request.args.get('q')} user={g.user}")
        response.headers["X-After"] = "1"
        return response(environ, start_response)

    return app


APPS = {"floor (bare Werkzeug)": build_floor, "ours (05_lifecycle)": lambda: build(lc),
        "Flask 3": lambda: build(flask)}


def per_request_us(apps, rounds, number=3000):
    environ = EnvironBuilder(PATH).get_environ()

    def start_response(status, headers, exc_info=None):
        pass

    def call(app):
        body = app(dict(environ), start_response)
        b"".join(body)
        body.close()

    samples = {name: [] for name in apps}
    for app in apps.values():
        call(app)  # warm up (and before_first_request)
    for _ in range(rounds):
        for name, app in apps.items():
            started = time.perf_counter()
            for _ in range(number):
                call(app)
            samples[name].append((time.perf_counter() - started) / number * 1e6)
    return {name: common.median(values) for name, values in samples.items()}


# --- over HTTP ------------------------------------------------------------------------------


def serve(which, port):
    """Child process: serve one app with run_simple(threaded=True), quietly."""
    import logging

    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build(lc) if which == "ours" else build(flask)
    run_simple("127.0.0.1", port, app, threaded=True)


def requests_per_second(which, seconds, clients=8):
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", which, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port)
        done, errors = [0] * clients, [0] * clients
        deadline = time.monotonic() + seconds

        def client(i):
            while time.monotonic() < deadline:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                try:
                    conn.request("GET", PATH)
                    response = conn.getresponse()
                    response.read()
                    done[i] += response.status == 200
                    errors[i] += response.status != 200
                except OSError:
                    errors[i] += 1
                finally:
                    conn.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(done) / (time.monotonic() - started), sum(errors)
    finally:
        server.terminate()
        server.wait(10)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server on port {port} did not start")


def profile_ours(top=15):
    import cProfile
    import pstats

    app, environ = build(lc), EnvironBuilder(PATH).get_environ()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5000):
        b"".join(app(dict(environ), lambda *a: None))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main():
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--seconds", type=float, default=3.0, help="per HTTP measurement")
    p.add_argument("--profile", action="store_true", help="also cProfile ours")
    p.add_argument("--serve", choices=["ours", "flask"], help=argparse_hidden())
    p.add_argument("--port", type=int, help=argparse_hidden())
    args = p.parse_args()
    if args.serve:
        return serve(args.serve, args.port)
    print("bench_lifecycle:", common.environment())
    print(f"1. per request, in process (median of {args.rounds} interleaved rounds):")
    medians = per_request_us({name: make() for name, make in APPS.items()}, args.rounds)
    floor, ours, real = medians.values()
    table = common.Table([("app", 22), ("us/request", 10), ("x floor", 8), ("x ours", 7)])
    for name, value in medians.items():
        table.add(name, value, value / floor, value / ours)
    flask_ratio, floor_ratio = real / ours, ours / floor
    print(f"target: Flask >= 1.5x ours: {flask_ratio:.2f}x -> {common.verdict(flask_ratio >= 1.5)}")
    print(f"target: ours <= 1.35x floor: {floor_ratio:.2f}x -> "
          f"{common.verdict(floor_ratio <= 1.35)}")
    print(f"2. over HTTP, run_simple(threaded=True), 8 clients, {args.seconds:.0f}s each, "
          "alternating:")
    http_table = common.Table([("app", 22), ("requests/s", 10), ("errors", 7)])
    rates = {"ours": [], "flask": []}
    for _ in range(2):
        for which in ("ours", "flask"):
            rate, errors = requests_per_second(which, args.seconds)
            rates[which].append(rate)
            http_table.add(which, rate, errors)
    http_ratio = common.median(rates["ours"]) / common.median(rates["flask"])
    print(f"ours / Flask requests per second: {http_ratio:.2f}x")
    if args.profile:
        profile_ours()
    common.write_json(args.json, {
        "environment": common.environment(), "per_request_us": medians,
        "flask_over_ours": flask_ratio, "ours_over_floor": floor_ratio,
        "targets_met": {"flask_over_ours>=1.5": flask_ratio >= 1.5,
                        "ours_over_floor<=1.35": floor_ratio <= 1.35},
        "http_requests_per_second": rates, "http_ours_over_flask": http_ratio})


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
