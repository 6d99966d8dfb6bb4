"""Watching a lesson's app: the recorder and its pages on the app, and the command line that
narrates and then serves it.

05 calls `watch(app, steps=..., stacks=..., proxies=..., signals=..., get_ident=...,
storage_view=..., idents_in=...)` when it builds its demo app, asks `narrating(app, out)` to
narrate a request, and hands `main` to `narrate_then_serve`. Each is handed what it works on;
nothing here imports a numbered script.
"""

import os
import sys
import threading
import weakref
from contextlib import contextmanager
from functools import partial
from typing import NamedTuple

from instruments import cli, figure, pages, recorder, sections, serving

# A watched app -> a weak reference to the recorder wrapping it (app.wsgi_app holds it; a strong
# one here would keep the app alive through the recorder's own reference to it).
_middleware = weakref.WeakKeyDictionary()


class Step(NamedTuple):
    """One row of a lesson's step table (what `watch` is handed as `steps`): note 000's number
    and note 002's ("" where a note has none), the phase, the function that runs, what the
    narration says when it is called (a format string over its arguments, or a function of
    them) and when it returns (the same, with `result`); `on`, the object it must be called
    on; `inside`, the row (or rows) it must be called from; `outermost`, only when no other
    step is open."""

    n000: str
    n002: str
    phase: str
    func: object
    says: object
    then: object = None
    on: object = None
    inside: object = None
    outermost: bool = False


# The pages `watch` adds, as the home page lists them before the app's own `app.routes`.
PAGES = [
    ("/", "this page"),
    ("/lifecycle", "the steps of a request this server just handled, drawn as a page"),
    ("/storage", "both LocalStacks' storage, right now"),
]


def watch(app, steps, stacks, proxies, signals, get_ident, storage_view, idents_in):
    """Record the requests `app` serves, step by step as the step table `steps` says, and add
    the pages that show them: / lists PAGES and `app.routes`, /lifecycle draws a recorded
    request (every answer links to it), /storage gives both stacks' storage as JSON. The
    recorder wraps app.wsgi_app, as any WSGI middleware would.

    `stacks` and `proxies` are {name: object}; `signals` the blinker signals to listen to;
    `get_ident()` the key the stacks store a request's contexts under; `storage_view(stack,
    ident=None)` and `idents_in(stack)` read a stack's storage (03's)."""
    app.routes = [*PAGES, *getattr(app, "routes", ())]
    lesson = recorder.Lesson(steps, stacks, proxies, signals, get_ident, storage_view, idents_in)
    app.recordings = recorder.RecordingRing()
    app.wsgi_app = recorder.RecordingMiddleware(app, app.wsgi_app, lesson)
    _middleware[app] = weakref.ref(app.wsgi_app)

    @app.after_request
    def link_to_lifecycle(response):
        response.headers.add("Link", '</lifecycle>; rel="help"')  # every page: see the steps
        return response

    @app.route("/")
    def home():
        return pages.render_home_page(app.name, app.routes)

    @app.route("/lifecycle")
    def lifecycle():
        return pages.render_lifecycle_page(app.recordings, proxies["request"].args.get("n"))

    @app.route("/storage")
    def storage():
        """Both stacks' storage, right now: this request's contexts, and any other's. JSON;
        for a browser, the same JSON on a page with a way back."""
        view = {
            name: {
                str(ident): [repr(item) for item in data.get("stack", [])]
                for ident, data in storage_view(stack).items()
            }
            for name, stack in stacks.items()
        }
        wants = proxies["request"].accept_mimetypes.best_match(["application/json", "text/html"])
        return pages.render_storage_page(view) if wants == "text/html" else view

    @app.route("/favicon.ico")
    def favicon():
        return "", 204  # browsers ask for it; answered without a trace block

    return app


def unwatch(app):
    """Stop recording the requests `app` serves (its pages stay, /lifecycle stays empty)."""
    app.wsgi_app = _middleware.pop(app)().wsgi_app


