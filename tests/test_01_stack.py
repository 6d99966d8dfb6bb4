"""01_stack: the Stack contract, the throttle, and the demo."""

import pytest
from conftest import load, run_script

stack_mod = load("01_stack")


def test_demo_runs_and_is_stable():
    first, second = run_script("01_stack"), run_script("01_stack")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # fake clock: the same output on every run
    assert "pop() -> None    now Stack([]), top = None" in first.stdout
    assert "t= 30s  alice: refused, wait 30s" in first.stdout
    assert "t= 61s  alice: allowed" in first.stdout


def test_list_as_stack_matches_the_notes():
    assert stack_mod.list_as_stack() == ([11, 22, 33], 44)


def test_stack_push_pop_top_len_repr():
    s = stack_mod.Stack()
    assert (s.top, s.pop(), len(s)) == (None, None, 0)
    s.push(1)
    s.push(2)
    assert (s.top, len(s), repr(s)) == (2, 2, "Stack([1, 2])")
    assert [s.pop(), s.pop(), s.pop()] == [2, 1, None]
    assert s.top is None


def test_stack_has_the_same_empty_contract_as_localstack():
    ours, local_stack = stack_mod.Stack(), load("03_localstack").LocalStack()
    for s in (ours, local_stack):
        s.push("a")
    expected = [local_stack.pop(), local_stack.pop(), local_stack.top]
    assert [ours.pop(), ours.pop(), ours.top] == expected


@pytest.mark.parametrize(
    "rate, expected",
    [("3/m", (3, 60)), ("10/s", (10, 1)), ("100/hour", (100, 3600)), ("5/day", (5, 86400))],
)
def test_parse_rate(rate, expected):
    assert stack_mod.parse_rate(rate) == expected


@pytest.mark.parametrize(
    "rate", ["", "3", "x/m", "3/x", "0/s", "-1/s", "3/m/2", None, 3, "²/m", "٣/m"]
)
def test_bad_rate_is_a_clear_value_error(rate):
    with pytest.raises(ValueError, match="bad rate"):
        stack_mod.RateThrottle(rate)


def test_throttle_window_and_wait():
    clock = stack_mod.FakeClock(start=0.0)
    throttle = stack_mod.RateThrottle("2/s", clock=clock)
    assert [throttle.allow_request("a"), throttle.allow_request("a")] == [True, True]
    assert throttle.allow_request("a") is False
    assert throttle.wait("a") == pytest.approx(1.0)
    clock.advance(0.5)
    assert throttle.allow_request("a") is False
    assert throttle.wait("a") == pytest.approx(0.5)
    assert throttle.allow_request("b") is True  # per-client history
    clock.advance(0.5)  # the two old entries are exactly one window old: dropped
    assert throttle.allow_request("a") is True
    assert throttle.history["a"] == [1.0]
    assert throttle.wait("a") == 0.0


def test_refused_requests_are_not_recorded():
    clock = stack_mod.FakeClock(start=0.0)
    throttle = stack_mod.RateThrottle("1/m", clock=clock)
    throttle.allow_request("a")
    for _ in range(5):
        clock.advance(1)
        assert throttle.allow_request("a") is False
    assert throttle.history["a"] == [0.0]


def test_the_throttle_history_is_first_in_first_out():
    """The notes file the throttle under 栈, but its history is a queue: the oldest leaves first."""
    clock = stack_mod.FakeClock(0)
    throttle = stack_mod.RateThrottle("3/m", clock=clock)
    for t in (0, 10, 20):
        clock.now = t
        throttle.allow_request("c")
    assert throttle.history["c"] == [20, 10, 0]  # newest at the front
    clock.now = 61  # the first one in (0) is the first one out, not the last one in (20)
    assert throttle.allow_request("c") and throttle.history["c"] == [61, 20, 10]
