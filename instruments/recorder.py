"""The recorder behind 05's narration, --trace and /lifecycle: one request's real calls,
written down as the notes' numbered steps.

sys.setprofile calls a function on every Python call and return of a thread. The recorder
picks out the functions of the step table it is handed, so what is printed and drawn comes
from the calls that really happened: nothing in 05's classes prints, and nothing there knows
the recorder exists.

    lesson = Lesson(steps, stacks, proxies, signals, get_ident, storage_view, idents_in)
    app.wsgi_app = RecordingMiddleware(app, app.wsgi_app, lesson)  # Flask's middleware idiom

A row of the step table (05's `Step`) gives the notes' two numbers, the phase, the function,
what to say when it is called and when it returns (a str.format template over its arguments,
or a function of them), and where it counts (`on` an object, `inside` another row,
`outermost`). What the recorder adds on its own: the storage of the two stacks after a push
or a pop on one of them, the hooks the app registered (read from its public lists), the
signals, and the proxies: only the view's first use of one is followed through the chain
(002's 3.2-3.7), later ones are counted.

Nothing here imports a numbered script.
"""

import inspect
import itertools
import os
import re
import string
import sys
import threading
import weakref
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial


class Lesson:
    """What the recorder watches, as handed to it: the step table, the two stacks by name,
    the proxies by name, the signals, the function that names the current ident (the key a
    request's contexts are stored under), and two readers of a stack's storage (03's)."""

    def __init__(self, steps, stacks, proxies, signals, get_ident, storage_view, idents_in):
        self.steps = tuple(steps)
        self.stacks = dict(stacks)
        self.proxy_names = {id(proxy): name for name, proxy in proxies.items()}
        self.signals = list(signals)
        self.get_ident = get_ident
        self.storage_view, self.idents_in = storage_view, idents_in
        proxy_class = type(next(iter(proxies.values())))  # type(): a proxy hides its class
        self.proxy_methods = {
            f.__code__ for f in vars(proxy_class).values() if inspect.isfunction(f)
        }
        self.proxy_use = proxy_class._get_current_object.__code__  # every use passes here
        made = proxy_class.__init__
        self.made_at_import = [row for row in self.steps if row.func is made]
        self.rows = {}  # code object -> the rows of that function, in the table's order
        for row in self.steps:
            if row.func is not made:
                self.rows.setdefault(row.func.__code__, []).append(row)

    def rows_for(self, app):
        """The rows by code object for `app`: a row on a method stands for the method that
        overrides it in the app's own classes too (its Flask subclass, its context, request and
        response classes, its session interface: 自定义session is 07's; a pasted section
        overrides the method it shows)."""
        rows = {code: list(found) for code, found in self.rows.items()}
        classes = [type(app), type(app.session_interface)]
        classes += [getattr(app, name, None) for name in dir(type(app)) if name.endswith("_class")]
        for row in self.steps:
            name = getattr(row.func, "__name__", None)
            for cls in {cls for cls in classes if isinstance(cls, type)}:
                defined_in = [base for base in cls.__mro__ if vars(base).get(name) is row.func]
                override = getattr(cls, name, None) if defined_in else None
                if inspect.isfunction(override) and override is not row.func:
                    found = rows.setdefault(override.__code__, [])
                    if row not in found:
                        found.append(row)
        return rows

    def stack_name(self, obj):
        return next((name for name, stack in self.stacks.items() if stack is obj), None)


@dataclass
class RecordedStep:
    n000: str  # the step's number in note 000 (第1步–第5步), or "" where 000 has none
    n002: str  # the same step's number in note 002 (1.0–4.4), or ""
    phase: str  # push / dispatch / finalize / respond / pop
    func: str  # the function that ran
    text: str
    depth: int
    items: list = field(default_factory=list)  # in order: inner steps and (kind, text) lines
    storage: dict = field(default_factory=dict)  # {stack name: StackView} right after it
    row: object = field(default=None, repr=False)  # the row of the step table it is

    @property
    def lines(self):
        return [item for item in self.items if not isinstance(item, RecordedStep)]


@dataclass
class Recording:
    number: int
    method: str
    path: str
    steps: list = field(default_factory=list)  # every step, in the order the calls began
    items: list = field(default_factory=list)  # the outermost steps: the call tree's roots
    overlapped: bool = False  # another request ran on this OS thread meanwhile (greenlets)


def short_item(item):
    """A context as the storage lines show it: <RequestContext GET /session>."""
    req = getattr(item, "request", None)
    if req is not None and hasattr(req, "method"):
        return f"<{type(item).__name__} {req.method} {req.path}>"
    return repr(item)