@contextmanager
def narrating(app, out, part=None):
    """Requests `app` serves inside the block (one at a time) are narrated to `out`, step by
    step, and not kept for /lifecycle. `part` keeps one of wsgi_app's steps (000's "1", "2",
    "3", "5"), or, with "", the lines of wsgi_app itself: each step's first line, and then the
    whole request as a figure (figure.sequence_diagram)."""
    middleware = _middleware[app]()
    with middleware.narrating(out if part is None else only_part(out, part)):
        yield
    _narrated["last"] = middleware.last_narrated
    if part == "" and middleware.last_narrated is not None:  # wsgi_app's own lines: the figure
        out("the same request as a figure (mermaid; `--markdown` adds it drawn):")
        for line in figure.sequence_diagram(middleware.last_narrated):
            out(line)


# The last request a narration made in this process: a served app's /lifecycle draws it until
# the app has served one of its own.
_narrated = {"last": None}


def only_part(out, part):
    """`out`, given only the narration's lines of `part` (see narrating)."""
    group = ""

    def write(line):
        nonlocal group
        first = line.startswith("-------")  # the request line, before the steps
        top = not first and line[18:19] not in ("", " ")  # a line of wsgi_app itself
        if top:
            number = line[:8].strip()
            group = number.split(".")[0] if number[:1].isdigit() else ""
        if (part == "" and (first or top or group == "")) or (part and group == part):
            out(line)

    return write


def narrate_routes(app, out=print):
    """The demo app's routes, as the home page lists them."""
    out("")
    out("== the demo app's routes ==")
    for url, what in app.routes:
        out(f"  {url:<32} {what}")


def parse_args(parser, argv, port=5000):
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=cli.port, default=port, help="port to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--trace", action="store_true", help="also narrate every request served, step by step"
    )
    parser.add_argument(
        "--demo", action="store_true", help="print the narration and exit, without serving"
    )
    sections.add_arguments(parser)
    return parser.parse_args(argv)


def narrate_then_serve(prog, description, app, lesson, prepare, argv=None, port=5000):
    """The command line of a lesson that narrates its sections (`lesson`, run with what
    `prepare()` makes), then serves `app` (a watched one): --demo narrates and exits; --trace
    narrates every request served as well; --list, --only and --markdown do as in the other
    scripts, without serving. `port` is the script's own default (05 5000, 09 5009), so that
    the scripts of the reading path can run at once.

    Serving is `app.run(host, port)`, that is run_simple (serving.run). The port is checked
    first, so a copy started on a port in use stops before narrating. If stdout goes away
    during the narration (`| head`), the narration stops and serving goes on.
    """
    parser = cli.ArgumentParser(prog=prog, description=description)
    args = parse_args(parser, sys.argv[1:] if argv is None else argv, port)
    if sections.wanted(args):
        return sections.run(lesson, args, parser, prepare, fresh=True)
    if not args.demo:
        try:
            serving.check_port(args.host, args.port)
        except serving.CannotListen as exc:
            sys.exit(f"{prog}: {exc}")
    try:
        sections.run(lesson, args, parser, prepare, fresh=True)
    except BrokenPipeError:  # `| head`: the reader went away
        if args.demo:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(
            f"{prog}: stdout was closed; the narration stops, serving goes on",
            file=sys.stderr,
            flush=True,
        )
        args.trace = False
    if args.demo:
        return
    serving.use_secret_key(
        app, say=lambda line: print(f"{prog}: {line}", file=sys.stderr, flush=True)
    )
    if args.trace:
        _middleware[app]().out = partial(recorder.print_traced, prog)
    url = serving.url_of(args.host, args.port)
    app.recordings.narrated = _narrated["last"]
    narrate_routes(app)
    print(
        f"\n{prog.removesuffix('.py')}: app.run() -> run_simple, serving on {url} ; "
        f"{'narrating every request' if args.trace else 'add --trace to narrate every request'}"
        f", and see {url}lifecycle",
        flush=True,
    )
    serving.run(app, args.host, args.port)


def functions_run(functions, during):
    """The names of `functions` that ran while `during()` ran, in any thread, in call order."""
    names = {function.__code__: function.__qualname__ for function in functions}
    ran = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in names:
            ran.append(names[frame.f_code])

    before = sys.getprofile(), threading.getprofile()
    threading.setprofile(profile)  # the threads `during` starts: a server's, say
    sys.setprofile(profile)
    try:
        during()
    finally:
        sys.setprofile(before[0])
        threading.setprofile(before[1])
    return ran
