"""04 — partial, private names, LocalProxy, and Flask 1.1.1's globals (request, session, g, ...).

Notes: 000/001 §8 了解源码流程之后，使用：session、request、app、g (偏函数, 私有成员, setattr,
setitem, and its four mappings session['x'] -> ctx.session ... g.x1 -> app_ctx.g.x1), 000 扩展
(__call__/__setitem__/__getitem__), 002's 01 偏函数 (its three forms) / 02 __add__ / 03 chain
(实例1, 实例2) and its 3 找到视图函数并且使用导入request对象 (steps 3.0–3.7, printed from the real
calls by sys.setprofile), 003's bare `request()` partial, and 001's remark that Flask 3 differs
(the notes' names mapped to today's, checked against the installed Flask).

Over 03 this adds the last piece of `from flask import request`: a LocalProxy that looks up the
real object on *every* use, through `functools.partial(_lookup_req_object, "request")`, which
reads the top of 03's LocalStack for the current thread. This file owns the two stacks
`_request_ctx_stack` and `_app_ctx_stack`; 05 imports them from here.

LocalProxy here forwards the whole data model as Werkzeug >= 2.0 does. Werkzeug 1.0.1 (what the
notes read) missed `__class__` (isinstance saw LocalProxy), the reflected `**` `<<` `>>` `&`
`^` `|`, every in-place operator (`p += x` rebound p to a plain object), `@`, round/trunc/floor/
ceil, `__next__`, `__reversed__`, `__format__`, `__bytes__`, `__length_hint__` and async.

Run:  python 04_proxy.py
Test: python -m pytest tests/test_04_proxy.py
"""

import copy
import importlib
import importlib.metadata
import math
import operator
import sys
from functools import partial
from itertools import chain

from instruments import cli, sections, version_table

localstack = importlib.import_module("03_localstack")
storage_view = localstack.storage_view

# ==========================================================================================
# §8 偏函数 — functools.partial (and 002's __add__ and chain)
# ==========================================================================================


def func(a1, a2, a3):
    return (a1, a2, a3)


class Foo:
    """002's __add__: `fo1 + fo2` and `fo1 + 4` both call fo1.__add__."""

    def __init__(self):
        self.num = 1

    def __add__(self, other):
        if isinstance(other, Foo):
            return self.num + other.num
        return self.num + other


# ==========================================================================================
# 扩展 — obj() / obj[k] = v / obj[k] / obj.x = v / obj.x
# ==========================================================================================


class Magic:
    """Which special method runs for which syntax."""

    def __init__(self):
        object.__setattr__(self, "log", [])

    def __call__(self, *args):
        self.log.append(f"__call__{args}")

    def __setitem__(self, key, value):
        self.log.append(f"__setitem__({key!r}, {value!r})")

    def __getitem__(self, key):
        self.log.append(f"__getitem__({key!r})")

    def __setattr__(self, key, value):
        self.log.append(f"__setattr__({key!r}, {value!r})")

    def __getattr__(self, key):
        self.log.append(f"__getattr__({key!r})")


# ==========================================================================================
# §8 LocalProxy — look the object up on every use
# ==========================================================================================


def _forward(op):
    """A method that applies `op` to the current object: __len__ = _forward(len)."""

    def method(self, *args):
        return op(self._get_current_object(), *args)

    return method


def _reflected(op):
    """`other + proxy` -> proxy.__radd__(other) -> op(other, obj), so NotImplemented still works."""

    def method(self, other):
        return op(other, self._get_current_object())

    return method


def _in_place(op):
    """`p += x` runs obj's in-place op and keeps the name `p` bound to the proxy."""

    def method(self, other):
        op(self._get_current_object(), other)
        return self

    return method


def _method(name):
    """Forward to a method of the object that has no builtin function (e.g. __enter__)."""

    def method(self, *args, **kwargs):
        return getattr(self._get_current_object(), name)(*args, **kwargs)

    return method


