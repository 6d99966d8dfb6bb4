"""02 — attribute hooks, thread idents, and a thread-local built by hand.

Notes: 000/001 §2 面向对象 (with 001's ClassA demo and DRF's request._request), §3 线程唯一标识,
§4 自定义threading.local, §5 加强版threading.local, and 003's 五、threading.local,
上下文原理 and 七 执行父类的方法.

Over 01 this adds the second ingredient of Werkzeug's Local: a dict keyed by the current
thread's ident, reached through `__setattr__`/`__getattr__`, so that `local.x1 = 1` in one
thread is invisible in another. Every hand-built local is run side by side with the standard
library's `threading.local`. Threads are joined before anything is printed, so the output
order is the same on every run (only the thread idents differ). 003's versions are run as
written and each flaw shown: twenty named threads on threading.local beside a plain object, a
storage dict shared by every instance, the `balue` typo, and `greenlet` (the class) used as
get_ident.

Run:  python 02_local.py
Test: python -m pytest tests/test_02_local.py
"""

import threading
from threading import get_ident

from instruments import cli, sections

# ==========================================================================================
# §2 面向对象 — __setattr__ / __getattr__
# ==========================================================================================


class Foo:
    """The notes' Foo: every assignment and every *missing* attribute read is traced."""

    def __setattr__(self, key, value):
        print(f"  __setattr__ runs: key={key!r} value={value!r}")

    def __getattr__(self, item):
        print(f"  __getattr__ runs: item={item!r}")


class ClassA:
    """001's ClassA: __getattr__ runs only when normal lookup fails."""

    def __init__(self, classname):
        self.classname = classname

    def __getattr__(self, attr):
        return ("invoke __getattr__", attr)


class NaiveLocal:
    """The notes' dict-backed Local, but with `self.storage = {}` in __init__ — it recurses."""

    def __init__(self):
        self.storage = {}  # calls __setattr__, which reads self.storage -> __getattr__ -> ...

    def __setattr__(self, key, value):
        self.storage[key] = value

    def __getattr__(self, item):
        return self.storage.get(item)


class DictLocal:
    """The notes' fix: create `storage` with object.__setattr__, bypassing our own hook."""

    def __init__(self):
        object.__setattr__(self, "storage", {})

    def __setattr__(self, key, value):
        self.storage[key] = value

    def __getattr__(self, item):
        return self.storage.get(item)


class WSGIRequest:
    """Stands in for Django's request: the raw object DRF wraps."""

    def __init__(self, GET, POST):
        self.GET = GET
        self.POST = POST


class DRFRequest:
    """DRF's Request: its own attributes, and everything else forwarded to `_request`."""

    def __init__(self, request):
        self._request = request

    @property
    def query_params(self):
        return self._request.GET

    @property
    def data(self):
        return self._request.POST

    def __getattr__(self, attr):
        return getattr(self._request, attr)


# ==========================================================================================
# §3 线程唯一标识 — threading.get_ident
# ==========================================================================================


def run_in_threads(task, count):
    """Run task(i) in `count` threads, join them all, and return the results in index order.

    The threads wait at a barrier before they finish, so all of them are alive at once: a
    finished thread's ident may be handed to the next new thread (see demo_thread_ident).
    """
    results = [None] * count
    barrier = threading.Barrier(count)

    def runner(i):
        results[i] = task(i)
        barrier.wait()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ==========================================================================================
# §4 自定义threading.local — storage = {ident: {name: value}}
# ==========================================================================================


class IdentLocal:
    """The notes' hand-rolled threading.local: one dict per thread ident.

    As in the notes, a missing name reads as None (threading.local raises AttributeError).
    """

    def __init__(self):
        object.__setattr__(self, "storage", {})

    def __setattr__(self, key, value):
        ident = get_ident()
        if ident in self.storage:
            self.storage[ident][key] = value
        else:
            self.storage[ident] = {key: value}

    def __getattr__(self, item):
        ident = get_ident()
        if ident not in self.storage:
            return None
        return self.storage[ident].get(item)


