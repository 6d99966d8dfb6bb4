"""The bench/ scripts refuse bad arguments in one line and explain their flags (not timed)."""

import subprocess
import sys

import pytest
from conftest import ROOT


def bench(name, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


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
def test_bad_arguments_are_one_line(name, args, message):
    result = bench(name, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr


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
def test_help_explains_every_flag_and_what_a_miss_means(name, flags):
    result = bench(name, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for flag in flags:
        assert f"{flag} " in text and "MISS" in text
    assert text.split("options:")[0].rstrip().endswith(".")  # the description ends a sentence
