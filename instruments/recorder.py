"""The recorder behind 05's narration, --trace and /lifecycle: one request's real calls,
written down as the notes' numbered steps.

sys.setprofile calls a function on every Python call and return of a thread. The recorder
picks out the lifecycle's own functions (the tables in `_tables`), so what is printed and drawn
comes from the calls that really happened: nothing in 05's classes prints, and nothing there
knows the recorder exists. It is handed the lesson module (05) and finds there what it watches:
the two stacks, the four proxies, the signals and the lifecycle's functions.

    app.wsgi_app = RecordingMiddleware(app, app.wsgi_app, module)   # Flask's middleware idiom

Nothing here imports a numbered script.
"""

import itertools
import os
import re
import sys
import threading
import weakref
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response as WerkzeugResponse


class Lesson:
    """What the recorder watches, found on the module it is handed (05)."""

    def __init__(self, module):
        self.stacks = {
            "_request_ctx_stack": module._request_ctx_stack,
            "_app_ctx_stack": module._app_ctx_stack,
        }
        self.proxy_names = {
            id(getattr(module, name)): name for name in ("request", "session", "g", "current_app")
        }
        self.signals = [getattr(module, name) for name in SIGNAL_NAMES]
        self.get_ident = module.localstack.get_ident  # the notes': greenlet first, then thread
        self.ident_label = module.localstack.ident_label
        self.numbers = {where: (n000, n002) for n000, n002, where in module.STEPS}
        self.on_call, self.on_return = _tables(module)

    def label(self, ident):
        label = self.ident_label(ident)
        return label if isinstance(label, str) else f"<thread {label}>"

    def stack_name(self, stack):
        return next((name for name, s in self.stacks.items() if s is stack), None)


@dataclass
class Step:
    n000: str  # the step's number in note 000 (第1步–第5步), or "" where 000 has none
    n002: str  # the same step's number in note 002 (1.0–4.4), or ""
    phase: str  # push / dispatch / finalize / pop
    func: str  # the function that ran
    text: str
    depth: int
    items: list = field(default_factory=list)  # in order: inner Steps and (kind, text) lines
    storage: dict = field(default_factory=dict)  # {stack name: StackView} right after it
    subject: object = field(default=None, repr=False)  # what the return handler will look at
    where: str = ""  # the row of the lesson's STEPS table this step is (its numbers' source)

    @property
    def lines(self):
        return [item for item in self.items if not isinstance(item, Step)]


@dataclass
class Recording:
    number: int
    method: str
    path: str
    steps: list = field(default_factory=list)  # every step, in the order the calls began
    items: list = field(default_factory=list)  # the outermost steps: the call tree's roots
    overlapped: bool = False  # another request ran on this OS thread meanwhile (greenlets)


def short_item(item):
    if type(item).__name__ == "RequestContext":
        return f"<RequestContext {item.request.method} {item.request.path}>"
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
        storage = stack._local.__storage__
        data = storage.get(ident)
        entries = {}
        if data is not None:
            entries[lesson.label(ident)] = [short_item(i) for i in data.get("stack", ())]
        views[name] = StackView(entries, max(0, len(storage) - len(entries)))
    return views