@dataclass
class StackView:
    """One stack as a step of one request sees it: that request's own entry, and how many
    other idents hold an entry at that moment (counted, not copied: see stacks_snapshot)."""

    entries: dict  # {ident label: [short repr of each context]}, the recorded ident only
    others: int = 0


def stacks_snapshot(lesson, ident):
    """{stack name: StackView} for the lesson's two stacks, right now, as `ident` sees them.

    Only `ident`'s own entry is copied; the other requests in flight are counted. A snapshot
    is taken after every step, so copying every entry would make recording one request cost
    as much as all the requests in flight together (the cost grew with their square)."""
    views = {}
    for name, stack in lesson.stacks.items():
        own = lesson.storage_view(stack, ident) if ident is not None else {}
        entries = {
            (label if isinstance(label, str) else f"<thread {label}>"): [
                short_item(i) for i in data.get("stack", ())
            ]
            for label, data in own.items()
        }
        views[name] = StackView(entries, max(0, lesson.idents_in(stack) - len(entries)))
    return views


def format_storage(view):
    """A StackView as the notes draw __storage__: {ident: {'stack': [items]}}."""
    inner = ", ".join(
        f"{ident}: {{'stack': [{', '.join(items)}]}}" for ident, items in view.entries.items()
    )
    others = f" (+{view.others} other idents in flight, not shown)" if view.others else ""
    return "{" + inner + "}" + others


_NO_RESULT = object()


class _Said(string.Formatter):
    """str.format, but a text cut to a precision (`{e!r:.40}`) ends with … to say so."""

    def format_field(self, value, format_spec):
        cut = re.fullmatch(r"\.(\d+)", format_spec)
        if cut and isinstance(value, str) and len(value) > int(cut.group(1)):
            return value[: int(cut.group(1)) - 1] + "…"
        return super().format_field(value, format_spec)


_SAID = _Said()


def render(said, args, result=_NO_RESULT):
    """A row's `says` (on the call) or `then` (on the return, with its result): a template
    over the call's arguments, or a function of them."""
    if callable(said):
        return said(args) if result is _NO_RESULT else said(args, result)
    return _SAID.vformat(said, (), args if result is _NO_RESULT else {**args, "result": result})


