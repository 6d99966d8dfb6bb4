"""Shared fixtures: load a numbered script as a module, or run it as a program.

A file name that starts with a digit cannot be imported with `import 03_localstack`, so the
scripts are loaded with `importlib.import_module("03_localstack")` (the project root is on
sys.path through pyproject's `pythonpath = ["."]`).
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name):
    """Import a numbered script (e.g. "03_localstack") by its module name."""
    return importlib.import_module(name)


def run_script(name, *args, timeout=60, env=None):
    """Run `python <name>.py args...` from the project root; return the CompletedProcess."""
    full_env = dict(os.environ, PYTHONIOENCODING="utf-8", **(env or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / f"{name}.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=full_env,
    )


@pytest.fixture
def load_script():
    """The loader as a fixture: `load_script("01_stack").Stack`."""
    return load