class LocalProxy:
    """Acts as the object that `local` currently points to, looked up again on every use.

    `local` is either a callable (Flask: `partial(_lookup_req_object, "request")`) or a
    Local / LocalStack together with the attribute `name` to read from it.
    """

    __slots__ = ("__local", "__lookup", "__wrapped__")

    def __init__(self, local, name=None):
        # Our own __setattr__ forwards to the target, so set our slots with object.__setattr__,
        # under their mangled names: self.__local inside the class is self._LocalProxy__local.
        object.__setattr__(self, "_LocalProxy__local", local)
        if hasattr(local, "__release_local__"):
            lookup = partial(_read_local, local, name)
        else:
            lookup = local
            object.__setattr__(self, "__wrapped__", local)
        object.__setattr__(self, "_LocalProxy__lookup", lookup)

    def _get_current_object(self):
        """Step 3.4: run the lookup now and return the real object behind the proxy."""
        return self.__lookup()

    # --- the answers an unbound proxy still gives -------------------------------------------
    def __repr__(self):
        try:
            obj = self._get_current_object()
        except RuntimeError:
            return "<LocalProxy unbound>"
        return repr(obj)

    def __bool__(self):
        try:
            return bool(self._get_current_object())
        except RuntimeError:
            return False

    def __dir__(self):
        try:
            return dir(self._get_current_object())
        except RuntimeError:
            return []

    @property
    def __class__(self):
        try:
            return self._get_current_object().__class__
        except RuntimeError:
            return type(self)

    # --- attributes (step 3.3: request.method -> __getattr__("method")) ---------------------
    def __getattr__(self, name):
        return getattr(self._get_current_object(), name)

    def __setattr__(self, name, value):
        setattr(self._get_current_object(), name, value)

    def __delattr__(self, name):
        delattr(self._get_current_object(), name)

    # --- containers, calls, conversions -----------------------------------------------------
    __getitem__ = _forward(operator.getitem)
    __setitem__ = _forward(operator.setitem)  # session['x'] = 123 -> ctx.session['x'] = 123
    __delitem__ = _forward(operator.delitem)
    __len__ = _forward(len)
    __length_hint__ = _forward(operator.length_hint)
    __iter__ = _forward(iter)
    __next__ = _forward(next)
    __reversed__ = _forward(reversed)
    __contains__ = _forward(operator.contains)
    __call__ = _method("__call__")
    __str__ = _forward(str)
    __bytes__ = _forward(bytes)
    __format__ = _forward(format)
    __hash__ = _forward(hash)
    __int__ = _forward(int)
    __float__ = _forward(float)
    __complex__ = _forward(complex)
    __index__ = _forward(operator.index)
    __round__ = _forward(round)
    __trunc__ = _forward(math.trunc)
    __floor__ = _forward(math.floor)
    __ceil__ = _forward(math.ceil)
    __enter__ = _method("__enter__")
    __exit__ = _method("__exit__")
    __instancecheck__ = _method("__instancecheck__")
    __subclasscheck__ = _method("__subclasscheck__")
    __copy__ = _forward(copy.copy)
    __deepcopy__ = _forward(copy.deepcopy)
    __await__ = _method("__await__")
    __aiter__ = _method("__aiter__")
    __anext__ = _method("__anext__")
    __aenter__ = _method("__aenter__")
    __aexit__ = _method("__aexit__")

    # --- comparisons and unary operators ----------------------------------------------------
    __eq__ = _forward(operator.eq)
    __ne__ = _forward(operator.ne)
    __lt__ = _forward(operator.lt)
    __le__ = _forward(operator.le)
    __gt__ = _forward(operator.gt)
    __ge__ = _forward(operator.ge)
    __neg__ = _forward(operator.neg)
    __pos__ = _forward(operator.pos)
    __abs__ = _forward(abs)
    __invert__ = _forward(operator.invert)

    # --- binary operators: plain, reflected, in-place ---------------------------------------
    __add__ = _forward(operator.add)
    __radd__ = _reflected(operator.add)
    __iadd__ = _in_place(operator.iadd)
    __sub__ = _forward(operator.sub)
    __rsub__ = _reflected(operator.sub)
    __isub__ = _in_place(operator.isub)
    __mul__ = _forward(operator.mul)
    __rmul__ = _reflected(operator.mul)
    __imul__ = _in_place(operator.imul)
    __matmul__ = _forward(operator.matmul)
    __rmatmul__ = _reflected(operator.matmul)
    __imatmul__ = _in_place(operator.imatmul)
    __truediv__ = _forward(operator.truediv)
    __rtruediv__ = _reflected(operator.truediv)
    __itruediv__ = _in_place(operator.itruediv)
    __floordiv__ = _forward(operator.floordiv)
    __rfloordiv__ = _reflected(operator.floordiv)
    __ifloordiv__ = _in_place(operator.ifloordiv)
    __mod__ = _forward(operator.mod)
    __rmod__ = _reflected(operator.mod)
    __imod__ = _in_place(operator.imod)
    __divmod__ = _forward(divmod)
    __rdivmod__ = _reflected(divmod)
    __pow__ = _forward(pow)
    __rpow__ = _reflected(pow)
    __ipow__ = _in_place(operator.ipow)
    __lshift__ = _forward(operator.lshift)
    __rlshift__ = _reflected(operator.lshift)
    __ilshift__ = _in_place(operator.ilshift)
    __rshift__ = _forward(operator.rshift)
    __rrshift__ = _reflected(operator.rshift)
    __irshift__ = _in_place(operator.irshift)
    __and__ = _forward(operator.and_)
    __rand__ = _reflected(operator.and_)
    __iand__ = _in_place(operator.iand)
    __xor__ = _forward(operator.xor)
    __rxor__ = _reflected(operator.xor)
    __ixor__ = _in_place(operator.ixor)
    __or__ = _forward(operator.or_)
    __ror__ = _reflected(operator.or_)
    __ior__ = _in_place(operator.ior)


