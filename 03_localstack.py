"""03 — Werkzeug 1.0.1's Local, LocalStack, release_local and LocalManager, rebuilt.

Notes: 000/001 §6 flask源码关于local的实现 and 总结, §7 flask源码中总共有2个localstack对象,
001's open TODO (how does `return stack[-1]` on the last pop remove the data?), and 003's
Local/LocalStack. Modern follow-up (not in the notes): the ContextVar-based LocalStack that
replaced all this in Werkzeug 2.0, shown against asyncio tasks and greenlets.

Over 02 this adds: the ident function chosen at import (greenlet first, then the thread, as in
the notes); missing names raise AttributeError, never KeyError, because LocalStack relies on
`getattr(local, "stack", None)`; a stack kept per ident; and the last pop *releasing* the
ident's whole entry so a reused ident never sees a dead thread's data. The API and behaviour
are Werkzeug 1.0.1's `werkzeug.local`. Werkzeug 3.1 still ships `Local`, `LocalStack`,
`LocalProxy`, `release_local` and `LocalManager`, rebuilt on ContextVars: no `get_ident`, no
`__storage__`, no `ident_func`, and a `LocalStack.pop` with nothing to release (see the end).
`local("name")` and `stack()`, which hand out a LocalProxy, are in 04's subclasses of these two
classes: the proxy is 04's lesson, and this file never imports a later one.

Run:  python 03_localstack.py
Test: python -m pytest tests/test_03_localstack.py
"""

import asyncio
import threading
from contextvars import ContextVar

from instruments import cli, sections

try:
    # 协程: each greenlet (and each thread's main greenlet) is its own context.
    from greenlet import getcurrent as get_ident
except ImportError:  # pragma: no cover - greenlet is in requirements.txt
    from threading import get_ident  # the notes' `thread` / `_thread` get_ident


# ==========================================================================================
# §6 flask源码关于local的实现 — Local: __storage__ = {ident: {name: value}}
# ==========================================================================================


def release_local(local):
    """Drop the current context's data from a Local or LocalStack (not from a proxy)."""
    local.__release_local__()


class Local:
    __slots__ = ("__storage__", "__ident_func__")

    def __init__(self):
        # Our own __setattr__ would store these *inside* the storage dict; bypass it.
        object.__setattr__(self, "__storage__", {})
        object.__setattr__(self, "__ident_func__", get_ident)

    def __iter__(self):
        """(ident, {name: value}) for every context — not just the current one."""
        return iter(self.__storage__.items())

    def __release_local__(self):
        self.__storage__.pop(self.__ident_func__(), None)

    def __getattr__(self, name):
        try:
            return self.__storage__[self.__ident_func__()][name]
        except KeyError:
            # AttributeError, never KeyError: getattr(local, "stack", None) depends on it.
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        ident = self.__ident_func__()
        storage = self.__storage__
        # The notes write `try: storage[ident][name] = value / except KeyError:`; every first
        # push takes that except branch, and raising costs ~1 µs on CPython 3.11. Same result:
        values = storage.get(ident)
        if values is None:
            storage[ident] = {name: value}
        else:
            values[name] = value

    def __delattr__(self, name):
        try:
            del self.__storage__[self.__ident_func__()][name]
        except KeyError:
            raise AttributeError(name) from None


class LocalStack:
    """A stack kept in a Local: __storage__ = {ident: {"stack": [obj, ...]}}."""

    def __init__(self):
        self._local = Local()

    def __release_local__(self):
        self._local.__release_local__()

    @property
    def __ident_func__(self):
        return self._local.__ident_func__

    @__ident_func__.setter
    def __ident_func__(self, value):
        object.__setattr__(self._local, "__ident_func__", value)

    def push(self, obj):
        """Push an item; returns the (live) stack list."""
        rv = getattr(self._local, "stack", None)
        if rv is None:
            self._local.stack = rv = []
        rv.append(obj)
        return rv

    def pop(self):
        """Remove and return the top item, or None when the stack is empty.

        Popping the last item releases this ident's whole entry: the data is removed by
        release_local, not by `return stack[-1]` (the answer to 001's TODO).
        """
        stack = getattr(self._local, "stack", None)
        if stack is None:
            return None
        elif len(stack) == 1:
            # The notes commented this line out, which leaves the last item behind for ever.
            release_local(self._local)
            return stack[-1]
        else:
            return stack.pop()

    @property
    def top(self):
        """The topmost item, or None when the stack is empty."""
        try:
            return self._local.stack[-1]
        except (AttributeError, IndexError):
            return None


