"""Watching a lesson's app: the recorder and its pages on the app, and the command line that
narrates and then serves it.

05 calls `watch(app, module)` when it builds its demo app, and hands `main` to
`narrate_then_serve`. Both are handed what they work on (the app, the lesson's module, its
narration); nothing here imports a numbered script.
"""

import os
import sys

from instruments import cli, pages, recorder, sections, serving


def watch(app, module):
    """Record the requests `app` serves, as `module` (the lesson) runs them, and add the pages
    that show them: / lists `app.routes`, /lifecycle draws a recorded request (every answer
    links to it), /storage gives both LocalStacks' storage as JSON. The recorder wraps
    app.wsgi_app, as any WSGI middleware would."""
    app.recordings = recorder.RecordingRing()
    app.wsgi_app = recorder.RecordingMiddleware(app, app.wsgi_app, module)

    @app.after_request
    def link_to_lifecycle(response):
        response.headers.add("Link", '</lifecycle>; rel="help"')  # every page: see the steps
        return response

    @app.route("/")
    def home():
        return pages.render_home_page(app.routes)

    @app.route("/lifecycle")
    def lifecycle():
        return pages.render_lifecycle_page(app.recordings, module.request.args.get("n"))

    @app.route("/storage")
    def storage():
        """Both LocalStacks' storage, right now: this request's contexts, and any other's."""
        stacks = {"_request_ctx_stack": module._request_ctx_stack}
        stacks["_app_ctx_stack"] = module._app_ctx_stack
        return {
            name: {
                str(ident): [repr(item) for item in data.get("stack", [])]
                for ident, data in module.storage_view(stack).items()
            }
            for name, stack in stacks.items()
        }

    @app.route("/favicon.ico")
    def favicon():
        return "", 204  # browsers ask for it; answered without a trace block

    return app


def narrate_routes(app, out=print):
    """The demo app's routes, as the home page lists them."""
    out("")
    out("== the demo app's routes ==")
    for url, what in app.routes:
        out(f"  {url:<32} {what}")


def parse_args(parser, argv):
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=cli.port, default=5000, help="port to listen on")
    parser.add_argument(
        "--trace", action="store_true", help="also narrate every request served, step by step"
    )
    parser.add_argument(
        "--demo", action="store_true", help="print the narration and exit, without serving"
    )
    sections.add_arguments(parser)
    return parser.parse_args(argv)


def narrate_then_serve(prog, description, app, lesson, prepare, argv=None):
    """The command line of a lesson that narrates its sections (`lesson`, run with what
    `prepare()` makes), then serves `app` (a watched one): --demo narrates and exits; --trace
    narrates every request served as well; --list, --only and --markdown do as in the other
    scripts, without serving.

    The port is taken first, so a second copy on the same port stops before narrating. If
    stdout goes away during the narration (`| head`), the narration stops and serving goes on.
    """
    parser = cli.ArgumentParser(prog=prog, description=description)
    args = parse_args(parser, sys.argv[1:] if argv is None else argv)
    if sections.wanted(args):
        return sections.run(lesson, args, parser, prepare, fresh=True)
    server = None
    if not args.demo:
        try:
            server = serving.bind(args.host, args.port, app)
        except serving.CannotListen as exc:
            sys.exit(f"{prog}: {exc}")
    try:
        sections.run(lesson, args, parser, prepare, fresh=True)
    except BrokenPipeError:  # `| head`: the reader went away
        if server is None:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(
            f"{prog}: stdout was closed; the narration stops, serving goes on",
            file=sys.stderr,
            flush=True,
        )
        args.trace = False
    if server is None:
        return
    serving.use_secret_key(
        app, say=lambda line: print(f"{prog}: {line}", file=sys.stderr, flush=True)
    )
    if args.trace:
        app.wsgi_app.out = recorder.print_traced
    url = serving.url_of(args.host, args.port)
    print(
        f"\n{prog.removesuffix('.py')}: serving on {url} ; "
        f"{'narrating every request' if args.trace else 'add --trace to narrate every request'}"
        f", and see {url}lifecycle",
        flush=True,
    )
    serving.serve(server)
