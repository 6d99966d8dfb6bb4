"""The bench/ scripts refuse bad arguments in one line and explain their flags (not timed).

Each script's main() runs in this process with the arguments given: parsing them is all it
does before it would start measuring.
"""

import importlib
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))


def bench(name, *args, capsys, monkeypatch):
    """(exit status, stdout, stderr) of `python bench/<name>.py args...`, run in-process."""
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *args])
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(name).main()
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize(
    "name, args, message",
    [
        ("bench_pool", ["--threads", "abc"], "--threads: expected numbers >= 1 with commas"),
        ("bench_pool", ["--threads", "0,4"], "--threads: expected numbers >= 1 with commas"),
        ("bench_pool", ["--seconds", "-1"], "--seconds: must be more than 0"),
        ("bench_locals", ["--rounds", "0"], "--rounds: must be more than 0"),
        ("bench_lifecycle", ["--rounds", "x"], "--rounds: expected a number"),
        ("bench_deploy", ["--lessons", "ident,bogus"], "--lessons: expected some of ident,"),
        ("bench_deploy", ["--workers", "0"], "--workers: must be more than 0"),
        ("bench_burst", ["--sizes", "0"], "--sizes: expected numbers >= 1 with commas"),
        ("bench_burst", ["--rounds", "0"], "--rounds: must be more than 0"),
    ],
)
def test_bad_arguments_are_one_line(name, args, message, capsys, monkeypatch):
    status, _, err = bench(name, *args, capsys=capsys, monkeypatch=monkeypatch)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and message in lines[0], err


@pytest.mark.parametrize(
    "name, flags",
    [
        ("bench_pool", ["--threads", "--seconds"]),
        ("bench_locals", ["--rounds"]),
        ("bench_lifecycle", ["--rounds", "--seconds"]),
        ("bench_deploy", ["--lessons", "--requests", "--workers", "--seconds", "--rounds"]),
        ("bench_burst", ["--sizes", "--rounds"]),
    ],
)
def test_help_explains_every_flag_and_what_a_miss_means(name, flags, capsys, monkeypatch):
    status, out, _ = bench(name, "--help", capsys=capsys, monkeypatch=monkeypatch)
    assert status == 0
    text = " ".join(out.split())
    for flag in flags:
        assert f"{flag} " in text and "MISS" in text
    assert text.split("options:")[0].rstrip().endswith(".")  # the description ends a sentence