class Recorder:
    """One request's steps. `sink`, if given, gets each printed line as it happens."""

    def __init__(self, lesson, app, recording, sink=None):
        self.lesson = lesson
        self.app = app
        self.recording = recording
        self.sink = sink
        # The key this request's contexts are stored under. A greenlet is held by a weak
        # reference: a strong one kept a thread's main greenlet alive past its thread, and
        # freeing it later crashed the interpreter (CPython 3.11, greenlet 3).
        self.ident = _weak(lesson.get_ident())
        self.open = []  # (frame, step) for steps whose function has not returned yet
        self.rows = lesson.rows_for(app)
        self.hooks = _hook_names(app)
        self.view_frame = None
        self.proxy_traced = False  # the view's first proxy use is traced through 3.3-3.7
        self.proxy_uses = []  # the names of the proxies the view used after that one

    # --- writing down --------------------------------------------------------------------
    def step(self, frame, row, text):
        step = RecordedStep(
            row.n000, row.n002, row.phase, frame.f_code.co_qualname, text, len(self.open),
            row=row,
        )  # fmt: skip
        self.recording.steps.append(step)
        (self.open[-1][1].items if self.open else self.recording.items).append(step)
        self.open.append((frame, step))
        self.emit(step, row.n000, row.n002, text)
        return step

    def line(self, kind, text):
        depth = len(self.open)
        if self.open:
            self.open[-1][1].items.append((kind, text))
        self.emit(None, "signal" if kind == "signal" else "", "", text, depth)

    def note(self, row, text):
        """A numbered line that is not a call of its own (002's 3.2: a proxy made at import)."""
        if self.open:
            self.open[-1][1].items.append(("note", f"{row.n002} {text}"))
        self.emit(None, row.n000, row.n002, text, len(self.open))

    def emit(self, step, n000, n002, text, depth=None):
        if self.sink is None:
            return
        indent = 18 + 2 * (step.depth if step is not None else depth)
        n002 = f"({n002})" if n002 else ""  # 002 numbers the steps its own way: set apart
        head = f"{n000:<8}{n002:<10}".ljust(indent)
        if len(head) + len(text) > 100 and " = {" in text:  # a storage dict: wrap after " ="
            name, value = text.split(" = ", 1)
            self.sink(f"{head}{name} =")
            self.sink(f"{' ' * indent}{value}")
        elif len(head) + len(text) > 100 and "; " in text:  # a header: wrap at its last "; "
            first, rest = text.rsplit("; ", 1)
            self.sink(f"{head}{first};")
            self.sink(f"{' ' * (indent + 3)}{rest}")
        else:
            self.sink(f"{head}{text}")

    def storage_lines(self):
        for name, view in stacks_snapshot(self.lesson, self.ident()).items():
            self.line("storage", f"{name}.__storage__ = {format_storage(view)}")

    # --- sys.setprofile events -----------------------------------------------------------
    def on_event(self, frame, event, arg):
        if event == "call":
            rows = self.rows.get(frame.f_code)
            if rows is not None:
                self.on_call(frame, rows)
            elif frame.f_code in self.hooks:
                self.on_hook(frame)
        elif event == "return":
            if self.open and self.open[-1][0] is frame:
                self.on_return(frame, arg)
            if frame is self.view_frame:
                self.view_frame = None
                if self.proxy_uses:
                    names = " and ".join(sorted(set(self.proxy_uses)))
                    self.line(
                        "note",
                        f"the view used {names} {len(self.proxy_uses)} more "
                        "time(s), each through the same chain",
                    )

    def on_call(self, frame, rows):
        args = dict(frame.f_locals)
        row = next((r for r in rows if self.counts(r, args)), None)
        if row is None or self.is_super_call(row, args):
            return
        if frame.f_code in self.lesson.proxy_methods and not self.follow_proxy(frame, row, args):
            return
        self.step(frame, row, render(row.says, args))

    def is_super_call(self, row, args):
        """An override of a step (a subclass's push) calling the method it overrides through
        super(): one step, not two."""
        if not self.open or self.open[-1][1].row is not row:
            return False
        return self.open[-1][0].f_locals.get("self", self) is args.get("self")

    def counts(self, row, args):
        """Whether a call of the row's function is the row: on its object, inside its row."""
        if row.on is not None and args.get("self") is not row.on:
            return False
        if row.outermost and self.open:
            return False
        if row.inside is not None:
            one = hasattr(row.inside, "func")  # a row (itself a tuple), or a tuple of rows
            inside = (row.inside,) if one else row.inside
            return bool(self.open) and self.open[-1][1].row in inside
        return True

    def follow_proxy(self, frame, row, args):
        """Only the view's first use of a proxy is followed (with 3.2, how it was made, said
        first); later uses are counted."""
        if self.view_frame is None:
            return False
        proxy = args["self"]
        args["proxy"] = self.lesson.proxy_names.get(id(proxy), "a LocalProxy")
        if self.proxy_traced and row.inside is None:
            if frame.f_code is self.lesson.proxy_use:
                self.proxy_uses.append(args["proxy"])
            return False
        args["made_with"] = _made_with(proxy)
        if row.inside is None:
            for made in self.lesson.made_at_import:
                self.note(made, render(made.says, args))
        if frame.f_code is self.lesson.proxy_use:
            self.proxy_traced = True
        return True

    def on_return(self, frame, result):
        step = self.open[-1][1]
        step.storage = stacks_snapshot(self.lesson, self.ident())
        row, args = step.row, dict(frame.f_locals)
        if self.lesson.stack_name(row.on) is not None:  # a push or pop: show the storage
            self.storage_lines()
        if row.then is not None:
            text = render(row.then, args, result)
            if text:
                self.line("result", text)
        self.open.pop()

    def on_hook(self, frame):
        code = frame.f_code
        kind = self.hooks[code]
        params = ", ".join(code.co_varnames[: code.co_argcount])
        self.line("hook", f"{kind} {code.co_name}({params})")
        if kind == "view":
            self.view_frame = frame


def _weak(ident):
    """A callable that gives `ident` back, holding a greenlet only weakly (ints as they are)."""
    return (lambda: ident) if isinstance(ident, int) else weakref.ref(ident)


def _made_with(proxy):
    """What the proxy was made with, read from it: partial(_lookup_req_object, 'request')."""
    made = getattr(proxy, "__wrapped__", None)  # a callable-backed proxy keeps its callable
    if made is None:
        return "a Local"
    func = getattr(made, "func", made)
    args = ", ".join(repr(a) for a in getattr(made, "args", ()))
    return f"partial({func.__name__}, {args})" if args else func.__name__