# ==========================================================================================
# §5 加强版threading.local — storage = {ident: {name: [v1, v2, ...]}}
# ==========================================================================================


class NotesStackLocal:
    """§5 exactly as in the notes. Bug: a second name in the same thread raises KeyError."""

    def __init__(self):
        object.__setattr__(self, "storage", {})

    def __setattr__(self, key, value):
        ident = get_ident()
        if ident in self.storage:
            self.storage[ident][key].append(value)  # KeyError when `key` is new to this thread
        else:
            self.storage[ident] = {key: [value]}

    def __getattr__(self, item):
        ident = get_ident()
        if ident not in self.storage:
            return None
        return self.storage[ident][item][-1]


class StackLocal:
    """§5 fixed: each name keeps a stack of values per thread; reads see the newest."""

    def __init__(self):
        object.__setattr__(self, "storage", {})

    def __setattr__(self, key, value):
        # Fixed: the notes' `self.storage[ident][key].append` raised KeyError for a new key.
        self.storage.setdefault(get_ident(), {}).setdefault(key, []).append(value)

    def __getattr__(self, item):
        values = self.storage.get(get_ident(), {}).get(item)
        return values[-1] if values else None


# ==========================================================================================
# 003 上下文原理 — the notes' twenty named threads, on threading.local and a plain object
# ==========================================================================================


class Plain:
    """A plain object: one attribute shared by every thread."""


