"""Finding a MariaDB/MySQL server for the tests, or starting a throwaway one.

Order (design §5): the MYSQL_* settings if a server answers there; else a throwaway `mariadbd`
with its own datadir, port and socket; else the caller skips — or fails under CI=true.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pymysql

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


def answers(settings, timeout=2):
    """None if we can log in, else the reason as a string."""
    try:
        pymysql.connect(connect_timeout=timeout, ssl_disabled=True, **settings).close()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


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


def binaries_available():
    return all(shutil.which(b) for b in ("mariadbd", "mariadb-install-db"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayMariaDB:
    """A private mariadbd: `start()`, `stop()`, `start()` again on the same data and port."""

    def __init__(self, max_connections=300):
        self.max_connections = max_connections
        self.dir = tempfile.mkdtemp(prefix="mdb")  # short: socket paths are limited to ~107
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "sock")
        self.log = os.path.join(self.dir, "err.log")
        self.port = free_port()
        self.process = None
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                *user,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.user_flag = user

    @property
    def settings(self):
        return {"host": "127.0.0.1", "port": self.port, "user": "root", "password": ""}

    def start(self, timeout=60):
        self.process = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                *self.user_flag,
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={os.path.join(self.dir, 'pid')}",
                f"--log-error={self.log}",
                f"--tmpdir={self.dir}",
                "--skip-name-resolve",
                f"--max-connections={self.max_connections}",
                "--innodb-buffer-pool-size=32M",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {self._log_tail()}")
            if answers(self.settings, timeout=1) is None:
                return
            time.sleep(0.1)
        raise RuntimeError(f"mariadbd did not become ready: {self._log_tail()}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _log_tail(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return " | ".join(f.read().splitlines()[-5:])
        except OSError:
            return "(no log)"
