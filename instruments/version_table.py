"""The notes then and now, measured: run rows of probes on several Flasks, keep the results in
docs/then-and-now.json, and show them as markdown tables.

`measure` is handed 10's rows (each with `name`, `probe`, `today`, `today_probe`) and its
releases' pins, and runs every probe in every release; `results` reads what `write` kept, and
`table`, `seen_today` and `page` show it. 04 and 07 say when a name of the notes changed by
reading `history` here, never by typing a version. Nothing here imports a numbered script.
"""

import json
import pathlib
import re
import subprocess
import sys
import time

from instruments import sections, venvs

RESULTS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "then-and-now.json"
RAN, WARNED, FAILED = "✓", "⚠", "✗"


class NotMeasured(Exception):
    """The results file is missing or unreadable, or holds no such row."""


def results(path=RESULTS, rows=()):
    """The measured results; with `rows`, only if each was measured with the probe it has now."""
    try:
        measured = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotMeasured(
            f"{path}: {exc.__class__.__name__} ({exc}); run python 10_then_and_now.py --probe"
        ) from None
    if not isinstance(measured, dict) or not isinstance(measured.get("rows"), dict):
        raise NotMeasured(f"{path} holds no rows; run python 10_then_and_now.py --probe")
    stale = [
        row.name for row in rows if measured["rows"].get(row.name, {}).get("probe") != row.probe
    ]
    if stale:
        raise NotMeasured(
            f"{path}: {len(stale)} row(s) not measured as written now, {stale[0]} first; "
            "run python 10_then_and_now.py --probe"
        )
    return measured


def row(name, path=RESULTS):
    """One row's results: its probe, its cells by release, and what to write today."""
    rows = results(path)["rows"]
    if name not in rows:
        raise NotMeasured(f"{path} has no row {name!r}; run python 10_then_and_now.py --probe")
    return rows[name]


def history(name, path=RESULTS):
    """A row's cells as runs of releases: "✓ 1.1.1–2.1, ⚠ 2.2, ✗ 2.3–3.1"."""
    runs = []
    for release, cell in row(name, path)["cells"].items():
        if runs and runs[-1][0] == cell["mark"]:
            runs[-1][2] = release
        else:
            runs.append([cell["mark"], release, release])
    return ", ".join(f"{m} {a}" if a == b else f"{m} {a}–{b}" for m, a, b in runs)


def first(name, mark, path=RESULTS):
    """The first release whose cell is `mark` (RAN, WARNED or FAILED), or None."""
    cells = row(name, path)["cells"]
    return next((release for release, cell in cells.items() if cell["mark"] == mark), None)


# --- measuring: each row's probe in each release's venv, in a fresh process ----------------

# Run inside each venv (`python -I -c RUNNER`, the probe on stdin). Flask is imported first, so
# that what importing Flask itself warns about is not counted against the probe.
RUNNER = """
import contextlib, io, json, sys, warnings
import flask
probe, printed = sys.stdin.read(), io.StringIO()
with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed):
    warnings.simplefilter("always")
    try:
        exec(compile(probe, "<probe>", "exec"), {"__name__": "__probe__"})
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
warned = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
print(json.dumps({"error": error, "warned": warned, "printed": printed.getvalue().strip()}))
"""


def cell(outcome):
    """A probe's outcome as a cell: ✓ it ran, ⚠ it ran and warned, ✗ it raised; and why, in
    one line (what it printed last, the warning, or the error), addresses and idents masked."""
    said = sections.mask((outcome["printed"].splitlines() or [""])[-1])
    if outcome["error"] is not None:  # (an ImportError's path is this machine's, not Flask's)
        error = sections.mask(re.sub(r" \(/\S*\)$", "", outcome["error"]))
        return {"mark": FAILED, "why": f"{error} {said}".strip()}
    if outcome["warned"]:
        return {"mark": WARNED, "why": f"DeprecationWarning: {outcome['warned'][0]}".strip()}
    return {"mark": RAN, "why": said}


def run_probe(python, probe, timeout=60):
    try:
        status, out, err = venvs.run_in(python, RUNNER, stdin=probe, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"mark": FAILED, "why": f"the probe ran for over {timeout} s"}
    if status != 0:  # the runner itself failed: Flask did not even import
        return {"mark": FAILED, "why": (err.strip().splitlines() or ["?"])[-1]}
    return cell(json.loads(out))


