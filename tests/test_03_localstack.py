"""03_localstack: Werkzeug 1.0.1's Local/LocalStack rebuilt, checked against werkzeug.local.

Werkzeug 3's locals are ContextVar-based; they are compared where the two designs coincide
(isolation between threads and greenlets, push/pop/top, missing names). Where 1.0.1 differs on
purpose (idents, release on the last pop), the 1.0.1 behaviour is asserted directly.
"""

import asyncio

import greenlet
import pytest
import werkzeug.local as wz
from conftest import load, run_in_threads, run_script

localstack = load("03_localstack")


def test_demo_runs_and_answers_the_todo():
    result = run_script("03_localstack")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "pop() -> '汪洋'" in out and "after {}" in out
    assert "the notes' pop (release commented out): pop() x3 -> ['汪洋', '汪洋', '汪洋']" in out
    assert "both requests ended (last pop released): {}, {}" in out
    assert "ident-keyed LocalStack: task-A sees top 'task-B'" in out
    assert "ContextVarLocalStack:   task-A sees top 'task-A', task-B sees top 'task-B'" in out
    assert "g1: greenlet-ident stack top = 'g1', thread-ident stack top = 'g2'" in out


def test_get_ident_prefers_greenlet():
    assert localstack.get_ident is greenlet.getcurrent
    assert localstack.get_ident() is greenlet.getcurrent()


# --- Local --------------------------------------------------------------------------------


@pytest.mark.parametrize("Local", [localstack.Local, wz.Local], ids=["ours", "werkzeug"])
def test_local_set_get_delete_and_missing_names(Local):
    local = Local()
    local.foo = 1
    assert local.foo == 1
    del local.foo
    with pytest.raises(AttributeError):
        local.foo
    with pytest.raises(AttributeError):
        del local.foo
    assert getattr(local, "foo", None) is None and not hasattr(local, "foo")


def test_missing_name_is_attribute_error_never_key_error():
    local = localstack.Local()
    with pytest.raises(AttributeError) as info:
        local.stack
    assert not isinstance(info.value, KeyError)
    assert str(info.value) == "stack"
    local.other = 1  # an entry for this ident exists, the name does not
    with pytest.raises(AttributeError):
        local.stack


@pytest.mark.parametrize("Local", [localstack.Local, wz.Local], ids=["ours", "werkzeug"])
def test_local_isolates_threads_like_werkzeug(Local):
    local = Local()

    def task(i, barrier):
        local.value = i
        barrier.wait()
        return local.value

    assert run_in_threads(task, 10) == list(range(10))
    assert not hasattr(local, "value")


def test_local_storage_iter_release_and_slots():
    local = localstack.Local()
    local.k1 = 123
    ident = localstack.get_ident()
    assert local.__storage__ == {ident: {"k1": 123}}
    assert list(local) == [(ident, {"k1": 123})]
    local.__storage__ = "lands inside the storage"  # __setattr__ is overridden
    assert local.__storage__ == {ident: {"k1": 123, "__storage__": "lands inside the storage"}}
    localstack.release_local(local)
    assert local.__storage__ == {} and not hasattr(local, "k1")
    localstack.release_local(local)  # releasing twice is fine


# --- LocalStack ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "LocalStack", [localstack.LocalStack, wz.LocalStack], ids=["ours", "werkzeug"]
)
def test_localstack_push_pop_top_like_werkzeug(LocalStack):
    stack = LocalStack()
    assert stack.top is None and stack.pop() is None
    assert stack.push(1) == [1]
    assert stack.push(2) == [1, 2]
    assert stack.top == 2
    assert [stack.pop(), stack.top, stack.pop(), stack.top, stack.pop()] == [2, 1, 1, None, None]


@pytest.mark.parametrize(
    "LocalStack", [localstack.LocalStack, wz.LocalStack], ids=["ours", "werkzeug"]
)
def test_localstack_isolates_threads_like_werkzeug(LocalStack):
    stack = LocalStack()

    def task(i, barrier):
        stack.push(i)
        stack.push(i * 10)
        barrier.wait()
        seen = stack.top
        stack.pop()
        return seen, stack.top

    assert run_in_threads(task, 10) == [(i * 10, i) for i in range(10)]
    assert stack.top is None


def test_push_returns_the_live_list():
    stack = localstack.LocalStack()
    first = stack.push("a")
    assert stack.push("b") is first and first == ["a", "b"]


def test_last_pop_releases_this_idents_storage():
    stack = localstack.LocalStack()
    stack.push("a")
    stack.push("b")
    ident = localstack.get_ident()
    stack.pop()
    assert stack._local.__storage__ == {ident: {"stack": ["a"]}}
    assert stack.pop() == "a"
    assert stack._local.__storage__ == {}


def test_regression_the_notes_pop_never_releases():
    notes = localstack.NotesLocalStack()
    notes.push("x")
    assert [notes.pop(), notes.pop()] == ["x", "x"]
    assert notes._local.__storage__ != {}  # the bug: the commented-out release_local


def test_no_entries_left_after_many_threads_push_and_pop():
    stack = localstack.LocalStack()

    def task(i, barrier):
        for depth in range(3):
            stack.push((i, depth))
        barrier.wait()
        return [stack.pop() for _ in range(4)]

    results = run_in_threads(task, 40)
    assert results == [[(i, 2), (i, 1), (i, 0), None] for i in range(40)]
    assert stack._local.__storage__ == {}


