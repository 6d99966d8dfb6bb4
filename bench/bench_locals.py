"""The context-local primitives, side by side in one run (notes §6–§8, and what replaced them).

Attribute get/set on 03's Local vs threading.local, a ContextVar and Werkzeug 3's Local;
LocalStack.top vs Werkzeug 3's; an attribute read through 04's `request` proxy (inside a 05
request context) vs Flask 3's `request` proxy. Rounds are interleaved and the median is kept.

Run: python bench/bench_locals.py [--json results.json] [--rounds 7]
Target: our proxy read within 2.5x of Flask 3's.
"""

import threading
import timeit
from contextvars import ContextVar

import common
import flask
import werkzeug.local as wz

localstack = common.load("03_localstack")
lifecycle = common.load("05_lifecycle")

NUMBER = 200_000


def candidates():
    ours_local, thread_local, wz_local = localstack.Local(), threading.local(), wz.Local()
    var = ContextVar("bench")
    for obj in (ours_local, thread_local, wz_local):
        obj.x = 1
    var.set(1)
    ours_stack, wz_stack, cv_stack = (
        localstack.LocalStack(),
        wz.LocalStack(),
        localstack.ContextVarLocalStack(),
    )
    for stack in (ours_stack, wz_stack, cv_stack):
        stack.push("ctx")
    g = {
        "ours_local": ours_local,
        "thread_local": thread_local,
        "wz_local": wz_local,
        "var": var,
        "ours_stack": ours_stack,
        "wz_stack": wz_stack,
        "cv_stack": cv_stack,
    }
    return g, [
        ("attribute get", "03 Local (ident dict + __getattr__)", "ours_local.x"),
        ("attribute get", "threading.local", "thread_local.x"),
        ("attribute get", "ContextVar.get()", "var.get()"),
        ("attribute get", "Werkzeug 3 Local (ContextVar)", "wz_local.x"),
        ("attribute set", "03 Local", "ours_local.x = 2"),
        ("attribute set", "threading.local", "thread_local.x = 2"),
        ("attribute set", "ContextVar.set()", "var.set(2)"),
        ("attribute set", "Werkzeug 3 Local", "wz_local.x = 2"),
        ("LocalStack.top", "03 LocalStack", "ours_stack.top"),
        ("LocalStack.top", "03 ContextVarLocalStack", "cv_stack.top"),
        ("LocalStack.top", "Werkzeug 3 LocalStack", "wz_stack.top"),
    ]


def time_proxies(rounds):
    """request.method inside a pushed request context, ours and Flask 3's."""
    ours_app, flask_app = lifecycle.Flask("bench"), flask.Flask("bench")
    results = {
        "04 request proxy (partial -> LocalStack.top)": [],
        "Flask 3 request proxy (ContextVar)": [],
    }
    for _ in range(rounds):
        with ours_app.test_request_context("/"):
            results["04 request proxy (partial -> LocalStack.top)"].append(
                _ns(timeit.timeit("r.method", globals={"r": lifecycle.request}, number=NUMBER))
            )
        with flask_app.test_request_context("/"):
            results["Flask 3 request proxy (ContextVar)"].append(
                _ns(timeit.timeit("r.method", globals={"r": flask.request}, number=NUMBER))
            )
    return {name: common.median(values) for name, values in results.items()}


def _ns(seconds):
    return seconds / NUMBER * 1e9


def main():
    args = common.parser(__doc__)
    args.add_argument(
        "--rounds",
        type=common.positive(int),
        default=7,
        help="interleaved rounds; the median is kept (default 7)",
    )
    args = args.parse_args()
    print("bench_locals:", common.environment())
    g, rows = candidates()
    samples = {(group, name): [] for group, name, _ in rows}
    for _ in range(args.rounds):  # interleaved: every candidate once per round
        for group, name, stmt in rows:
            samples[(group, name)].append(_ns(timeit.timeit(stmt, globals=g, number=NUMBER)))
    medians = {key: common.median(values) for key, values in samples.items()}
    for key, value in time_proxies(args.rounds).items():
        medians[("proxy attribute read", key)] = value
    table = common.Table(
        [("operation", 22), ("implementation", 46), ("ns/op", 8), ("x fastest", 9)]
    )
    for group in dict.fromkeys(group for group, _ in medians):
        fastest = min(v for (g_, _), v in medians.items() if g_ == group)
        for (g_, name), value in medians.items():
            if g_ == group:
                table.add(group, name, value, value / fastest)
    ours = medians[("proxy attribute read", "04 request proxy (partial -> LocalStack.top)")]
    theirs = medians[("proxy attribute read", "Flask 3 request proxy (ContextVar)")]
    ratio = ours / theirs
    print(
        f"target: our proxy read within 2.5x of Flask 3's: {ratio:.2f}x -> "
        f"{common.verdict(ratio <= 2.5)}"
    )
    if ratio > 2.5:
        print(common.MISS_MEANS)
    common.write_json(
        args.json,
        {
            "environment": common.environment(),
            "rows": table.rows,
            "proxy_ratio": ratio,
            "target_met": ratio <= 2.5,
        },
    )


if __name__ == "__main__":
    main()