def measure(rows, releases, today, out=print):
    """Build a venv per release (`releases`: {release: "pin pin ..."}) under .cache/, run every
    row's probe in each, and its today_probe in release `today`: the results, as read above."""
    started, pythons = time.monotonic(), {}
    python = ".".join(map(str, sys.version_info[:2]))  # each venv is built with this Python
    for release, pins in releases.items():
        out(f"the venv of Flask {release}: {pins}")
        folder = venvs.CACHE / "then-and-now" / f"python{python}" / release
        pythons[release] = venvs.python_in(folder, pins.split())
    jobs = [(pythons[release], row.probe) for row in rows for release in releases]
    jobs += [(pythons[today], row.today_probe) for row in rows if row.today_probe]
    cells = iter(venvs.map_jobs(run_probe, jobs))
    measured = {}
    for row in rows:
        measured[row.name] = {"probe": row.probe, "today": row.today}
        measured[row.name]["cells"] = {release: next(cells) for release in releases}
    for row in rows:
        if row.today_probe:
            measured[row.name].update(today_probe=row.today_probe, today_cell=next(cells))
    out(f"{len(jobs)} probes in {time.monotonic() - started:.0f} s, on Python {python}")
    return {"python": python, "releases": releases, "today": today, "rows": measured}


def write(results, path=RESULTS):
    text = json.dumps(results, ensure_ascii=False, indent=1) + "\n"
    pathlib.Path(path).write_text(text, encoding="utf-8")


# --- showing: a markdown table per notes section -------------------------------------------

LEGEND = "✓ works as the notes use it · ⚠ works, with a DeprecationWarning · ✗ gone, or not so"


def table(rows, results):
    """The markdown table of `rows`: the notes' name, a cell per release, what to write today."""
    releases = list(results["releases"])
    lines = [
        f"| as the notes write it | {' | '.join(releases)} | today ({results['today']}) |",
        f"|---|{':-:|' * len(releases)}---|",
    ]
    for row in rows:
        marks = [results["rows"][row.name]["cells"][release]["mark"] for release in releases]
        lines.append(f"| {row.name} | {' | '.join(marks)} | {row.today or 'the same'} |")
    return lines


def seen_today(rows, results):
    """What a learner on today's Flask sees where the notes' lines no longer work so, and what
    to write instead (itself run there, where it could be)."""
    lines, today = [], results["today"]
    for row in rows:
        measured = results["rows"][row.name]
        if measured["cells"][today]["mark"] == RAN:
            continue
        lines.append(f"- {row.name}: {measured['cells'][today]['why']}")
        checked = measured.get("today_cell", {}).get("mark")
        lines.append(f"  today: {row.today}" + (f" ({checked} on {today})" if checked else ""))
    return lines


def counts(release, results):
    """How many rows are ✓, ⚠ and ✗ on `release`."""
    marks = [measured["cells"][release]["mark"] for measured in results["rows"].values()]
    return [str(marks.count(mark)) for mark in (RAN, WARNED, FAILED)]


def page(tables, results):
    """The whole table as a markdown page (docs/then-and-now.md): `tables` is a script's
    {name: (rows, the notes' heading, note)}."""
    lines = [
        "# The notes then and now",
        "",
        "Every name and behaviour the notes rely on, run on each Flask from 1.1.1 to "
        f"{results['today']} by `python 10_then_and_now.py --probe` (on Python "
        f"{results['python']}), each release in a venv of its own with the libraries of its "
        "day. Nothing in the cells is typed by hand: each row's probe is in "
        "[10_then_and_now.py](../10_then_and_now.py), and `--only NAME --markdown` prints them "
        f"beside their table. {LEGEND}.",
        "",
        "| release | ✓ works as the notes use it | ⚠ warns | ✗ gone, or not so | installed with |",
        "|---|:-:|:-:|:-:|---|",
        *(f"| {release} | {' | '.join(counts(release, results))} | {pins} |"
          for release, pins in results["releases"].items()),
    ]  # fmt: skip
    for rows, heading, note in tables.values():
        lines += ["", f"## {heading.lstrip('#').strip()} (note {note})", ""]
        lines += [*table(rows, results), "", *seen_today(rows, results)]
    return "\n".join(lines).rstrip() + "\n"