def format_storage(view):
    """A StackView as the notes draw __storage__: {ident: {'stack': [items]}}."""
    inner = ", ".join(
        f"{ident}: {{'stack': [{', '.join(items)}]}}" for ident, items in view.entries.items()
    )
    others = f" (+{view.others} other idents in flight, not shown)" if view.others else ""
    return "{" + inner + "}" + others


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
        self.hooks = _hook_names(app)
        interface = type(app.session_interface)  # 自定义session: whichever the app uses
        self.session_calls = {
            interface.open_session.__code__: _ON_OPEN_SESSION,
            interface.save_session.__code__: _on_save_session,
        }
        self.session_returns = {
            interface.open_session.__code__: _after_open_session,
            interface.save_session.__code__: _after_save_session,
        }
        self.view_frame = None
        self.proxy_traced = False  # the view's first proxy use is traced through 3.3-3.7
        self.proxy_uses = []  # the names of the proxies the view used after that one

    # --- writing down --------------------------------------------------------------------
    def step(self, frame, where, phase, text, subject=None):
        """Open a step for `frame`; `where` names its row in the lesson's STEPS (or None)."""
        n000, n002 = self.lesson.numbers.get(where, ("", ""))
        code = frame.f_code
        step = Step(n000, n002, phase, code.co_qualname, text, len(self.open), subject=subject)
        step.where = where or ""
        self.recording.steps.append(step)
        (self.open[-1][1].items if self.open else self.recording.items).append(step)
        self.open.append((frame, step))
        self.emit(step, n000, n002, text)
        return step

    def line(self, kind, text):
        depth = len(self.open)
        if self.open:
            self.open[-1][1].items.append((kind, text))
        self.emit(None, "signal" if kind == "signal" else "", "", text, depth)

    def emit(self, step, n000, n002, text, depth=None):
        if self.sink is None:
            return
        indent = 17 + 2 * (step.depth if step is not None else depth)
        head = f"{n000:<8}{n002:<9}".ljust(indent)
        if len(head) + len(text) > 100 and " = {" in text:  # a storage dict: wrap after " ="
            name, value = text.split(" = ", 1)
            self.sink(f"{head}{name} =")
            self.sink(f"{' ' * indent}{value}")
        else:
            self.sink(f"{head}{text}")

    def note(self, where, text):
        """A numbered line that is not a call of its own (e.g. 002's 3.2, a module global)."""
        n002 = self.lesson.numbers[where][1]
        if self.open:
            self.open[-1][1].items.append(("note", f"{n002} {text}"))
        self.emit(None, "", n002, text, len(self.open))

    def storage_lines(self):
        for name, view in stacks_snapshot(self.lesson, self.ident()).items():
            self.line("storage", f"{name}.__storage__ = {format_storage(view)}")

    # --- sys.setprofile events -----------------------------------------------------------
    def on_event(self, frame, event, arg):
        if event == "call":
            handler = self.lesson.on_call.get(frame.f_code) or self.session_calls.get(frame.f_code)
            if handler is not None:
                handler(self, frame)
            elif frame.f_code in self.hooks:
                self.on_hook(frame)
        elif event == "return":
            if self.open and self.open[-1][0] is frame:
                step = self.open[-1][1]
                step.storage = stacks_snapshot(self.lesson, self.ident())
                handler = self.lesson.on_return.get(frame.f_code) or self.session_returns.get(
                    frame.f_code
                )
                if handler is not None:  # lines of the result still belong to the step
                    handler(self, step, arg)
                step.subject = None
                self.open.pop()
            if frame is self.view_frame:
                self.view_frame = None
                if self.proxy_uses:
                    names = " and ".join(sorted(set(self.proxy_uses)))
                    self.line(
                        "note",
                        f"the view used {names} {len(self.proxy_uses)} more "
                        "time(s), each through the same chain",
                    )

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
    for by_code in app.error_handler_spec.values():
        for handlers in by_code.values():
            hooks.update((f.__code__, "errorhandler") for f in handlers.values())
    return hooks


# --- what each lifecycle function means, keyed by its code object ------------------------
# Call handlers read the new frame's arguments; return handlers get the step (with what the
# call handler kept in step.subject) and the return value.


def _step(where, phase, text, inside=None):
    """A call handler that opens the step of STEPS row `where`. `text` may name the call's
    arguments ({exc!r}); `inside`, if given, is the row the enclosing step must be (a chain
    of calls, such as 002's 3.3-3.7)."""

    def on_call(rec, frame):
        if inside is None or (rec.open and rec.open[-1][1].where == inside):
            rec.step(frame, where, phase, text.format_map(frame.f_locals))

    return on_call


def _result(rec, step, arg):
    rec.line("result", f"-> {arg!r}")


def _on_request_init(rec, frame):
    rec.step(
        frame,
        "Request.__init__",
        "push",
        "request = app.request_class(environ)",
        subject=frame.f_locals["self"],
    )


def _after_request_init(rec, step, arg):
    rec.line("result", f"-> {step.subject!r}")


def _on_stack_push(rec, frame):
    name = rec.lesson.stack_name(frame.f_locals["self"])
    if name == "_request_ctx_stack":
        rec.step(
            frame,
            "_request_ctx_stack.push",
            "push",
            "_request_ctx_stack.push(ctx) -> LocalStack.push",
        )
    elif name == "_app_ctx_stack":
        rec.step(frame, None, "push", "_app_ctx_stack.push(app_ctx) -> LocalStack.push")


