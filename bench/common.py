"""Shared by the bench/ scripts: load a numbered script, print a table as rows arrive, --json."""

import argparse
import importlib
import json
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def load(name):
    return importlib.import_module(name)


MISS_MEANS = (
    "Each target line ends in PASS when the ratio measured in this run meets the target, and "
    "in MISS when it does not: a MISS is a finding to report with the numbers, not an error. "
    "The machines are shared and noisy: compare ratios from one run, not absolute times."
)


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parser(docstring):
    """An argument parser whose description is the docstring's first paragraph."""
    description = " ".join(docstring.split("\n\n")[0].split())
    p = OneLineErrors(description=description, epilog=MISS_MEANS)
    p.add_argument("--json", metavar="PATH", help="also write the numbers to this JSON file")
    return p


def positive(kind):
    """An argparse type: a number of `kind` (int or float) that is more than 0."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    return parse


def thread_counts(text):
    """'1,4,16' -> [1, 4, 16]."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected numbers >= 1 with commas, got {text!r}")
    return counts


class Table:
    """Prints a header once, then each row as soon as it is measured."""

    def __init__(self, columns):
        self.columns = columns  # [(title, width), ...]
        self.rows = []
        print("  ".join(f"{title:>{width}}" for title, width in columns), flush=True)

    def add(self, *values):
        self.rows.append(dict(zip((c for c, _ in self.columns), values, strict=True)))
        print(
            "  ".join(_cell(v, w) for v, (_, w) in zip(values, self.columns, strict=True)),
            flush=True,
        )


def _cell(value, width):
    if isinstance(value, float):
        text = f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    else:
        text = str(value)
    return f"{text:>{width}}"


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def median(values):
    return statistics.median(values) if values else float("nan")


def environment(*packages):
    from importlib.metadata import version

    names = packages or ("werkzeug", "flask", "greenlet")
    return {"python": platform.python_version(), **{name: version(name) for name in names}}


def write_json(path, data):
    if path:
        Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path}")


def verdict(ok):
    return "PASS" if ok else "MISS"
