"""09 — beyond the notes: the context belongs to one ident, so it is not there elsewhere.

Notes: none directly. It takes 000's idents (§3 a thread's, §6 a greenlet's) and 第5步's pop
one step further than the notes do: code that runs elsewhere than the view (a new thread, a
greenlet, a body sent after the view returned) finds no request, and Flask's ctx.py helpers
put one there.

Over 05 this adds no machinery: copy_current_request_context and stream_with_context are
Flask 1.1.1's, from flask111.py (the layer of Flask's API beyond the notes, on 05). It adds
two routes to 05's demo app: /thread reads `request` in a new thread
and in a greenlet, plain and wrapped in copy_current_request_context, and shows the storage
holding the copy under the new ident; /stream sends a body that reads `request` after 第5步,
plain and wrapped in stream_with_context. And 003's 流程图 says each request makes a new app,
LocalStack and Local: two requests, compared, show what is made once and what each makes.

Run:  python 09_elsewhere.py          narrate both, then serve 05's demo app with them
      python 09_elsewhere.py --demo   narrate and exit
Test: python -m pytest tests/test_09_elsewhere.py
"""

import importlib
import threading

from werkzeug.test import Client

from instruments import cli, sections, serving, watching

localstack = importlib.import_module("03_localstack")
lifecycle = importlib.import_module("05_lifecycle")
flask111 = importlib.import_module("flask111")
request, _request_ctx_stack = lifecycle.request, lifecycle._request_ctx_stack
_app_ctx_stack = lifecycle._app_ctx_stack

PLAIN_TEXT = {"Content-Type": "text/plain; charset=utf-8"}
ROUTES = [
    ("/thread?value=hi", "request in a thread and a greenlet: plain, and copied"),
    ("/stream?value=hi", "a streamed body reads request after 第5步: an error"),
    ("/stream?value=hi&with_context=1", "the same with stream_with_context: it works"),
]


# ==========================================================================================
# Another thread, a greenlet: a new ident, an empty entry
# ==========================================================================================


def read_value():
    """What a function running elsewhere sees of this request."""
    try:
        return f"request.args['value'] = {request.args.get('value')!r}"
    except RuntimeError as exc:
        return f"RuntimeError: {str(exc).splitlines()[0]}"


def read_request_elsewhere():
    """From a view: read `request` in a new thread and in a greenlet, plain and wrapped in
    copy_current_request_context; what each saw, line by line."""
    view_ident = localstack.get_ident()
    lines = [f"in the view (ident {localstack.ident_label(view_ident)}): {read_value()}"]

    def copied_and_storage():
        storage, shown = localstack.storage_view(_request_ctx_stack), []
        for ident, whose in ((view_ident, "the view"), (localstack.get_ident(), "the copy, here")):
            label = localstack.ident_label(ident)
            items = ", ".join(
                f"<RequestContext {ctx.request.method} {ctx.request.path}>"
                for ctx in storage[label]["stack"]
            )
            shown.append(f"    {label}: {{'stack': [{items}]}}  <- {whose}")
        return "\n".join([read_value(), "  _request_ctx_stack.__storage__ now holds:", *shown])

    copied = flask111.copy_current_request_context
    for label, func, elsewhere in (
        ("a new thread", read_value, in_a_thread),
        ("a new thread, copy_current_request_context", copied(copied_and_storage), in_a_thread),
        ("a greenlet", read_value, in_a_greenlet),
        ("a greenlet, copy_current_request_context", copied(copied_and_storage), in_a_greenlet),
    ):
        lines += f"{label}: {elsewhere(func)}".splitlines()
    return lines


def in_a_greenlet(func):
    from greenlet import greenlet

    return greenlet(func).switch()


def in_a_thread(func):
    result = []
    thread = threading.Thread(target=lambda: result.append(func()))
    thread.start()
    thread.join()
    return result[0]


# ==========================================================================================
# After the view returned: a streamed body is sent after 第5步
# ==========================================================================================


def streamed_body():
    """A body produced after the view returned: by then 第5步 may have popped the context."""
    yield "after the view returned: "
    yield read_value() + "\n"