def _on_stack_pop(rec, frame):
    name = rec.lesson.stack_name(frame.f_locals["self"])
    if name == "_request_ctx_stack":
        rec.step(
            frame,
            "_request_ctx_stack.pop",
            "pop",
            "rv = _request_ctx_stack.pop() -> LocalStack.pop",
        )
    elif name == "_app_ctx_stack":
        rec.step(frame, None, "pop", "rv = _app_ctx_stack.pop() -> LocalStack.pop")


def _after_stack_change(rec, step, arg):
    rec.storage_lines()


def _after_local_setattr(rec, step, arg):
    rec.line("result", "-> __storage__[ident] = {'stack': []}; back in push: rv.append(ctx)")


def _after_open_session(rec, step, arg):
    rec.line("result", f"-> {type(arg).__name__}({dict(arg) if arg is not None else ''})")


def _on_match_request(rec, frame):
    rec.step(
        frame,
        None,
        "push",
        "ctx.match_request(): URL matching (not numbered in 000)",
        subject=frame.f_locals["self"].request,
    )


def _after_match_request(rec, step, arg):
    req = step.subject
    if req.url_rule is not None:
        rec.line(
            "result",
            f"-> {req.url_rule.rule} matched: endpoint {req.endpoint!r}, view_args {req.view_args}",
        )
    else:
        rec.line("result", f"-> no rule matched: {type(req.routing_exception).__name__}")


def _on_first_request(rec, frame):
    app = frame.f_locals["self"]
    if app._got_first_request:
        rec.step(frame, FIRST, "dispatch", "before_first_request functions: already ran")
    else:
        names = [f.__name__ for f in app.before_first_request_funcs]
        rec.step(frame, FIRST, "dispatch", f"before_first_request functions, once: {names}")


def _after_preprocess(rec, step, arg):
    if arg is not None:
        rec.line("result", f"-> {_short(arg)}: a before_request answered; the view is skipped")


def _on_dispatch(rec, frame):
    req = rec.lesson.stacks["_request_ctx_stack"].top.request
    if req.routing_exception is not None:
        error = type(req.routing_exception).__name__
        text = f"dispatch_request(): no rule matched -> raise {error}"
    else:
        text = f"dispatch_request(): view_functions[{req.endpoint!r}](**{req.view_args})"
    rec.step(frame, "Flask.dispatch_request", "dispatch", text)


def _proxy_name(rec, frame):
    return rec.lesson.proxy_names.get(id(frame.f_locals["self"]), "a LocalProxy")


def _on_proxy_getattr(rec, frame):
    if rec.view_frame is not None and not rec.proxy_traced:
        proxy, name = _proxy_name(rec, frame), frame.f_locals["name"]
        made = f"{proxy} = LocalProxy({_made_with(frame.f_locals['self'])}), made at import"
        rec.note("LocalProxy(partial(...))", made)
        text = f"{proxy}.{name} -> LocalProxy.__getattr__({name!r})"
        rec.step(frame, "LocalProxy.__getattr__", "dispatch", text)


def _made_with(proxy):
    """What the proxy was made with, read from it: partial(_lookup_req_object, 'request')."""
    local = object.__getattribute__(proxy, "_LocalProxy__local")
    func = getattr(local, "func", local)
    args = ", ".join(repr(a) for a in getattr(local, "args", ()))
    return f"partial({func.__name__}, {args})" if args else func.__name__


def _on_current_object(rec, frame):
    """Every use of a proxy comes here once: the view's first is traced, later ones counted."""
    if rec.view_frame is None:
        return
    if rec.proxy_traced:
        rec.proxy_uses.append(_proxy_name(rec, frame))
        return
    rec.proxy_traced = True
    if rec.open and rec.open[-1][1].where == "LocalProxy.__getattr__":
        text = "self._get_current_object() -> calls the partial it was made with"
    else:
        text = f"{_proxy_name(rec, frame)} used -> LocalProxy._get_current_object()"
    rec.step(frame, "LocalProxy._get_current_object", "dispatch", text)


def _after_local_getattr(rec, step, arg):
    rec.line("result", f"-> [{', '.join(short_item(i) for i in arg)}]")


def _on_save_session(rec, frame):
    rec.step(
        frame,
        "SessionInterface.save_session",
        "finalize",
        f"save_session(app, {dict(frame.f_locals['session'])}, response)",
        subject=frame.f_locals["response"],
    )