def _hook_names(app):
    """{code object: 'before_request'} for every function the app registered."""
    hooks = {f.__code__: "view" for f in app.view_functions.values() if hasattr(f, "__code__")}
    for kind, table in (
        ("before_request", app.before_request_funcs),
        ("after_request", app.after_request_funcs),
        ("teardown_request", app.teardown_request_funcs),
    ):
        for funcs in table.values():
            hooks.update((f.__code__, kind) for f in funcs)
    for kind, funcs in (
        ("before_first_request", app.before_first_request_funcs),
        ("teardown_appcontext", app.teardown_appcontext_funcs),
    ):
        hooks.update((f.__code__, kind) for f in funcs)
    for by_code in getattr(app, "error_handler_spec", {}).values():  # flask111's apps have it
        for handlers in by_code.values():
            hooks.update((f.__code__, "errorhandler") for f in handlers.values())
    return hooks


def _short(value):
    text = repr(value)
    return text if len(text) <= 50 else text[:47] + "..."


# --- one recording at a time per OS thread -------------------------------------------------
# sys.setprofile watches an OS thread, so recordings are keyed by the OS thread's ident: not by
# 03's greenlet-first get_ident (calling greenlet.getcurrent() inside a profile function crashed
# the interpreter under load, CPython 3.11 and 3.12 here), and not by threading.get_ident,
# which gevent's monkey-patching turns into the greenlet's.

_recorders = {}  # OS thread ident -> the Recorder watching that thread right now


def _profile(frame, event, arg):
    recorder = _recorders.get(_thread_ident())
    if recorder is not None and (event == "call" or event == "return"):
        recorder.on_event(frame, event, arg)


_thread_ident = threading.get_ident  # gevent patches it to the greenlet's: see _listen_to_signals


def _on_signal(sender, _signal, **kwargs):
    recorder = _recorders.get(_thread_ident())
    if recorder is not None and sender is recorder.app:
        extra = ", ".join(f"{k}={_short(v)}" for k, v in sorted(kwargs.items()))
        recorder.line("signal", f"{_signal}({extra})" if extra else _signal)


_SIGNAL_RECEIVERS = {}  # id(signal) -> the receiver connected to it


def _listen_to_signals(lesson):
    """Connect once per signal, on the first recording (importing connects nothing)."""
    global _thread_ident
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        _thread_ident = monkey.get_original("_thread", "get_ident")  # the OS thread's ident
    for signal in lesson.signals:
        if id(signal) not in _SIGNAL_RECEIVERS:
            receiver = partial(_on_signal, _signal=signal.name.replace("-", "_"))
            signal.connect(receiver, weak=False)
            _SIGNAL_RECEIVERS[id(signal)] = receiver


class _Watching:
    """`with _Watching(recorder):` — this thread's calls go to the recorder meanwhile."""

    def __init__(self, recorder):
        self.recorder = recorder

    def __enter__(self):
        _recorders[_thread_ident()] = self.recorder
        sys.setprofile(_profile)

    def __exit__(self, *exc_info):
        sys.setprofile(None)
        del _recorders[_thread_ident()]


class CountedBody:
    """The response body, wrapped: its request counts as in flight until the body is used up
    or closed, whichever comes first (a server closes it a little after writing it all)."""

    def __init__(self, body, done):
        self.body, self.done = body, done

    def __iter__(self):
        yield from self.chunks()
        self.finish()

    def chunks(self):
        return iter(self.body)

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.finish()

    def finish(self):
        if self.done is not None:
            self.done, done = None, self.done
            done()

    __del__ = finish  # a test client may drop a body without closing it


class RecordedBody(CountedBody):
    """The body, produced with the recorder still watching: stream_with_context pushes the
    context again here, and those steps join the same recording."""

    def __init__(self, body, recorder, done):
        super().__init__(body, done)
        self.recorder = recorder

    def chunks(self):
        chunks = iter(self.body)
        while True:
            with _Watching(self.recorder):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def close(self):
        with _Watching(self.recorder):
            super().close()


class RecordingRing:
    """The last 20 recordings, newest first, safe to read while other threads add."""

    def __init__(self, size=20):
        self.narrated = None  # a narration's request, drawn until a served one is recorded
        self._items = deque(maxlen=size)
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def next_number(self):
        with self._lock:
            return next(self._numbers)

    def add(self, recording):
        with self._lock:
            self._items.appendleft(recording)

    def snapshot(self):
        with self._lock:
            return list(self._items)