def _read_local(local, name):
    """The lookup for a Local-backed proxy: the attribute, or 'unbound' as a RuntimeError."""
    try:
        return getattr(local, name)
    except AttributeError:
        raise RuntimeError(f"no object bound to {name}") from None


# Werkzeug keeps Local, LocalStack and LocalProxy in one file, and `local("name")` and
# `stack()` hand out a LocalProxy. Here the proxy is this file's lesson, so 03's classes gain
# their __call__ here, in subclasses: 03 stays as it is, whether or not this file is loaded.


class Local(localstack.Local):
    """03's Local, plus Werkzeug 1.0.1's __call__."""

    def __call__(self, name):
        """local("name"): a proxy reading `name` from this Local for whichever context is
        current."""
        return LocalProxy(self, name)


class LocalStack(localstack.LocalStack):
    """03's LocalStack, plus Werkzeug 1.0.1's __call__."""

    def __call__(self):
        """stack(): a proxy to whatever is on top of this stack, looked up on every use."""

        def _lookup():
            rv = self.top
            if rv is None:
                raise RuntimeError("object unbound")
            return rv

        return LocalProxy(_lookup)


# ==========================================================================================
# flask/globals.py (1.1.1) — two LocalStacks and four proxies
# ==========================================================================================

_request_ctx_err_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request.  Consult the documentation on testing for
information about how to avoid this problem.\
"""
_app_ctx_err_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
to interface with the current application object in some way. To solve
this, set up an application context with app.app_context().  See the
documentation for more information.\
"""


def _lookup_req_object(name):
    top = _request_ctx_stack.top
    if top is None:
        raise RuntimeError(_request_ctx_err_msg)
    return getattr(top, name)


def _lookup_app_object(name):
    top = _app_ctx_stack.top
    if top is None:
        raise RuntimeError(_app_ctx_err_msg)
    return getattr(top, name)