class LocalManager:
    """Releases a group of locals at once, e.g. at the end of every request (make_middleware)."""

    def __init__(self, locals=None, ident_func=None):
        if locals is None:
            self.locals = []
        elif isinstance(locals, Local):
            self.locals = [locals]
        else:
            self.locals = list(locals)
        if ident_func is not None:
            self.ident_func = ident_func
            for local in self.locals:
                object.__setattr__(local, "__ident_func__", ident_func)
        else:
            self.ident_func = get_ident

    def get_ident(self):
        return self.ident_func()

    def cleanup(self):
        for local in self.locals:
            release_local(local)

    def make_middleware(self, app):
        """Wrap a WSGI app so the locals are released when the server closes the response."""
        from werkzeug.wsgi import ClosingIterator

        def application(environ, start_response):
            return ClosingIterator(app(environ, start_response), self.cleanup)

        return application

    def middleware(self, func):
        import functools

        return functools.update_wrapper(self.make_middleware(func), func)

    def __repr__(self):
        return f"<{type(self).__name__} storages: {len(self.locals)}>"


class Label(str):
    """A name that prints as itself, unquoted even inside a dict: {<main greenlet 0x…>: …}."""

    __repr__ = str.__str__


def ident_label(ident):
    """A short printable name for a storage key: thread idents are ints, greenlets objects."""
    if isinstance(ident, int):
        return ident
    kind = "main greenlet" if getattr(ident, "parent", 1) is None else "greenlet"
    return Label(f"<{kind} {id(ident):#x}>")


def storage_view(local, ident=None):
    """A snapshot of the real __storage__ of a Local or LocalStack, keys made printable. Given
    an ident, only that ident's entry ({} if it has none): the others are not copied."""
    storage = getattr(local, "_local", local).__storage__
    if ident is None:
        entries = list(storage.items())
    else:
        entries = [(ident, storage[ident])] if ident in storage else []
    return {
        ident_label(key): {name: _snapshot(value) for name, value in data.items()}
        for key, data in entries
    }


def idents_in(local):
    """How many idents hold an entry in a Local or LocalStack right now (nothing is copied)."""
    return len(getattr(local, "_local", local).__storage__)


def _snapshot(value):
    return list(value) if isinstance(value, list) else value


# ==========================================================================================
# What replaced all this: a ContextVar-based LocalStack (Werkzeug >= 2.0)
# ==========================================================================================


class ContextVarLocalStack:
    """LocalStack on a ContextVar, as in Werkzeug >= 2.2: no idents, nothing to release.

    push/pop store a *new* list (copy-on-write): asyncio tasks start with a shallow copy of
    their parent's context, so mutating a shared list would leak between them (werkzeug#2102).
    """

    def __init__(self, context_var=None):
        if context_var is None:
            context_var = ContextVar(f"ContextVarLocalStack<{id(self)}>.storage")
        self._storage = context_var

    def __release_local__(self):
        self._storage.set([])

    def push(self, obj):
        stack = self._storage.get([]).copy()
        stack.append(obj)
        self._storage.set(stack)
        return stack

    def pop(self):
        stack = self._storage.get([])
        if not stack:
            return None
        self._storage.set(stack[:-1])
        return stack[-1]

    @property
    def top(self):
        stack = self._storage.get([])
        return stack[-1] if stack else None


# ==========================================================================================
# Demo
# ==========================================================================================


class NotesLocalStack(LocalStack):
    """The notes' pop, with `release_local` commented out — kept to show what goes wrong."""

    def pop(self):
        stack = getattr(self._local, "stack", None)
        if stack is None:
            return None
        elif len(stack) == 1:
            # release_local(self._local)
            return stack[-1]
        else:
            return stack.pop()


def demo_local():
    print("== §6 Local: __storage__ = {ident: {name: value}} ==")
    obj = Local()
    obj.k1 = 123
    print(f"obj.k1 = 123 -> __storage__ = {storage_view(obj)}")
    print(f"obj.k1 -> {obj.k1}; getattr(obj, 'stack', None) -> {getattr(obj, 'stack', None)}")
    try:
        obj.missing
    except AttributeError as exc:
        print(f"obj.missing -> AttributeError({exc})  (a KeyError would break getattr(...,None))")
    release_local(obj)
    print(f"release_local(obj) -> __storage__ = {storage_view(obj)}")