def named_threads(obj, count=20):
    """003's demo: thread i, named '线程i', sets obj.name = i, waits, then prints obj.name and
    its own name.

    The notes sleep one second so that every thread has written before any reads; here each
    thread writes in turn (thread i after thread i-1) and all read after the last write, so the
    output is the same on every run. Returns [(value read, thread name)] in thread order.
    """
    turns = [threading.Event() for _ in range(count + 1)]
    turns[0].set()
    read = [None] * count

    def func(num):
        turns[num].wait()
        obj.name = num
        turns[num + 1].set()
        turns[count].wait()  # time.sleep(1) in the notes
        read[num] = (obj.name, threading.current_thread().name)

    threads = [
        threading.Thread(target=func, args=(i,), name="线程%s" % i)  # noqa: UP031 (the notes')
        for i in range(count)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return read


# ==========================================================================================
# 003 自定义类似local的函数 / 自定义线程(协程)的Local类 — the notes' versions, each flagged
# ==========================================================================================


class ClassDictLocal:
    """003's first Local: the storage is a class attribute, DIC = {}, shared by every instance
    (and `balue` in __setattr__ is fixed here, or nothing could be stored at all)."""

    DIC = {}

    def __getattr__(self, item):
        ident = get_ident()
        if ident in self.DIC:
            return self.DIC[ident].get(item)
        return None

    def __setattr__(self, key, value):
        ident = get_ident()
        if ident in self.DIC:
            self.DIC[ident][key] = value
        else:
            self.DIC[ident] = {key: value}


class TypoLocal:
    """003's first Local exactly: `def __setattr__(self, key, balue)` then uses `value`."""

    DIC = {}

    def __setattr__(self, key, balue):
        ident = get_ident()
        if ident in self.DIC:
            self.DIC[ident][key] = value  # noqa: F821 - the notes' typo, kept to show it fail
        else:
            self.DIC[ident] = {key: value}  # noqa: F821


class GreenletClassLocal:
    """003's second Local: `from greenlet import greenlet as get_ident` takes the greenlet
    *class*, so get_ident() makes a new greenlet object on every call: every key is new, every
    read misses; and a miss prints 'None' instead of returning or raising."""

    def __init__(self):
        from greenlet import greenlet as get_ident  # the notes' line (should be getcurrent)

        object.__setattr__(self, "get_ident", get_ident)
        object.__setattr__(self, "storage", {})

    def __setattr__(self, key, value):
        ident = self.get_ident()
        try:
            self.storage[ident][key] = value
        except KeyError:
            self.storage[ident] = {key: value}

    def __getattr__(self, item):
        ident = self.get_ident()
        try:
            return self.storage[ident][item]
        except KeyError:
            print("None")  # the notes' print('None'): the caller gets None, and no error


# ==========================================================================================
# Demo
# ==========================================================================================


def demo_attribute_hooks():
    print("== §2 面向对象: __setattr__ / __getattr__ ==")
    print("obj = Foo()   (the notes' comment says #触发__setattr__; creating it calls neither:)")
    obj = Foo()
    print("  (nothing ran)")
    print("obj.x = 123")
    obj.x = 123
    print("obj.x")
    obj.x
    ins = ClassA("ClassA")
    print(f"ClassA: __dict__ = {ins.__dict__}")
    print(f"ins.classname -> {ins.classname!r}  (found normally: __getattr__ not called)")
    print(f"ins.grade     -> {ins.grade!r}  (missing: __getattr__ called)")
    try:
        NaiveLocal()
    except RecursionError as exc:
        print(f"self.storage = {{}} in __init__ -> RecursionError: {exc}")
    local = DictLocal()
    local.x1 = 123
    print(
        f"object.__setattr__(self, 'storage', {{}}) -> local.x1 = {local.x1}, "
        f"storage = {local.storage}"
    )
    request = DRFRequest(WSGIRequest(GET={"page": "1"}, POST={"name": "alex"}))
    print(f"DRF: request.query_params = {request.query_params}, request.data = {request.data}")
    print(f"DRF: request.POST -> __getattr__ -> request._request.POST = {request.POST}")


def demo_thread_ident():
    print()
    print("== §3 线程唯一标识: threading.get_ident() ==")
    idents = run_in_threads(lambda i: get_ident(), 5)
    for i, ident in enumerate(idents):
        print(f"thread {i}: ident = {ident}")
    print(f"5 live threads, {len(set(idents))} distinct idents; main thread = {get_ident()}")
    one_after_another = [run_in_threads(lambda i: get_ident(), 1)[0] for _ in range(3)]
    print(f"3 threads, each ended before the next began: idents {one_after_another}")
    print("-> an ident is only unique among live threads: a finished thread's ident is often")
    print("   handed to the next one, so storage keyed by it must be cleaned (03: release_local)")


def demo_ident_local():
    print()
    print("== §4 自定义threading.local, side by side with threading.local ==")
    ours, real = IdentLocal(), threading.local()

    def task(arg):
        ours.x1 = arg
        real.x1 = arg
        return ours.x1, real.x1, get_ident()

    results = run_in_threads(task, 5)
    for i, (mine, theirs, _) in enumerate(results):
        print(f"thread {i}: IdentLocal.x1 = {mine}, threading.local.x1 = {theirs}")
    in_thread_order = {ident: ours.storage[ident] for _, _, ident in results}
    print(f"IdentLocal.storage (in thread order) = {in_thread_order}")
    print(f"main thread: IdentLocal.x1 = {ours.x1}, threading.local has x1: {hasattr(real, 'x1')}")


def demo_stack_local():
    print()
    print("== §5 加强版threading.local: a stack of values per name ==")
    try:
        notes = NotesStackLocal()
        notes.x1 = 1
        notes.x2 = 2
    except KeyError as exc:
        print(f"the notes' version: x1 then x2 in one thread -> KeyError: {exc}")
    ours, real = StackLocal(), threading.local()

    def task(arg):
        for value in (arg, arg * 10):
            ours.x1 = value
            real.x1 = value
        ours.x2 = "second name"
        return ours.x1, real.x1, ours.storage[get_ident()]

    for i, (mine, theirs, entry) in enumerate(run_in_threads(task, 3)):
        print(
            f"thread {i}: StackLocal.x1 = {mine}, threading.local.x1 = {theirs}, "
            f"this thread's storage = {entry}"
        )


def demo_named_threads():
    print()
    print("== 003 上下文原理: twenty threads, 线程0-线程19, set obj.name = i, wait,")
    print("   then print(obj.name, threading.current_thread().name) ==")
    for label, obj in (("threading.local()", threading.local()), ("a plain object", Plain())):
        read = named_threads(obj)
        print(f"{label}:")
        for row in range(0, len(read), 5):
            cells = (f"{value:>2} {name:<4}" for value, name in read[row : row + 5])
            print(("  " + "   ".join(cells)).rstrip())
    print("-> threading.local gives each thread its own name; the plain object has one,")
    print("   and every thread prints the last value written")


def demo_notes_locals():
    print()
    print("== 003 自定义类似local的函数, as written ==")
    try:
        TypoLocal().x = 1
    except NameError as exc:
        print(f"__setattr__(self, key, balue) -> local.x = 1 raises NameError: {exc}")
    fixed = IdentLocal()
    fixed.x = 1
    print(f"  (fixed: IdentLocal names the parameter value: local.x = 1 -> local.x = {fixed.x})")
    first, second = ClassDictLocal(), ClassDictLocal()
    first.x = "set on the first instance"
    print(f"DIC = {{}} is a class attribute: second.x -> {second.x!r} (every instance shares it)")
    other = IdentLocal()
    print(f"  (fixed: IdentLocal makes its storage in __init__: a new one's x -> {other.x!r})")
    ClassDictLocal.DIC.clear()


def demo_notes_local_class():
    print()
    print("== 003 自定义线程(协程)的Local类, as written ==")
    local = GreenletClassLocal()
    local.x = 1
    print("greenlet as get_ident: local.x = 1; reading local.x prints:")
    value = local.x
    print(f"  and returns {value!r}: get_ident() made a new greenlet for the read, a key the")
    print("  write never used (greenlet is the class; greenlet.getcurrent is the function)")
    print("  (fixed in 03: `from greenlet import getcurrent as get_ident`, and a miss raises")
    print("   AttributeError instead of printing 'None')")


def demo_parent_method():
    print()
    print("== 003 七、其他: 执行父类的方法 — F1(Foo, Bar) and F1.__mro__ ==")

    class Foo:
        def func(self):
            print("Foo.func")

    class Bar:
        def func(self):
            print("Bar.func")

    class F1(Foo, Bar):
        pass

    f = F1()
    print("f.func() prints:")
    f.func()
    print(f"F1.__mro__ = ({', '.join(cls.__name__ for cls in F1.__mro__)})")
    print("-> a method is looked up along __mro__: F1, then Foo, then Bar; 05's")
    print("   SecureCookieSession(CallbackDict, SessionMixin) finds its methods the same way")


SECTIONS = sections.registry(
    sections.Section(
        "attribute_hooks",
        demo_attribute_hooks,
        Foo, ClassA, NaiveLocal, DictLocal, WSGIRequest, DRFRequest,
        heading="### 2. 面向对象", note="000",
    ),
    sections.Section(
        "thread_ident",
        demo_thread_ident,
        run_in_threads,
        heading="### 3.线程唯一标识", note="000",
    ),
    sections.Section(
        "named_threads",
        demo_named_threads,
        Plain, named_threads,
        heading="### 上下文原理", note="003",
    ),
    sections.Section(
        "notes_locals",
        demo_notes_locals,
        IdentLocal,
        heading="### 自定义类似local的函数—Local 为每个协程或者线程开辟独立空间", note="003",
        bug=(TypoLocal, ClassDictLocal),
    ),
    sections.Section(
        "notes_local_class",
        demo_notes_local_class,
        heading="### 自定义线程(协程)的Local类", note="003",
        bug=(GreenletClassLocal,),
    ),
    sections.Section(
        "ident_local",
        demo_ident_local,
        IdentLocal,
        heading="### 4.自定义threading.local", note="000",
    ),
    sections.Section(
        "stack_local",
        demo_stack_local,
        StackLocal,
        heading="### 5.加强版threading.local", note="000",
        bug=(NotesStackLocal,),
    ),
    sections.Section(
        "parent_method",
        demo_parent_method,
        heading="### 执行父类的方法", note="003",
    ),
)  # fmt: skip


def main(argv=None):
    sections.main("02_local.py", __doc__, SECTIONS, argv)


if __name__ == "__main__":
    cli.run(main, "02_local.py")
