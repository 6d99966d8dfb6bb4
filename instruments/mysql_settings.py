"""The database a lesson talks to, from MYSQL_* environment variables: read, checked, and
said in one line when wrong. 06 and 08 use it; it imports no numbered script."""

import os
import re
import sys

DEFAULTS = {
    "MYSQL_HOST": "127.0.0.1",
    "MYSQL_PORT": "3306",
    "MYSQL_USER": "root",
    "MYSQL_PASSWORD": "",
    "MYSQL_DATABASE": "pooldb",
}

SETTINGS_HELP = (
    "The database comes from MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD and "
    "MYSQL_DATABASE (defaults: 127.0.0.1, 3306, root, empty, pooldb); the database and its "
    "table tb1 are created if missing."
)


class SettingsError(ValueError):
    """A bad MYSQL_* value; the message says which and how to fix it."""


def settings_from_env(env=None):
    env = os.environ if env is None else env
    raw = {name: env.get(name, default) for name, default in DEFAULTS.items()}
    try:
        port = int(raw["MYSQL_PORT"])
    except ValueError:
        raise SettingsError(f"MYSQL_PORT must be a number, got {raw['MYSQL_PORT']!r}") from None
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", raw["MYSQL_DATABASE"]):
        raise SettingsError(
            "MYSQL_DATABASE must be 1-64 letters, digits or underscores, "
            f"got {raw['MYSQL_DATABASE']!r}"
        )
    return {
        "host": raw["MYSQL_HOST"],
        "port": port,
        "user": raw["MYSQL_USER"],
        "password": raw["MYSQL_PASSWORD"],
        "database": raw["MYSQL_DATABASE"],
    }


def settings_or_exit(prog):
    """The settings, or one line that begins with `prog` (the script run) and exit status 1."""
    try:
        return settings_from_env()
    except SettingsError as exc:
        sys.exit(f"{prog}: {exc}")


# Said where the first connection fails: how to get a server of one's own for the demos.
NO_SERVER = (
    "no server of your own? `python -m instruments.private_db` starts one and says the MYSQL_* "
    "to set (docs/database.md)"
)