def _after_save_session(rec, step, arg):
    cookie = step.subject.headers.get("Set-Cookie")
    if cookie is None:
        rec.line("result", "-> the session did not change: no Set-Cookie")
    else:  # the signature and timestamp change every second; the payload is what to read
        payload_only = re.sub(r"=([^.;]*)\.[^;]*", r"=\1.…", cookie, count=1)
        rec.line("result", f"-> Set-Cookie: {payload_only}")


def _on_response_call(rec, frame):
    if not rec.open:  # no step open: wsgi_app itself calls the response
        rec.step(
            frame,
            None,
            "respond",
            "return response(environ, start_response)",
            subject=frame.f_locals["self"],
        )


def _after_response_call(rec, step, arg):
    rec.line("result", f"-> start_response({step.subject.status!r}, headers)")


def _short(value):
    text = repr(value)
    return text if len(text) <= 50 else text[:47] + "..."


_ON_OPEN_SESSION = _step(
    "SessionInterface.open_session",
    "push",
    "ctx.session = app.session_interface.open_session(app, request)",
)
FIRST = "Flask.try_trigger_before_first_request_functions"


def _tables(module):
    """{code object: call handler} and {code object: return handler} for the lesson's
    lifecycle functions, found on the module the recorder is handed (05)."""
    LocalProxy = module.localproxy.LocalProxy
    LocalStack, Local = module.localstack.LocalStack, module.localstack.Local
    on_call = {
        module.Flask.request_context.__code__: _step(
            "Flask.request_context", "push", "ctx = app.request_context(environ)"
        ),
        module.RequestContext.__init__.__code__: _step(
            "RequestContext.__init__",
            "push",
            "RequestContext(app, environ): ctx.request, ctx.session = None",
        ),
        WerkzeugRequest.__init__.__code__: _on_request_init,
        module.RequestContext.push.__code__: _step("RequestContext.push", "push", "ctx.push()"),
        module.AppContext.push.__code__: _step(
            "AppContext.push", "push", "app_ctx = app.app_context(); app_ctx.push()"
        ),
        LocalStack.push.__code__: _on_stack_push,
        Local.__setattr__.__code__: _step(
            "Local.__setattr__",
            "push",
            "self._local.stack = rv = [] -> Local.__setattr__({name!r}, [])",
            inside="_request_ctx_stack.push",
        ),
        module.RequestContext.match_request.__code__: _on_match_request,
        module.Flask.full_dispatch_request.__code__: _step(
            "Flask.full_dispatch_request", "dispatch", "response = app.full_dispatch_request()"
        ),
        module.Flask.try_trigger_before_first_request_functions.__code__: _on_first_request,
        module.Flask.preprocess_request.__code__: _step(
            "Flask.preprocess_request",
            "dispatch",
            "preprocess_request(): before_request functions, in registration order",
        ),
        module.Flask.dispatch_request.__code__: _on_dispatch,
        LocalProxy.__getattr__.__code__: _on_proxy_getattr,
        LocalProxy._get_current_object.__code__: _on_current_object,
        module.localproxy._lookup_req_object.__code__: _step(
            "_lookup_req_object",
            "dispatch",
            "_lookup_req_object({name!r}): top = _request_ctx_stack.top",
            inside="LocalProxy._get_current_object",
        ),
        LocalStack.top.fget.__code__: _step(
            "LocalStack.top",
            "dispatch",
            "LocalStack.top: return self._local.stack[-1]",
            inside="_lookup_req_object",
        ),
        Local.__getattr__.__code__: _step(
            "Local.__getattr__",
            "dispatch",
            "Local.__getattr__({name!r}): __storage__[ident][name]",
            inside="LocalStack.top",
        ),
        module.Flask.handle_user_exception.__code__: _step(
            None, "dispatch", "handle_user_exception({e!r:.40}): a handler, or raise"
        ),
        module.Flask.handle_exception.__code__: _step(
            "Flask.handle_exception", "dispatch", "handle_exception(e): unhandled -> a 500"
        ),
        module.Flask.finalize_request.__code__: _step(
            "Flask.finalize_request",
            "finalize",
            "finalize_request({rv!r:.40}) -> make_response(rv)",
        ),
        module.Flask.process_response.__code__: _step(
            "Flask.process_response",
            "finalize",
            "process_response(response): after_request functions, in reverse order",
        ),
        module.SessionInterface.is_null_session.__code__: _step(
            "SessionInterface.is_null_session",
            "finalize",
            "is_null_session(ctx.session): isinstance(obj, {self.null_session_class.__name__})",
        ),
        WerkzeugResponse.__call__.__code__: _on_response_call,
        module.RequestContext.auto_pop.__code__: _step(
            "RequestContext.auto_pop", "pop", "ctx.auto_pop({exc!r:.40}) -> ctx.pop(exc)"
        ),
        module.Flask.do_teardown_request.__code__: _step(
            "Flask.do_teardown_request",
            "pop",
            "do_teardown_request(exc): teardown_request functions, reversed",
        ),
        LocalStack.pop.__code__: _on_stack_pop,
        module.localstack.release_local.__code__: _step(
            "release_local",
            "pop",
            "len(stack) == 1 -> release_local(self._local); return stack[-1]",
            inside="_request_ctx_stack.pop",
        ),
        Local.__release_local__.__code__: _step(
            "Local.__release_local__",
            "pop",
            "Local.__release_local__(): self.__storage__.pop(self.__ident_func__())",
            inside="release_local",
        ),
        module.AppContext.pop.__code__: _step("AppContext.pop", "pop", "app_ctx.pop({exc!r})"),
        module.Flask.do_teardown_appcontext.__code__: _step(
            "Flask.do_teardown_appcontext",
            "pop",
            "do_teardown_appcontext(exc): teardown_appcontext functions, reversed",
        ),
    }
    on_return = {
        WerkzeugRequest.__init__.__code__: _after_request_init,
        LocalStack.push.__code__: _after_stack_change,
        LocalStack.pop.__code__: _after_stack_change,
        Local.__setattr__.__code__: _after_local_setattr,
        module.RequestContext.match_request.__code__: _after_match_request,
        module.Flask.preprocess_request.__code__: _after_preprocess,
        LocalProxy.__getattr__.__code__: _result,
        Local.__getattr__.__code__: _after_local_getattr,
        module.Flask.finalize_request.__code__: _result,
        module.SessionInterface.is_null_session.__code__: _result,
        WerkzeugResponse.__call__.__code__: _after_response_call,
    }
    return on_call, on_return


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


