"""What a newcomer meets before any script runs: the README's venv stays out of git, the README
is a front door whose links all resolve, and the docs say what the routes really show."""

import re
import subprocess

from conftest import ROOT


def test_the_readmes_virtual_environment_is_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".venv/bin/python"], cwd=ROOT, capture_output=True
    )
    assert result.returncode == 0, "add .venv/ to .gitignore"


def test_the_docs_say_storage_lists_every_request_in_flight():
    routes = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert "only the current request" not in routes
    assert "`/storage`" in routes and "every request in flight" in routes


def test_the_readme_is_a_front_door_and_every_link_resolves():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert "pip install -r requirements.txt" in readme and "python -m pytest" in readme
    pages = [
        ROOT / "README.md",
        ROOT / "bench" / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    for page in pages:
        prose = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)#]+)[^)]*\)", prose):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to {target}"