def _find_app():
    top = _app_ctx_stack.top
    if top is None:
        raise RuntimeError(_app_ctx_err_msg)
    return top.app


# context locals: __storage__ = {ident: {"stack": [RequestContext]}} / {..: [AppContext]}
_request_ctx_stack = LocalStack()
_app_ctx_stack = LocalStack()
current_app = LocalProxy(_find_app)
request = LocalProxy(partial(_lookup_req_object, "request"))
session = LocalProxy(partial(_lookup_req_object, "session"))
g = LocalProxy(partial(_lookup_app_object, "g"))


# ==========================================================================================
# Demo
# ==========================================================================================


class StandInRequest:
    method = "GET"
    path = "/index"

    def __repr__(self):
        return "<StandInRequest GET /index>"


class StandInRequestContext:
    """Just enough of a RequestContext for the demo: a request and a session dict."""

    def __init__(self):
        self.request = StandInRequest()
        self.session = {}

    def __repr__(self):
        return "<StandInRequestContext GET /index>"


class StandInApp:
    name = "standin"

    def __init__(self):
        self.config = {"DEBUG": False}


class StandInAppContext:
    """Just enough of an AppContext: the app and its g."""

    def __init__(self):
        self.app = StandInApp()
        self.g = type("g", (), {})()

    def __repr__(self):
        return "<StandInAppContext of standin>"


def demo_partial_forms():
    print("== 002 01 偏函数: the three partial forms, as written ==")

    def show(a1, a2, a3):
        print(f"  func(a1={a1}, a2={a2}, a3={a3})")

    print("new_func1 = partial(func, a1=1, a2=2); new_func1(a3=3)")
    partial(show, a1=1, a2=2)(a3=3)
    print("new_func2 = partial(func, 1, 2); new_func2(3)")
    partial(show, 1, 2)(3)
    print("new_func3 = partial(func, a1=1); new_func3(a2=2, a3=3)")
    partial(show, a1=1)(a2=2, a3=3)


def demo_add():
    print()
    print("== 002 02 __add__的使用 ==")
    fo1, fo2 = Foo(), Foo()
    print(f"fo1 + fo2 -> {fo1 + fo2}; fo1 + 4 -> {fo1 + 4}")


def demo_chain():
    print()
    print("== 002 03 chain函数 ==")
    new_iter = chain([1, 2, 3], [4, 5])
    print(
        f"实例1 print(chain(l1, l2)) -> {type(new_iter).__name__} object: lazy, nothing joined "
        f"yet; for i in it -> {list(new_iter)}"
    )

    def f1(x):
        return x + 1

    def f2(x):
        return x + 2

    def f3(x):
        return x + 3

    print(
        f"实例2 chain([f3], [f1, f2]) -> {[f.__name__ for f in chain([f3], [f1, f2])]} "
        "(05 chains the app's hooks with the blueprint's this way)"
    )


def demo_partial():
    print()
    print("== §8 偏函数: functools.partial(func, 123) ==")
    new_func = partial(func, 123)
    print(f"new_func = functools.partial(func, 123); new_func(2, 3) -> {new_func(2, 3)}")
    print("-> LocalProxy is made with one: LocalProxy(partial(_lookup_req_object, 'request'))")


def demo_private():
    class Foo:  # §8 私有成员's Foo, defined here: 002's __add__ Foo is another class
        def __init__(self):
            self.name = "alex"
            self.__age = 123  # stored as _Foo__age: "private" names are only renamed

    print()
    print("== §8 私有成员: self.__age is stored as _Foo__age ==")
    obj = Foo()
    print(f"obj.name -> {obj.name!r}; obj._Foo__age -> {obj._Foo__age}; vars(obj) = {vars(obj)}")
    lookup = partial(func, 1, 2, 3)
    proxy = LocalProxy(lookup)
    print(
        "LocalProxy.__init__ stores its target as self.__local, which Python renames: "
        f"proxy._LocalProxy__local is lookup -> {proxy._LocalProxy__local is lookup}"
    )