def create_app():
    """05's demo app, on flask111's Flask (whose request context can be copied), plus /thread
    and /stream."""
    app = lifecycle.create_app(flask111.Flask)
    app.routes = app.routes + ROUTES

    @app.route("/thread")
    def in_other_threads():
        return "\n".join(read_request_elsewhere()) + "\n", PLAIN_TEXT

    @app.route("/stream")
    def stream():
        body = streamed_body()
        if request.args.get("with_context"):
            body = flask111.stream_with_context(body)
        return lifecycle.Response(body, headers=PLAIN_TEXT)

    return app


# ==========================================================================================
# Demo
# ==========================================================================================


def narrate_elsewhere(app, out=print):
    out("== beyond the notes: the context belongs to one ident (GET /thread?value=hi) ==")
    with app.test_client().get("/thread?value=hi") as response:
        for line in response.get_data(as_text=True).splitlines():
            out(line)
    out("-> 03's Local keys the stacks by get_ident(): a new thread or greenlet has its own,")
    out("   empty, entry; copy_current_request_context pushes a copy of ctx under the new ident")


def narrate_stream(app, out=print):
    out("")
    out("== beyond the notes: a streamed body outlives its context (GET /stream?value=hi) ==")
    client = app.test_client()
    for query in ("value=hi", "value=hi&with_context=1"):
        with client.get(f"/stream?{query}") as response:
            out(f"/stream?{query} -> {response.get_data(as_text=True).strip()!r}")
    out("-> the body is sent after 第5步 popped the context; stream_with_context(gen) pushes it")
    out("   again while the body is produced")


# ==========================================================================================
# 003: 每个请求都流一遍 … 都创建新的对象 (app, ctx, LocalStack, Local)? Two requests, compared
# ==========================================================================================


def narrate_what_is_made_when(app=None, out=print):
    """003: does each request make a new app, LocalStack and Local?"""
    app = app or create_app()
    out("")
    out("== 003 says each request makes a new app, LocalStack and Local: two requests, compared ==")
    names = (
        "app",
        "_request_ctx_stack",
        "_app_ctx_stack",
        "request (a proxy)",
        "ctx",
        "app_ctx",
        "g",
    )
    seen = []
    for _ in range(2):
        with app.test_request_context("/"):
            ctx, app_ctx = _request_ctx_stack.top, _app_ctx_stack.top
            made = app_ctx.app, _request_ctx_stack, _app_ctx_stack, request, ctx, app_ctx, app_ctx.g
            seen.append(dict(zip(names, made, strict=True)))
    for label, same in (("the same object both times", True), ("new each request", False)):
        out(f"{label}: {', '.join(n for n in names if (seen[0][n] is seen[1][n]) is same)}")
    out("-> the app, the two LocalStacks (each with its Local) and the proxies are made once;")
    out("   a request makes its contexts (with its Request and its g), kept in the storage")
    try:  # 003, just above: from falsk.globals import _request_ctx_stack
        importlib.import_module("falsk.globals")
    except ModuleNotFoundError as exc:
        out(f"003's `from falsk.globals import _request_ctx_stack` -> ModuleNotFoundError: {exc}")
    viewed = lifecycle.Flask("notes")
    viewed.route("/")(lambda: repr(_request_ctx_stack.top))  # 003: 在视图函数中可以直接调用
    top = Client(viewed).get("/").text
    out(f"fixed, flask.globals (05's here): in a view, _request_ctx_stack.top -> {top}")


SECTIONS = sections.registry(
    sections.Section(
        "thread",
        narrate_elsewhere,
        read_value, read_request_elsewhere, in_a_greenlet, in_a_thread,
        heading="### Beyond the notes: the context belongs to one ident (GET /thread?value=hi)",
    ),
    sections.Section(
        "stream",
        narrate_stream,
        streamed_body, create_app,
        heading="### Beyond the notes: a streamed body outlives its context (GET /stream?value=hi)",
    ),
    sections.Section(
        "made_when",
        narrate_what_is_made_when,
        heading="### flask请求流程图", note="003",
    ),
)  # fmt: skip

# What `python 09_elsewhere.py` serves (sessions signed with $SECRET_KEY when it is set).
app = serving.use_secret_key(create_app())


def main(argv=None):
    watching.narrate_then_serve(
        "09_elsewhere.py",
        "Narrate a request read from another thread, a greenlet and a streamed body, then "
        "serve 05's demo app with /thread and /stream.",
        app,
        SECTIONS,
        prepare=create_app,
        argv=argv,
        port=5009,  # 05 has 5000, 08 serve 5008: all three can run at once
    )


if __name__ == "__main__":
    cli.run(main, "09_elsewhere.py")
