"""Side virtual environments, one per set of pins, under .cache/: where 10 probes each Flask
release, and where the side-by-side tests run Flask 1.1.1.

Flask 1.1.1 cannot share an environment with Werkzeug 3, nor Flask 2.0 with Flask 3.1, so each
release gets its own venv, built once from its pins with the running Python (the package index
is needed then, and only then) and rebuilt when the pins change. `run_in` runs a few lines of
Python there and hands back what they printed. Nothing here knows what a release or a probe is:
it is handed the pins and the code.
"""

import concurrent.futures
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"


class BuildError(Exception):
    """A venv could not be built: its pins, and pip's last line."""


def python_in(folder, pins):
    """The Python of the venv `folder` holding exactly `pins`, built (or rebuilt) if needed."""
    folder = pathlib.Path(folder)
    python, marker = folder / "bin" / "python", folder / "pins.txt"
    wanted = "\n".join(pins)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if install.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        last = (install.stderr.strip().splitlines() or ["pip failed"])[-1]
        needed = "the package index is needed once"
        raise BuildError(f"no venv with {' '.join(pins)} ({needed}): {last}")
    marker.write_text(wanted)
    return python


def run_in(python, code, stdin="", timeout=60):
    """Run `code` with `python` in a fresh process (nothing inherited from the caller's
    imports or warnings filters), `stdin` its input: its exit status, stdout and stderr."""
    done = subprocess.run(
        [str(python), "-I", "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=CACHE if CACHE.exists() else None,
    )
    return done.returncode, done.stdout, done.stderr


def map_jobs(function, jobs):
    """function(*job) for every job, as many at once as there are cores, in the jobs' order."""
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return list(pool.map(lambda job: function(*job), jobs))
