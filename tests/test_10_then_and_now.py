"""10: the notes' names on Flask 1.1.1 ... 3.1. The committed results (docs/then-and-now.json)
are those of the rows as written, complete, and rendered in docs/then-and-now.md; and, marked
flask_versions, a fresh probe in a venv per release gives the same cells. That one runs only on
the Python the table was measured on (3.11): CI runs it once, not once per Python."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, load, missing, run_script

from instruments import venvs, version_table

then_and_now = load("10_then_and_now")
RESULTS = json.loads(version_table.RESULTS.read_text(encoding="utf-8"))
MARKS = {version_table.RAN, version_table.WARNED, version_table.FAILED}


def test_the_table_has_at_least_30_rows_each_probed_on_every_release():
    assert len(then_and_now.ROWS) >= 30
    assert len({row.name for row in then_and_now.ROWS}) == len(then_and_now.ROWS)
    assert list(RESULTS["releases"]) == ["1.1.1", "2.0", "2.1", "2.2", "2.3", "3.0", "3.1"]
    assert RESULTS["releases"] == then_and_now.RELEASES
    assert list(RESULTS["rows"]) == [row.name for row in then_and_now.ROWS]
    for row in then_and_now.ROWS:
        measured = RESULTS["rows"][row.name]
        assert row.probe and measured["probe"] == row.probe, f"{row.name}: probe again"
        assert list(measured["cells"]) == list(RESULTS["releases"])
        assert {cell["mark"] for cell in measured["cells"].values()} <= MARKS


def test_every_row_not_so_on_flask_3_1_says_what_to_write_and_that_runs_there():
    for row in then_and_now.ROWS:
        measured = RESULTS["rows"][row.name]
        if measured["cells"]["3.1"]["mark"] == version_table.RAN:
            assert row.today is None, f"{row.name} works on 3.1: nothing to replace"
            continue
        assert row.today, f"{row.name} does not work so on 3.1: say what to write"
        if row.swap:
            assert measured["today_probe"] == row.today_probe
            assert measured["today_cell"]["mark"] == version_table.RAN, measured["today_cell"]


def test_each_swap_replaces_text_that_is_in_the_probe():
    for row in then_and_now.ROWS:
        for old in row.swap:
            assert old in row.probe, f"{row.name}: {old!r} is not in its probe"


def test_every_row_works_on_flask_1_1_1_but_the_one_the_notes_call_old():
    """The notes read Flask 1.1.1: there, each row works as they use it, but flask.ext, which
    003 itself calls 老版本的 (gone before 1.1.1)."""
    failed = [
        name
        for name, measured in RESULTS["rows"].items()
        if measured["cells"]["1.1.1"]["mark"] == version_table.FAILED
    ]
    assert failed == ["`from flask.ext.session import Session` (003: 老版本的)"]


def test_the_issues_examples_are_measured_as_it_says():
    assert version_table.history("`from flask.globals import _lookup_req_object`") == (
        "✓ 1.1.1–2.1, ✗ 2.2–3.1"
    )
    assert version_table.first("`_request_ctx_stack.top`", version_table.FAILED) == "3.0"
    assert version_table.history("`LocalStack()`: `push`, `top`, `pop`") == "✓ 1.1.1–3.1"


def test_the_page_is_the_committed_results_rendered():
    page = then_and_now.PAGE.read_text(encoding="utf-8")
    assert page == version_table.page(then_and_now.TABLES, RESULTS)


def test_the_plain_run_needs_no_venv_and_no_network(tmp_path):
    """A copy of the project with no .cache/ at all prints every table, and makes none."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "instruments", copy / "instruments")
    (copy / "docs").mkdir()
    shutil.copy(version_table.RESULTS, copy / "docs")
    shutil.copy(ROOT / "10_then_and_now.py", copy)
    result = run_in(copy)
    assert result.returncode == 0, result.stderr
    for row in then_and_now.ROWS:
        assert f"| {row.name} |" in result.stdout
    assert not (copy / ".cache").exists()
    (copy / "docs" / "then-and-now.json").unlink()
    result = run_in(copy)
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "then-and-now.json" in line and line.endswith("run python 10_then_and_now.py --probe")


def test_results_of_other_probes_are_a_one_line_error_not_a_table(tmp_path):
    """Rows added or probes changed since the last --probe: the plain run says so, and prints
    no table that would mix old cells with new rows."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "instruments", copy / "instruments")
    (copy / "docs").mkdir()
    shutil.copy(ROOT / "10_then_and_now.py", copy)
    for change in ("drop a row", "change a probe"):
        stale = json.loads(json.dumps(RESULTS))
        first = next(iter(stale["rows"]))
        if change == "drop a row":
            del stale["rows"][first]
        else:
            stale["rows"][first]["probe"] += "\npass"
        version_table.write(stale, copy / "docs" / "then-and-now.json")
        result = run_in(copy)
        assert result.returncode == 1 and result.stdout == "", change
        [line] = result.stderr.splitlines()
        assert f"1 row(s) not measured as written now, {first} first" in line, change
        assert line.endswith("run python 10_then_and_now.py --probe")
    (copy / "docs" / "then-and-now.json").write_text("[]", encoding="utf-8")
    result = run_in(copy)
    assert result.returncode == 1 and result.stderr.endswith(
        "then-and-now.json holds no rows; run python 10_then_and_now.py --probe\n"
    )


def run_in(folder):
    return subprocess.run(
        [sys.executable, "10_then_and_now.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def test_the_plain_run_prints_a_table_per_notes_section():
    result = run_script("10_then_and_now")
    assert result.returncode == 0 and result.stderr == ""
    for name, (_, heading, _) in then_and_now.TABLES.items():
        assert f"== {heading.lstrip('#').strip()} ==" in result.stdout, name
    assert result.stdout.count("| as the notes write it | 1.1.1 | 2.0 |") == len(
        then_and_now.TABLES
    )


@pytest.mark.flask_versions
def test_the_committed_results_are_a_fresh_probe_on_every_release():
    python = ".".join(map(str, sys.version_info[:2]))
    if python != RESULTS["python"]:
        pytest.skip(f"the table was measured on Python {RESULTS['python']}, this is {python}")
    try:
        fresh = version_table.measure(
            then_and_now.ROWS, then_and_now.RELEASES, then_and_now.TODAY, out=lambda line: None
        )
    except venvs.BuildError as exc:
        missing("the venvs of Flask 1.1.1 ... 3.1", exc)
    for name, measured in RESULTS["rows"].items():
        assert fresh["rows"][name] == measured, name
    assert fresh == RESULTS
