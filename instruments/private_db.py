"""A private MariaDB for the demos (06, 08), the tests and the benchmarks: a `mariadbd` of its own,
with its own data directory, port and socket, stopped and removed afterwards. Nothing else is
touched: a server already running (on 3306, say) is left alone.

    python -m instruments.private_db        # says: export MYSQL_HOST=... MYSQL_PORT=...
                                            # Ctrl-C stops it and removes its data

It needs `mariadbd` and `mariadb-install-db` (Debian: apt-get install mariadb-server).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pymysql

from instruments import cli


def answers(settings, timeout=2):
    """None if we can log in, else the reason as a string."""
    try:
        pymysql.connect(connect_timeout=timeout, ssl_disabled=True, **settings).close()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


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


def main(argv=None):
    parser = cli.ArgumentParser(
        prog="python -m instruments.private_db",
        description="Start a private MariaDB for 06 and 08 (its own data directory, port and "
        "socket), say the MYSQL_* settings to use, and on Ctrl-C stop it and remove its data.",
    )
    parser.parse_args(argv)
    if not binaries_available():
        sys.exit(
            "python -m instruments.private_db: mariadbd and mariadb-install-db are not "
            "installed (Debian: apt-get install mariadb-server)"
        )
    server = ThrowawayMariaDB()
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        server.start()
        print(
            f"export MYSQL_HOST=127.0.0.1 MYSQL_PORT={server.port} MYSQL_USER=root MYSQL_PASSWORD=",
            flush=True,
        )
        print(
            "a private MariaDB runs for the demos; set the line above in the shell you run 06 "
            "and 08 in. Ctrl-C here stops it and removes its data.",
            file=sys.stderr,
            flush=True,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.destroy()


if __name__ == "__main__":
    main()
