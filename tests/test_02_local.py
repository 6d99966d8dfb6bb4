"""02_local: attribute hooks and hand-built thread locals, checked against threading.local."""

import re
import threading

import pytest
from conftest import load, run_script

local_mod = load("02_local")


def mask_idents(text):
    return re.sub(r"\d{6,}", "<ident>", text)


def test_demo_runs_and_narrates_in_a_fixed_order():
    first, second = run_script("02_local"), run_script("02_local")
    assert first.returncode == 0, first.stderr
    assert mask_idents(first.stdout) == mask_idents(second.stdout)
    out = first.stdout
    assert "  __setattr__ runs: key='x' value=123" in out
    assert "RecursionError" in out
    assert "5 live threads, 5 distinct idents" in out
    assert "thread 4: IdentLocal.x1 = 4, threading.local.x1 = 4" in out
    assert "the notes' version: x1 then x2 in one thread -> KeyError: 'x2'" in out


def test_setattr_and_getattr_are_traced(capsys):
    obj = local_mod.Foo()
    obj.x = 123
    assert obj.x is None  # the notes' __getattr__ prints and returns nothing
    assert capsys.readouterr().out.splitlines() == [
        "  __setattr__ runs: key='x' value=123",
        "  __getattr__ runs: item='x'",
    ]


def test_getattr_runs_only_for_missing_attributes():
    ins = local_mod.ClassA("ClassA")
    assert ins.classname == "ClassA"
    assert ins.grade == ("invoke __getattr__", "grade")


def test_self_assignment_in_init_recurses_and_object_setattr_fixes_it():
    with pytest.raises(RecursionError):
        local_mod.NaiveLocal()
    local = local_mod.DictLocal()
    local.x1 = 123
    assert (local.x1, local.storage, local.missing) == (123, {"x1": 123}, None)


def test_drf_request_forwards_unknown_attributes():
    raw = local_mod.WSGIRequest(GET={"a": "1"}, POST={"b": "2"})
    request = local_mod.DRFRequest(raw)
    assert request.query_params is raw.GET and request.data is raw.POST
    assert request.POST is raw.POST and request._request is raw
    with pytest.raises(AttributeError):
        request.nothing


def test_live_threads_have_distinct_idents():
    idents = local_mod.run_in_threads(lambda i: threading.get_ident(), 8)
    assert len(set(idents)) == 8 and threading.get_ident() not in idents


def isolation_results(make_local, threads=8):
    local = make_local()
    barrier = threading.Barrier(threads)

    def task(i):
        local.x1 = i
        barrier.wait()  # every thread has written before any thread reads
        return local.x1

    return local, local_mod.run_in_threads(task, threads)


@pytest.mark.parametrize(
    "make_local", [local_mod.IdentLocal, local_mod.StackLocal, threading.local]
)
def test_each_thread_sees_its_own_value_like_threading_local(make_local):
    local, seen = isolation_results(make_local)
    assert seen == list(range(8))
    assert getattr(local, "x1", None) is None  # the main thread set nothing


def test_ident_local_differs_from_threading_local_only_for_missing_names():
    assert local_mod.IdentLocal().missing is None  # the notes' choice
    with pytest.raises(AttributeError):
        threading.local().missing


def test_ident_local_storage_is_keyed_by_thread_ident():
    local, _ = isolation_results(local_mod.IdentLocal, threads=4)
    assert sorted(v["x1"] for v in local.storage.values()) == [0, 1, 2, 3]
    assert threading.get_ident() not in local.storage


def test_regression_notes_stack_local_raises_keyerror_for_a_second_name():
    notes = local_mod.NotesStackLocal()
    notes.x1 = 1
    with pytest.raises(KeyError):
        notes.x2 = 2  # the bug in the notes' §5
    fixed = local_mod.StackLocal()
    fixed.x1 = 1
    fixed.x2 = 2
    fixed.x1 = 10
    assert (fixed.x1, fixed.x2, fixed.missing) == (10, 2, None)
    assert fixed.storage[threading.get_ident()] == {"x1": [1, 10], "x2": [2]}


def test_stack_local_reads_the_newest_value_like_threading_local():
    ours, real = local_mod.StackLocal(), threading.local()

    def task(i):
        for value in (i, i * 10, i * 100):
            ours.x1 = value
            real.x1 = value
        return ours.x1, real.x1, ours.storage[threading.get_ident()]["x1"]

    for i, (mine, theirs, history) in enumerate(local_mod.run_in_threads(task, 5)):
        assert mine == theirs == i * 100
        assert history == [i, i * 10, i * 100]


def test_creating_foo_calls_neither_hook(capsys):
    local_mod.Foo()  # the notes' comment says this triggers __setattr__: it does not
    assert capsys.readouterr().out == ""


def test_twenty_named_threads_on_threading_local_and_on_a_plain_object():
    names = [f"线程{i}" for i in range(20)]
    assert local_mod.named_threads(threading.local()) == list(zip(range(20), names, strict=True))
    assert local_mod.named_threads(local_mod.Plain()) == [(19, name) for name in names]


def test_the_notes_typo_balue_fails_on_the_first_assignment():
    with pytest.raises(NameError, match="'value' is not defined"):
        local_mod.TypoLocal().x = 1


def test_a_class_level_dict_is_shared_by_every_instance():
    try:
        local_mod.ClassDictLocal().x = 1
        assert local_mod.ClassDictLocal().x == 1  # another instance sees it
    finally:
        local_mod.ClassDictLocal.DIC.clear()


def test_greenlet_class_as_get_ident_misses_every_read(capsys):
    local = local_mod.GreenletClassLocal()
    local.x = 1
    assert local.x is None and capsys.readouterr().out == "None\n"
    local.x = 2
    assert len(local.storage) == 2  # a new key per call


def test_demo_shows_isolation_and_the_notes_locals():
    out = run_script("02_local").stdout
    assert "threading.local():\n   0 线程0     1 线程1     2 线程2" in out
    assert "a plain object:\n  19 线程0    19 线程1    19 线程2" in out
    assert "raises NameError: name 'value' is not defined" in out
    assert "obj = Foo()   (the notes' comment says #触发__setattr__" in out