def demo_localstack_todo():
    print()
    print("== §6 LocalStack, and 001's TODO: who removes the data on the last pop? ==")
    obj = LocalStack()
    print(f"start                 __storage__ = {storage_view(obj)}")
    for item in ("汪洋", "成说"):
        rv = obj.push(item)
        print(f"push({item!r})  -> {rv}  __storage__ = {storage_view(obj)}")
    print(f"top -> {obj.top!r}")
    for _ in range(3):
        before = storage_view(obj)
        item = obj.pop()
        print(f"pop() -> {item!r:6}  before {before}  after {storage_view(obj)}")
    print("answer: len(stack) == 1 -> release_local(self._local) deletes __storage__[ident];")
    print("        `return stack[-1]` only hands back the item from a list nothing refers to now")
    notes = NotesLocalStack()
    notes.push("汪洋")
    popped = [notes.pop() for _ in range(3)]
    print(
        f"the notes' pop (release commented out): pop() x3 -> {popped}, "
        f"__storage__ = {storage_view(notes)} (never empties)"
    )


def demo_notes_003_source():
    print()
    print("== 003 六、Flask上下文管理源码剖析: Local类 and 方便操作Local的类, imitated: ==")
    print("   03's Local and LocalStack given the notes' get_ident (greenlet, the class itself)")
    from greenlet import greenlet  # the notes: `from greenlet import greenlet as get_ident`

    obj = Local()
    LocalManager([obj], ident_func=greenlet)  # get_ident() makes a new greenlet: a new key
    obj.stack = []
    try:
        obj.stack.append("老王")
    except AttributeError as exc:
        print(f"obj = Local(); obj.stack = []; obj.stack.append('老王') -> AttributeError: {exc}")
    print(f"  each get_ident() is a new greenlet, so each access a new key: {len(obj.__storage__)}")
    print("  entry written, under a key no later access will ever use")
    xxx = LocalStack()
    LocalManager([xxx], ident_func=greenlet)
    xxx.push("老王")
    xxx.push("老李")
    print(f"obj = LocalStack(); push('老王'); push('老李'); print(obj.top) -> {xxx.top}")
    print(f"  print(obj.pop()) -> {xxx.pop()}, and __storage__ keeps {len(xxx._local.__storage__)}")
    print("  entries nobody can reach or release: a leak, one entry per push")
    fixed = LocalStack()  # 03's get_ident: greenlet.getcurrent, the function
    fixed.push("老王")
    fixed.push("老李")
    print("fixed, `from greenlet import getcurrent as get_ident` (the function, not the class):")
    print(f"  top -> {fixed.top!r}, pop() -> {fixed.pop()!r}, then top -> {fixed.top!r}")


def demo_two_stacks():
    print()
    print("== §7 flask源码中总共有2个localstack对象 ==")
    _request_ctx_stack, _app_ctx_stack = LocalStack(), LocalStack()
    _request_ctx_stack.push("小魔方")  # the notes' two lines, on this one thread
    _app_ctx_stack.push("大魔方")
    print("_request_ctx_stack.push('小魔方'); _app_ctx_stack.push('大魔方'), on one thread:")
    print(f"  _request_ctx_stack.__storage__ = {storage_view(_request_ctx_stack)}")
    print(f"  _app_ctx_stack.__storage__     = {storage_view(_app_ctx_stack)}")
    print("  two stacks, each with its own storage, under the same ident")
    _request_ctx_stack.pop()
    _app_ctx_stack.pop()
    names = ("request-1", "request-2")
    idents = {}
    barrier = threading.Barrier(3)  # two request threads and us

    def request_thread(name):
        _request_ctx_stack.push(f"RequestContext({name})")
        _app_ctx_stack.push(f"AppContext({name})")
        idents[name] = ident_label(get_ident())
        barrier.wait()  # both threads hold their contexts while we look
        barrier.wait()
        _request_ctx_stack.pop()
        _app_ctx_stack.pop()

    threads = [threading.Thread(target=request_thread, args=(n,)) for n in names]
    for t in threads:
        t.start()
    barrier.wait()
    req, app = storage_view(_request_ctx_stack), storage_view(_app_ctx_stack)
    barrier.wait()
    for t in threads:
        t.join()
    order = [idents[n] for n in names]
    print("two threads, each with one request in flight (shown in thread order):")
    print(f"_request_ctx_stack.__storage__ = {{{', '.join(f'{k!r}: {req[k]}' for k in order)}}}")
    print(f"_app_ctx_stack.__storage__     = {{{', '.join(f'{k!r}: {app[k]}' for k in order)}}}")
    print(
        f"both requests ended (last pop released): {storage_view(_request_ctx_stack)}, "
        f"{storage_view(_app_ctx_stack)}"
    )

    print("why a stack at all? two contexts pushed in one thread (e.g. a test context inside a")
    print("request, or one app calling another):")
    _request_ctx_stack.push("RequestContext(outer)")
    _request_ctx_stack.push("RequestContext(inner)")
    print(f"  after two pushes: __storage__ = {storage_view(_request_ctx_stack)}")
    print(f"  top = {_request_ctx_stack.top!r}")
    _request_ctx_stack.pop()
    print(f"  pop -> top = {_request_ctx_stack.top!r}  (the outer context is back)")
    _request_ctx_stack.pop()
    print(f"  pop -> __storage__ = {storage_view(_request_ctx_stack)}")


