"""Finding a MariaDB/MySQL server for the tests, or starting a throwaway one.

Order (design §5): the MYSQL_* settings if a server answers there; else a throwaway `mariadbd`
with its own datadir, port and socket; else the caller skips — or fails under CI=true.
"""

import os
import sys
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from instruments.private_db import (  # noqa: E402  (re-exported for the tests and benchmarks)
    ThrowawayMariaDB as ThrowawayMariaDB,
)
from instruments.private_db import answers as answers  # noqa: E402
from instruments.private_db import binaries_available as binaries_available  # noqa: E402
from instruments.private_db import free_port as free_port  # noqa: E402

DEFAULTS = {
    "MYSQL_HOST": "127.0.0.1",
    "MYSQL_PORT": "3306",
    "MYSQL_USER": "root",
    "MYSQL_PASSWORD": "",
}


def env_settings():
    raw = {k: os.environ.get(k, v) for k, v in DEFAULTS.items()}
    return {
        "host": raw["MYSQL_HOST"],
        "port": int(raw["MYSQL_PORT"]),
        "user": raw["MYSQL_USER"],
        "password": raw["MYSQL_PASSWORD"],
    }


def mysql_env(settings):
    """The MYSQL_* variables that point a script (or a gunicorn) at these settings."""
    env = {
        "MYSQL_HOST": settings["host"],
        "MYSQL_PORT": str(settings["port"]),
        "MYSQL_USER": settings["user"],
        "MYSQL_PASSWORD": settings["password"],
    }
    if "database" in settings:
        env["MYSQL_DATABASE"] = settings["database"]
    return env


def drop_database(settings, name):
    """DROP DATABASE IF EXISTS `name` on the server of these settings."""
    server = {k: settings[k] for k in ("host", "port", "user", "password")}
    conn = pymysql.connect(ssl_disabled=True, **server)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()