def demo_extension():
    print()
    print("== 扩展: obj() / obj[k] = v / obj[k] / obj.x = v / obj.x ==")
    m = Magic()
    m(1)
    m["x1"] = 123
    m["x2"]
    m.x1 = 123
    m.x2
    print(f"obj(1); obj['x1'] = 123; obj['x2']; obj.x1 = 123; obj.x2 -> {m.log}")


# --- 002 §3: request.method, watched while it runs -------------------------------------------

_CHAIN = {
    LocalProxy.__getattr__.__code__: "3.3 LocalProxy.__getattr__({name!r})",
    LocalProxy._get_current_object.__code__: "3.4 LocalProxy._get_current_object()",
    _lookup_req_object.__code__: "3.5 _lookup_req_object({name!r}): top = _request_ctx_stack.top",
    LocalStack.top.fget.__code__: "3.6 LocalStack.top: return self._local.stack[-1]",
    localstack.Local.__getattr__.__code__: "3.7 Local.__getattr__({name!r}): "
    "self.__storage__[self.__ident_func__()][name]",
}


def watch_calls(expression):
    """Evaluate expression() while sys.setprofile reports the calls of 002's 3.3-3.7 as they
    happen; returns (value, the lines, indented by call depth)."""
    lines, depth = [], [0]

    def profile(frame, event, arg):
        text = _CHAIN.get(frame.f_code)
        if text is None:
            return
        if event == "call":
            lines.append("  " * depth[0] + text.format_map(frame.f_locals))
            depth[0] += 1
        elif event == "return":
            depth[0] -= 1
            lines.append("  " * depth[0] + f"  -> {arg!r}")

    sys.setprofile(profile)
    try:
        value = expression()
    finally:
        sys.setprofile(None)
    return value, lines


def demo_request_method():
    print()
    print("== 002 §3: request.method with a stand-in context pushed, steps 3.3-3.7 as they run ==")
    ctx = StandInRequestContext()
    _request_ctx_stack.push(ctx)
    try:
        print(f"pushed: _request_ctx_stack.__storage__ = {storage_view(_request_ctx_stack)}")
        print("3.2 request = LocalProxy(partial(_lookup_req_object, 'request')), made at import")
        value, lines = watch_calls(lambda: request.method)
        print("request.method:")
        for line in lines:
            print(f"  {line}")
        print(f"request.method -> {value!r}")
        print(
            f"003's bare call: partial(_lookup_req_object, 'request')() -> "
            f"{partial(_lookup_req_object, 'request')().__class__.__name__} object"
        )
    finally:
        _request_ctx_stack.pop()
    print(f"popped: _request_ctx_stack.__storage__ = {storage_view(_request_ctx_stack)}")


def demo_four_mappings():
    print()
    print("== §8 session, request, current_app, g: each a LocalProxy onto a context ==")
    ctx, app_ctx = StandInRequestContext(), StandInAppContext()
    _app_ctx_stack.push(app_ctx)
    _request_ctx_stack.push(ctx)
    try:
        session["x"] = 123
        print(f"session['x'] = 123     -> ctx.session['x'] = 123:  ctx.session = {ctx.session}")
        print(f"request.method         -> ctx.request.method:      {request.method!r}")
        print(
            f"current_app.config     -> app_ctx.app.config:      "
            f"{current_app.config is app_ctx.app.config}"
        )
        g.x1 = 1
        print(f"g.x1 = 1               -> app_ctx.g.x1 = 1:        app_ctx.g.x1 = {app_ctx.g.x1}")
    finally:
        _request_ctx_stack.pop()
        _app_ctx_stack.pop()


GET_IDENT = "`Local().__ident_func__`, `from werkzeug.local import get_ident`"  # 10's row


