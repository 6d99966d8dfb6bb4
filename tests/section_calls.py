"""What a section shows but never runs: `python tests/section_calls.py SCRIPT SECTION` wraps each
function, class and method the section shows so that a call is written down, runs the section
as its script would (making its app or readying its database inside the run, as a pasted block
does), and prints the qualified name of each one that was not called (neither through its
wrapper nor, where a reference was kept before the wrapping, as a profiler sees the calls). A
class counts as run when one of its methods runs, or an instance is made; a class with no
methods (a settings class) is read, not run, and is not checked."""

import contextlib
import functools
import importlib
import inspect
import io
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

paste = importlib.import_module("instruments.paste")


def counted(func, key, ran):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        ran.add(key)
        return func(*args, **kwargs)

    return wrapper


def wrapped(value, key, ran):
    """A class attribute, wrapped so that a call of it counts; None if it is no function."""
    if isinstance(value, staticmethod):
        return staticmethod(counted(value.__func__, key, ran))
    if isinstance(value, classmethod):
        return classmethod(counted(value.__func__, key, ran))
    if isinstance(value, property) and value.fget is not None:
        return property(counted(value.fget, key, ran), value.fset, value.fdel, value.__doc__)
    if inspect.isfunction(value):
        return counted(value, key, ran)
    return None


def watch_class(cls, ran):
    """Count a call of any method of `cls`, or the making of an instance, as running it."""
    found = False
    for name, value in list(vars(cls).items()):
        replacement = wrapped(value, cls, ran)
        if replacement is not None and name != "__class__":  # LocalProxy's: not settable
            setattr(cls, name, replacement)
            found = True
    if found and "__init__" not in vars(cls) and "__new__" not in vars(cls):

        def __init__(self, *args, __class=cls, **kwargs):
            ran.add(__class)
            super(__class, self).__init__(*args, **kwargs)

        cls.__init__ = __init__
    return found


def watch(obj, ran):
    """Wrap `obj` where it is defined; False when there is nothing to run in it."""
    if isinstance(obj, paste.Assigned):
        return False
    if isinstance(obj, type):
        return watch_class(obj, ran)
    owner = paste.owner_of(obj)
    home = owner if owner is not None else sys.modules[obj.__module__]
    name = obj.__name__
    original = vars(home)[name]
    setattr(home, name, wrapped(original, obj, ran) if owner else counted(obj, obj, ran))
    return True


def context_of(module, section):
    if not section.needs_context:
        return None
    for maker in ("create_app", "ready_database"):
        if hasattr(module, maker):
            return getattr(module, maker)()
    return None


def codes_of(obj):
    """The code objects of `obj`: a function's, or a class's methods'."""
    if not isinstance(obj, type):
        return {inspect.unwrap(obj).__code__}
    found = set()
    for value in vars(obj).values():
        value = getattr(value, "fget", None) or getattr(value, "__func__", value)
        if inspect.isfunction(value):
            found.add(inspect.unwrap(value).__code__)
    return found


def profiled(run):
    """The code objects called while `run()` runs, as far as a profiler sees them (a function
    kept in a list or a partial is called without its wrapper). A profiler the run sets itself
    (05's recorder) is chained after this one."""
    called = set()
    set_profile, set_thread_profile = sys.setprofile, threading.setprofile

    def profile(frame, event, arg):
        if event == "call":
            called.add(frame.f_code)

    def chained(other):
        if other is None:
            return profile
        return lambda frame, event, arg: (profile(frame, event, arg), other(frame, event, arg))[1]

    sys.setprofile = lambda other: set_profile(chained(other))
    threading.setprofile = lambda other: set_thread_profile(chained(other))
    set_thread_profile(profile)
    set_profile(profile)
    try:
        run()
    finally:
        set_profile(None)
        set_thread_profile(None)
        sys.setprofile, threading.setprofile = set_profile, set_thread_profile
    return called


def main(script, name):
    module = importlib.import_module(script)
    section = module.SECTIONS[name]
    ran = set()
    run = inspect.unwrap(section.run)
    shown = [obj for obj in (*section.bug, *section.code) if obj not in (section.run, run)]
    codes = {obj: codes_of(obj) for obj in shown if not isinstance(obj, paste.Assigned)}
    checked = [obj for obj in shown if watch(obj, ran)]
    with contextlib.redirect_stdout(io.StringIO()):
        called = profiled(lambda: section(context_of(module, section)))
    for obj in checked:
        if obj not in ran and not codes[obj] & called:
            print(obj.__qualname__)


if __name__ == "__main__":
    main(*sys.argv[1:])