SIGNAL_NAMES = (
    "appcontext_pushed",
    "request_started",
    "request_finished",
    "got_request_exception",
    "request_tearing_down",
    "appcontext_tearing_down",
    "appcontext_popped",
)
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
    """The response body, wrapped: its request counts as in flight until the server closes
    the body (or drops it unclosed, as a test client may)."""

    def __init__(self, body, done):
        self.body, self.done = body, done

    def __iter__(self):
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

    __del__ = finish


class RecordedBody(CountedBody):
    """The body, produced with the recorder still watching: stream_with_context pushes the
    context again here, and those steps join the same recording."""

    def __init__(self, body, recorder, done):
        super().__init__(body, done)
        self.recorder = recorder

    def __iter__(self):
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


def note(text):
    """Add a line to the recording of the request this thread runs, if it is being recorded
    (the demo's views use it to report what happened in other threads)."""
    recorder = _recorders.get(_thread_ident())
    if recorder is not None:
        recorder.line("note", text)


class RecordingRing:
    """The last 20 recordings, newest first, safe to read while other threads add."""

    def __init__(self, size=20):
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

    def __init__(self, app, wsgi_app, module):
        self.app = app
        self.wsgi_app = wsgi_app
        self.lesson = Lesson(module)
        self.out = None
        self.narrate_to = None
        self.in_flight = 0  # requests from here until the server closes their body
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
        environ["recorder.caller"] = _caller(sys._getframe(1), self.app, environ)
        if environ.get("PATH_INFO") == "/favicon.ico":
            return self.wsgi_app(environ, start_response)
        if self.narrate_to is not None:
            return self.record(environ, start_response, sink=self.narrate_to, keep=False)
        with self.lock:
            self.in_flight += 1
            alone = self.in_flight == 1
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


def print_traced(number, line):
    """--trace: one request's lines carry its number, so concurrent requests can be told apart.
    When stdout goes away (`--trace | head`), tracing stops and serving goes on."""
    with _print_lock:
        if not _tracing["on"]:
            return
        try:
            print(f"#{number} {line}", flush=True)
        except BrokenPipeError:
            _tracing["on"] = False
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            print(
                "05_lifecycle.py: stdout was closed; tracing stops, serving goes on",
                file=sys.stderr,
                flush=True,
            )
