"""Imports point one way: a later script imports earlier ones, never the other way, and the
instruments are handed what they watch. Each import runs in a fresh interpreter, so what one
test loaded cannot hide another's edge."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, SCRIPTS

ALLOWED = {
    "01_stack": [],
    "02_local": [],
    "03_localstack": [],
    "04_proxy": ["03_localstack"],
    "05_lifecycle": ["03_localstack", "04_proxy"],
    "06_sqlhelper": [],  # the database lesson needs none of 05: 08 puts them together
    "07_flask_basics": ["03_localstack", "04_proxy", "05_lifecycle"],
    "08_deploy": ["03_localstack", "04_proxy", "05_lifecycle", "06_sqlhelper", "07_flask_basics"],
    "09_elsewhere": ["03_localstack", "04_proxy", "05_lifecycle"],
    "flask_extras": ["03_localstack", "04_proxy"],
    "instruments.cli": [],
    "instruments.serving": [],
    "instruments.recorder": [],
    "instruments.pages": [],
    "instruments.mysql_settings": [],
    "instruments.sections": [],
    "instruments.watching": [],
}


def loaded_by(module):
    code = (
        "import importlib, json, sys; "
        f"importlib.import_module({module!r}); "
        f"print(json.dumps(sorted(m for m in sys.modules if m in {SCRIPTS!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [m for m in json.loads(result.stdout) if m != module]


@pytest.mark.parametrize("module", list(ALLOWED))
def test_a_module_loads_only_the_scripts_before_it(module):
    assert loaded_by(module) == ALLOWED[module]