@pytest.mark.parametrize(
    "LocalStack", [localstack.LocalStack, wz.LocalStack], ids=["ours", "werkzeug"]
)
def test_greenlets_are_kept_apart(LocalStack):
    stack, seen, main = LocalStack(), {}, greenlet.getcurrent()

    def worker(name):
        stack.push(name)
        main.switch()  # pause after pushing, so both greenlets have pushed before either reads
        seen[name] = stack.top
        stack.pop()

    g1, g2 = greenlet.greenlet(worker), greenlet.greenlet(worker)
    g1.switch("g1")
    g2.switch("g2")
    g1.switch()
    g2.switch()
    assert seen == {"g1": "g1", "g2": "g2"}
    assert stack.top is None


def test_greenlet_entries_are_released_with_the_last_pop():
    stack = localstack.LocalStack()

    def worker():
        stack.push("x")
        stack.pop()

    for _ in range(20):
        greenlet.greenlet(worker).switch()
    assert stack._local.__storage__ == {}


# --- LocalManager -------------------------------------------------------------------------


def test_local_manager_locals_ident_func_cleanup_and_repr():
    assert localstack.LocalManager().locals == []
    one = localstack.Local()
    assert localstack.LocalManager(one).locals == [one]
    with pytest.raises(TypeError):
        localstack.LocalManager(
            localstack.LocalStack()
        )  # as in 1.0.1: a single LocalStack is not iterable
    stack = localstack.LocalStack()
    manager = localstack.LocalManager([one, stack], ident_func=lambda: "fixed")
    assert stack.__ident_func__() == "fixed" and manager.get_ident() == "fixed"
    one.x = 1
    stack.push(1)
    manager.cleanup()
    assert not hasattr(one, "x") and stack.top is None
    assert repr(manager) == "<LocalManager storages: 2>"


def test_local_manager_middleware_releases_when_the_response_closes():
    local = localstack.Local()
    manager = localstack.LocalManager([local])

    def app(environ, start_response):
        local.user = "alice"
        start_response("200 OK", [])
        return [b"hi"]

    body = manager.make_middleware(app)({}, lambda *a: None)
    assert list(body) == [b"hi"] and local.user == "alice"
    body.close()
    assert not hasattr(local, "user")


# --- the ContextVar successor -------------------------------------------------------------


@pytest.mark.parametrize(
    "LocalStack", [localstack.ContextVarLocalStack, wz.LocalStack], ids=["ours", "werkzeug"]
)
def test_contextvar_stack_copies_per_task_like_werkzeug(LocalStack):
    # werkzeug's test_local_stack_asyncio (issue #2102): a child task must not mutate the
    # parent's list.
    stack = LocalStack()
    stack.push(1)

    async def task():
        pushed = stack.push(2)
        await asyncio.sleep(0)  # the other tasks push meanwhile
        return len(pushed), stack.top

    async def main():
        return await asyncio.gather(task(), task(), task())

    assert asyncio.run(main()) == [(2, 2)] * 3
    assert stack.top == 1 and stack.pop() == 1 and stack.pop() is None


def test_ident_stack_is_shared_by_asyncio_tasks_but_contextvar_stack_is_not():
    assert asyncio.run(localstack._two_tasks(localstack.LocalStack())) == ["task-B", "task-B"]
    assert asyncio.run(localstack._two_tasks(localstack.ContextVarLocalStack())) == [
        "task-A",
        "task-B",
    ]


def test_contextvar_stack_release():
    stack = localstack.ContextVarLocalStack()
    stack.push(1)
    localstack.release_local(stack)
    assert stack.top is None and stack.pop() is None


def test_03s_classes_stay_as_they_are_when_04_is_loaded():
    """04 hands out proxies from subclasses; it never adds methods to 03's classes."""
    before = {cls: dict(vars(cls)) for cls in (localstack.Local, localstack.LocalStack)}
    load("04_proxy")
    assert {cls: dict(vars(cls)) for cls in (localstack.Local, localstack.LocalStack)} == before
    assert "__call__" not in vars(localstack.Local) and "__call__" not in vars(
        localstack.LocalStack
    )


def test_the_notes_003_local_with_the_greenlet_class_fails_and_getcurrent_fixes_it():
    out = run_script("03_localstack").stdout
    section = out.split("== 003 六")[1].split("\n\n")[0]
    assert "obj.stack.append('老王') -> AttributeError: stack" in section
    assert "print(obj.top) -> None" in section and "print(obj.pop()) -> None" in section
    assert "__storage__ keeps 2" in section
    assert "top -> '老李', pop() -> '老李', then top -> '老王'" in section


def test_the_notes_two_pushes_on_one_thread_share_the_ident():
    out = run_script("03_localstack").stdout
    one_thread = out.split("on one thread:\n")[1].split("two threads")[0].splitlines()
    request_key = one_thread[0].split("= {")[1].split(":")[0]
    app_key = one_thread[1].split("= {")[1].split(":")[0]
    assert request_key == app_key
    assert "['小魔方']" in one_thread[0] and "['大魔方']" in one_thread[1]


def test_a_greenlet_key_prints_as_05_prints_it_unquoted():
    """03 printed {'<main greenlet 0x…>': ...} and 05 {<main greenlet 0x…>: ...}: one way."""
    local = localstack.Local()
    local.k1 = 123
    text = repr(localstack.storage_view(local))
    assert text.startswith("{<main greenlet 0x") and "'<main greenlet" not in text
    assert str(next(iter(localstack.storage_view(local)))).startswith("<main greenlet 0x")
