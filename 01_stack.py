"""01 — a stack, and what it is used for: throttling.

Notes: 000/001 §1 栈 (后进先出，通过列表可以实现一个栈) and its 应用场景：节流.

This is the first script of the collection. It builds the one data structure everything later
rests on: Werkzeug's LocalStack (03) is this stack, kept once per thread. The contract to
remember: `pop()` and `top` return None on an empty stack instead of raising — exactly what
LocalStack does.

The application the notes name is throttling (DRF's SimpleRateThrottle): per client, a history
list of request times, newest first; old entries fall off the end, and a full window means
"wait N seconds". Said honestly, that history is a queue, not a stack: DRF inserts each new
time at the front (`history.insert(0, now)`) and expires the oldest at the back
(`history.pop()`), first in, first out. What it shares with the stack is the list and its
`pop()`; nothing in DRF's throttle is last-in-first-out.

Run:  python 01_stack.py
Test: python -m pytest tests/test_01_stack.py
"""

import time

from instruments import cli, sections

# ==========================================================================================
# §1 栈 — 后进先出，通过列表可以实现一个栈
# ==========================================================================================


def list_as_stack():
    """The notes' three lines: a list is already a stack (append = push, pop = pop)."""
    v = [11, 22, 33]
    v.append(44)
    popped = v.pop()
    return v, popped


class Stack:
    """A last-in-first-out stack on a list, with LocalStack's None-when-empty contract."""

    def __init__(self, items=()):
        self._items = list(items)

    def push(self, item):
        self._items.append(item)

    def pop(self):
        """Remove and return the top item, or None when the stack is empty."""
        if not self._items:
            return None
        return self._items.pop()

    @property
    def top(self):
        """The top item without removing it, or None when the stack is empty."""
        return self._items[-1] if self._items else None

    def __len__(self):
        return len(self._items)

    def __repr__(self):
        return f"Stack({self._items!r})"


# ==========================================================================================
# 应用场景：节流 — DRF's SimpleRateThrottle idea
# ==========================================================================================

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate):
    """'3/m' -> (3, 60). A bad rate string is a ValueError that says what is expected."""
    if not isinstance(rate, str) or rate.count("/") != 1:
        raise ValueError(f"bad rate {rate!r}: expected 'N/period', e.g. '3/m' or '10/s'")
    num, period = rate.split("/")
    num = num.strip()
    if not (num.isascii() and num.isdigit()) or int(num) < 1:  # "²".isdigit(), int("²") fails
        raise ValueError(f"bad rate {rate!r}: the count must be a whole number >= 1")
    unit = period.strip()[:1].lower()
    if unit not in PERIODS:
        raise ValueError(f"bad rate {rate!r}: the period must start with one of s, m, h, d")
    return int(num), PERIODS[unit]


class RateThrottle:
    """Allow `num` requests per `duration` seconds per client, keeping a history per client.

    history[client] is a list of request times, newest first: new requests are inserted at the
    front, and entries older than the window are popped off the end. That is a queue (first in,
    first out), as in DRF's SimpleRateThrottle; the notes file it under 栈 for the list.pop().
    """

    def __init__(self, rate, clock=time.time):
        self.num_requests, self.duration = parse_rate(rate)
        self.clock = clock
        self.history = {}

    def allow_request(self, client):
        now = self.clock()
        history = self.history.setdefault(client, [])
        while history and history[-1] <= now - self.duration:
            history.pop()
        if len(history) >= self.num_requests:
            return False
        history.insert(0, now)
        return True

    def wait(self, client):
        """Seconds until the client may try again (0 when it may go now)."""
        history = self.history.get(client, [])
        if len(history) < self.num_requests:
            return 0.0
        return max(0.0, history[-1] + self.duration - self.clock())


class FakeClock:
    """A clock the demo moves by hand, so its output is the same on every run."""

    def __init__(self, start=1000.0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


# ==========================================================================================
# Demo
# ==========================================================================================


def demo_stack():
    print("== §1 栈: a list is a stack ==")
    v, popped = list_as_stack()
    print(f"v = [11, 22, 33]; v.append(44); v.pop() -> {popped}; v = {v}")
    s = Stack()
    for item in ("ctx1", "ctx2", "ctx3"):
        s.push(item)
        print(f"push({item!r:7}) -> {s!r}, top = {s.top!r}, len = {len(s)}")
    for _ in range(4):
        print(f"pop() -> {s.pop()!r:7} now {s!r}, top = {s.top!r}")
    print("an empty stack answers None, never IndexError (LocalStack keeps this contract)")


def demo_throttle():
    print()
    print("== 应用场景：节流: '3/m' per client, with a fake clock ==")
    clock = FakeClock()
    throttle = RateThrottle("3/m", clock=clock)
    for step in (0, 10, 10, 10, 25, 6):
        clock.advance(step)
        ok = throttle.allow_request("alice")
        wait = throttle.wait("alice")
        verdict = "allowed" if ok else f"refused, wait {wait:.0f}s"
        times = [round(t - 1000) for t in throttle.history["alice"]]
        print(f"t={clock.now - 1000:>3.0f}s  alice: {verdict:<17} history (newest first) = {times}")
    print(f"bob has his own history: {throttle.allow_request('bob')}")
    print("the history is a queue, not a stack: times go in at the front (insert(0, now)) and")
    print("the oldest leave at the back (pop()) — first in, first out, as in DRF's throttle")
    try:
        RateThrottle("three per minute")
    except ValueError as exc:
        print(f"bad rate -> ValueError: {exc}")


SECTIONS = sections.registry(
    sections.Section(
        "stack",
        demo_stack,
        list_as_stack,
        Stack,
        heading="### 1. 栈",
        note="000",
    ),
    sections.Section(
        "throttle",
        demo_throttle,
        parse_rate,
        RateThrottle,
        FakeClock,
        heading="#### 应用场景：",
        note="000",
    ),
)


def main(argv=None):
    sections.main("01_stack.py", __doc__, SECTIONS, argv)


if __name__ == "__main__":
    cli.run(main, "01_stack.py")