async def _two_tasks(stack):
    async def task(name):
        stack.push(name)
        await asyncio.sleep(0)  # let the other task run between our push and our read
        seen = stack.top
        await asyncio.sleep(0)
        stack.pop()
        return seen

    return await asyncio.gather(task("task-A"), task("task-B"))


def demo_contextvar_successor():
    print()
    print("== what replaced it: ContextVar LocalStack (Werkzeug >= 2.0), two asyncio tasks ==")
    ident_stack, var_stack = LocalStack(), ContextVarLocalStack()
    seen = asyncio.run(_two_tasks(ident_stack))
    print(
        f"ident-keyed LocalStack: task-A sees top {seen[0]!r}, task-B sees top {seen[1]!r}"
        "  (one thread, one ident: they share a stack)"
    )
    seen = asyncio.run(_two_tasks(var_stack))
    print(
        f"ContextVarLocalStack:   task-A sees top {seen[0]!r}, task-B sees top {seen[1]!r}"
        "  (each task has its own context)"
    )


def demo_greenlets():
    print()
    print("== greenlets: two greenlets of one thread are kept apart by the greenlet ident ==")
    from greenlet import greenlet

    by_greenlet = LocalStack()
    by_thread = LocalStack()
    LocalManager([by_thread._local], ident_func=threading.get_ident)
    seen = {}

    def worker(name):
        by_greenlet.push(name)
        by_thread.push(name)
        other.switch() if name == "g1" else main.switch()
        seen[name] = (by_greenlet.top, by_thread.top)
        if name == "g1":
            other.switch()

    main = greenlet.getcurrent()
    first = greenlet(lambda: worker("g1"))
    other = greenlet(lambda: worker("g2"))
    first.switch()  # g1 pushes, g2 pushes, back here
    keys = len(by_greenlet._local.__storage__), len(by_thread._local.__storage__)
    first.switch()  # g1 reads, g2 reads
    for name in ("g1", "g2"):
        print(
            f"{name}: greenlet-ident stack top = {seen[name][0]!r}, "
            f"thread-ident stack top = {seen[name][1]!r}"
        )
    print(f"storage entries: greenlet-ident {keys[0]}, thread-ident {keys[1]}")


SECTIONS = sections.registry(
    sections.Section(
        "local",
        demo_local,
        release_local,
        Local,
        heading="### 6.flask源码关于local的实现",
        note="000",
    ),
    sections.Section(
        "localstack",
        demo_localstack_todo,
        LocalStack,
        heading="### 6.flask源码关于local的实现(`核心`)",
        note="001",
        bug=(NotesLocalStack,),
    ),
    sections.Section(
        "source_003",
        demo_notes_003_source,
        LocalManager,
        heading="### Flask上下文管理源码剖析",
        note="003",
    ),
    sections.Section(
        "two_stacks",
        demo_two_stacks,
        storage_view,
        heading="#### 7.flask源码中总共有2个localstack对象",
        note="000",
    ),
    sections.Section(
        "contextvar",
        demo_contextvar_successor,
        ContextVarLocalStack,
        heading="### Beyond the notes: the ContextVar LocalStack that replaced it",
    ),
    sections.Section(
        "greenlets",
        demo_greenlets,
        heading="### 6.flask源码关于local的实现",
        note="000",
    ),
)


def main(argv=None):
    sections.main("03_localstack.py", __doc__, SECTIONS, argv)


if __name__ == "__main__":
    cli.run(main, "03_localstack.py")