class RecordingMiddleware:
    """app.wsgi_app wrapped: requests recorded into app.recordings, except /favicon.ico;
    /lifecycle itself is not kept, so the page shows the request before it.

    A request is recorded when it is the only one in flight. Recording makes a request
    several times slower; recording every request of a crowd made the crowd several times
    slower, so in a crowd requests are served unrecorded, and the recorder costs nothing there.

    `out`, when set (--trace), records every request and gets (request number, line) for each
    line as it happens; a narration makes its requests inside `narrating(out)`, which records
    them to `out` and keeps them apart.
    """

    def __init__(self, app, wsgi_app, lesson):
        self.app = app
        self.wsgi_app = wsgi_app
        self.lesson = lesson
        self.out = None
        self.narrate_to = None
        self.last_narrated = None  # the last request narrated (not kept with the served ones)
        # Requests from here until their body is used up or closed (CountedBody). Served by
        # instruments.serving's handler, a request is alone by the server's own count instead:
        # the client of a request being sent or closed may already be sending the next one.
        self.in_flight = 0
        self.lock = threading.Lock()

    @contextmanager
    def narrating(self, out):
        """Requests made inside (one at a time) are recorded to `out`, not kept for /lifecycle."""
        self.narrate_to = out
        try:
            yield
        finally:
            self.narrate_to = None

    def __call__(self, environ, start_response):
        environ["recorder.caller"] = _caller(inspect.currentframe().f_back, self.app, environ)
        if environ.get("PATH_INFO") == "/favicon.ico":
            return self.wsgi_app(environ, start_response)
        if self.narrate_to is not None:
            return self.record(environ, start_response, sink=self.narrate_to, keep=False)
        with self.lock:
            self.in_flight += 1
            alone = self.in_flight == 1
        server = environ.get("serving.tracker")  # our server's count, where it serves
        if server is not None:  # alone unless another has been read and not yet answered:
            alone = server.running() <= 1  # one being sent or closed does not count
        try:
            recorder = _recorders.get(_thread_ident())
            if recorder is not None:  # a greenlet of a thread being recorded: it will mix in
                recorder.recording.overlapped = True
            elif alone or self.out is not None:
                return self.record(environ, start_response, out=self.out, done=self.finished)
            return CountedBody(self.wsgi_app(environ, start_response), self.finished)
        except BaseException:
            self.finished()
            raise

    def finished(self):
        with self.lock:
            self.in_flight -= 1

    def record(self, environ, start_response, sink=None, out=None, keep=True, done=None):
        _listen_to_signals(self.lesson)
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        number = self.app.recordings.next_number() if keep else 0
        if out is not None:
            sink = partial(out, number)
        if sink is not None:
            sink = escaping(sink)
            caller = environ.get("recorder.caller", "app.wsgi_app")
            sink(f"{'-' * 7} {method} {path}: {caller}(environ, start_response)")
        query = environ.get("QUERY_STRING")
        recording = Recording(number, method, path + (f"?{query}" if query else ""))
        recorder = Recorder(self.lesson, self.app, recording, sink)
        try:
            with _Watching(recorder):
                body = self.wsgi_app(environ, start_response)
        finally:
            if keep and path != "/lifecycle":  # kept now: the next /lifecycle sees it
                self.app.recordings.add(recording)
            elif not keep:
                self.last_narrated = recording
        return RecordedBody(body, recorder, done)


def _caller(frame, app, environ):
    """Who called app.wsgi_app, as the narration's first line says it: the server (named by
    the environ it built) and Flask.__call__, if the call came through it."""
    software = environ.get("SERVER_SOFTWARE", "").split("/")[0]
    server = {"Werkzeug": "Werkzeug's server (run_simple's)", "": "the test client"}
    calls = [server.get(software, software), "app.wsgi_app"]
    if frame.f_code is type(app).__call__.__code__:
        calls.insert(1, "app.__call__")
    return " -> ".join(calls)


_print_lock = threading.Lock()


_tracing = {"on": True}


# C0 and C1 control characters and DEL, as \x1b: what a client sent (a path, a query value, a
# header, in a repr or not) reaches a terminal, and must not drive it.
CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def escaping(sink):
    """`sink`, given each line with its control characters escaped."""
    return lambda line: sink(line.translate(CONTROL))


def print_traced(prog, number, line):
    """--trace: one request's lines carry its number, so concurrent requests can be told apart.
    When stdout goes away (`--trace | head`), tracing stops and serving goes on; `prog` says
    so."""
    with _print_lock:
        if not _tracing["on"]:
            return
        try:
            print(f"#{number} {line}", flush=True)
        except BrokenPipeError:
            _tracing["on"] = False
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            print(
                f"{prog}: stdout was closed; tracing stops, serving goes on",
                file=sys.stderr,
                flush=True,
            )
