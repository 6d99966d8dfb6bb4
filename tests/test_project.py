"""What a newcomer meets before any script runs: the README's venv stays out of git, the README
is a front door whose links all resolve, and the docs say what the routes really show."""

import re
import subprocess
import sys

import pytest
from conftest import ROOT, mysql_env, run_script


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


def notes_bugs_printed_by():
    """{script: [line, ...]} from docs/notes-bugs.md's "Printed by" lines."""
    text = (ROOT / "docs" / "notes-bugs.md").read_text(encoding="utf-8")
    found = {}
    for script, line in re.findall(r"Printed by `([^`]+)\.py`: `` (.+) ``$", text, flags=re.M):
        found.setdefault(script, []).append(line)
    return found


def test_every_bug_of_the_notes_names_a_line_of_a_plain_run_without_a_database():
    found = notes_bugs_printed_by()
    assert sum(len(lines) for lines in found.values()) == text_count("Printed by")
    for script, lines in found.items():
        if script == "06_sqlhelper":
            continue
        out = run_script(
            script, *(["--demo"] if script in ("05_lifecycle", "09_elsewhere") else [])
        ).stdout
        for line in lines:
            assert line in out, f"{script}: {line}"


def test_every_bug_of_the_notes_in_06_is_printed_against_the_test_database(test_database):
    out = run_script("06_sqlhelper", env=mysql_env(test_database), timeout=120).stdout
    out = out.replace(f"'{test_database['database']}.", "'pooldb.")
    for line in notes_bugs_printed_by()["06_sqlhelper"]:
        assert line in out, line


def text_count(phrase):
    return (ROOT / "docs" / "notes-bugs.md").read_text(encoding="utf-8").count(phrase)


@pytest.mark.db
def test_one_command_starts_a_private_mariadb_and_says_how_to_use_it():
    """`python -m instruments.private_db`: a mariadbd of its own (own datadir, port and socket),
    the MYSQL_* line to set, and on Ctrl-C stopped and removed."""
    import signal

    import pymysql
    from conftest import missing

    from instruments import private_db

    if not private_db.binaries_available():
        missing("mariadbd", "mariadbd / mariadb-install-db are not installed")
    process = subprocess.Popen(
        [sys.executable, "-m", "instruments.private_db"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        found = re.fullmatch(
            r"export MYSQL_HOST=127\.0\.0\.1 MYSQL_PORT=(\d+) MYSQL_USER=root MYSQL_PASSWORD=\n",
            line,
        )
        assert found, line + process.stderr.read()
        port = int(found.group(1))
        pymysql.connect(host="127.0.0.1", port=port, user="root", password="").close()
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(host="127.0.0.1", port=port, user="root", connect_timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
