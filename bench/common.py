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


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", metavar="PATH", help="also write the numbers to this JSON file")
    return p


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