def demo_flask_today():
    print()
    print("== 001: 在最新的flask 3.0.3版本中这个部分不同 — the notes' names today ==")
    try:
        import flask
        import flask.globals as flask_globals
        import werkzeug.local as wz_local
    except ImportError:
        print("Flask is not installed: pip install -r requirements.txt")
        return
    rows = [
        (
            "_request_ctx_stack, _app_ctx_stack",
            f"gone (10 measured: {version_table.history('`_request_ctx_stack.top`')})",
            not hasattr(flask_globals, "_request_ctx_stack"),
        ),
        (
            "LocalStack in flask.globals",
            "_cv_request, _cv_app (ContextVar)",
            type(flask_globals._cv_request).__name__ == "ContextVar",
        ),
        (
            "_request_ctx_stack.top",
            "flask.globals.request_ctx (a LocalProxy)",
            isinstance(flask_globals.__dict__["request_ctx"], wz_local.LocalProxy),
        ),
        (
            "werkzeug.local Local, LocalStack, LocalProxy, release_local, LocalManager",
            "still there, on ContextVars",
            all(
                hasattr(wz_local, n)
                for n in ("Local", "LocalStack", "LocalProxy", "release_local", "LocalManager")
            ),
        ),
        (
            "werkzeug.local.get_ident, __storage__, ident_func",
            f"gone (10 measured, with each Flask's Werkzeug: {version_table.history(GET_IDENT)})",
            not hasattr(wz_local, "get_ident"),
        ),
    ]
    print(
        f"installed: Flask {importlib.metadata.version('flask')}, "
        f"Werkzeug {importlib.metadata.version('werkzeug')} ({flask.__name__} imported)"
    )
    for notes, today, checked in rows:
        print(f"  {notes}\n    -> {today}: {'checked' if checked else 'NOT so here'}")


def demo_outside_context():
    print()
    print("== outside any context ==")
    print(f"bool(request) -> {bool(request)}; repr(request) -> {request!r}")
    for expression, use in (
        ("request.method", lambda: request.method),
        ("session['x']", lambda: session["x"]),
        ("g.x1", lambda: g.x1),
        ("current_app.config", lambda: current_app.config),
    ):
        try:
            use()
        except RuntimeError as exc:
            print(f"{expression} -> RuntimeError: {str(exc).splitlines()[0]}")


SECTIONS = sections.registry(
    sections.Section(
        "partial_forms", demo_partial_forms, heading="### 01 偏函数", note="002",
    ),
    sections.Section(
        "add", demo_add, Foo, heading="### 02 __add__的使用", note="002",
    ),
    sections.Section(
        "chain", demo_chain, heading="### 03 chain函数", note="002",
    ),
    sections.Section(
        "partial", demo_partial, func, heading="#### 偏函数", note="000",
    ),
    sections.Section(
        "private", demo_private, heading="#### 私有成员", note="000",
    ),
    sections.Section(
        "extension", demo_extension, Magic, heading="## 扩展", note="000",
    ),
    sections.Section(
        "request_method",
        demo_request_method,
        LocalProxy, _lookup_req_object, watch_calls,
        heading="### 3 找到视图函数并且使用导入request对象", note="002",
    ),
    sections.Section(
        "four_mappings",
        demo_four_mappings,
        _lookup_req_object, _lookup_app_object, _find_app,
        sections.Assigned(__name__, "current_app", "request", "session", "g"),
        heading="### 8.了解源码流程之后，使用：session、request、app、g",
        note="000",
    ),
    sections.Section(
        "outside_context",
        demo_outside_context,
        heading="### 8.了解源码流程之后，使用：session、request、app、g", note="000",
    ),
    sections.Section(
        "flask_today",
        demo_flask_today,
        note="001",
        heading="#### 在最新的flask 3.0.3版本中这个部分不同，回退和老师相同版本 flask == 1.1.1",
    ),
)  # fmt: skip


def main(argv=None):
    sections.main("04_proxy.py", __doc__, SECTIONS, argv)


if __name__ == "__main__":
    cli.run(main, "04_proxy.py")
