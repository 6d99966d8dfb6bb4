"""Shared fixtures: load a numbered script as a module, or run it as a program.

A file name that starts with a digit cannot be imported with `import 03_localstack`, so the
scripts are loaded with `importlib.import_module("03_localstack")` (the project root is on
sys.path through pyproject's `pythonpath = ["."]`).
"""

import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import dbserver
import pymysql
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


# --- a real MariaDB for the 06 tests ----------------------------------------------------------

def _no_database(reason):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"no database for the DB tests under CI: {reason}")
    pytest.skip(f"no database: {reason}")


@pytest.fixture(scope="session")
def throwaway_factory():
    """Start private mariadbd servers on demand; all are stopped and removed at the end."""
    servers = []

    def make():
        if not dbserver.binaries_available():
            _no_database("mariadbd / mariadb-install-db are not installed")
        server = dbserver.ThrowawayMariaDB()
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.destroy()


@pytest.fixture(scope="session")
def mysql_server(throwaway_factory):
    """Connection settings (no database) of a server that answers."""
    settings = dbserver.env_settings()
    reason = dbserver.answers(settings)
    if reason is None:
        return settings
    if not dbserver.binaries_available():
        _no_database(f"{settings['host']}:{settings['port']} does not answer ({reason}) and "
                     "mariadbd is not installed")
    return throwaway_factory().settings


@pytest.fixture(scope="session")
def test_database(mysql_server):
    """A uniquely named database for this test run, dropped afterwards."""
    name = f"pooltest_{uuid.uuid4().hex[:10]}"
    settings = dict(mysql_server, database=name)
    yield settings
    conn = pymysql.connect(ssl_disabled=True, **mysql_server)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def mysql_env(settings):
    """The MYSQL_* variables that point a script at these settings."""
    env = {"MYSQL_HOST": settings["host"], "MYSQL_PORT": str(settings["port"]),
           "MYSQL_USER": settings["user"], "MYSQL_PASSWORD": settings["password"]}
    if "database" in settings:
        env["MYSQL_DATABASE"] = settings["database"]
    return env
