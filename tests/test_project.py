"""What a newcomer meets before any script runs: the README's venv stays out of git, and the
README says what the routes really show."""

import subprocess

from conftest import ROOT


def test_the_readmes_virtual_environment_is_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".venv/bin/python"], cwd=ROOT, capture_output=True
    )
    assert result.returncode == 0, "add .venv/ to .gitignore"


def test_the_readme_says_storage_lists_every_request_in_flight():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "only the current request" not in readme
    assert "`/storage`" in readme and "every request in flight" in readme
