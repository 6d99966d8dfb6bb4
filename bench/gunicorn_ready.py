"""gunicorn -c bench/gunicorn_ready.py: each worker logs one line once its app is loaded.

gunicorn logs "Booting worker" before a worker imports the app; bench_deploy.py and the tests
wait for this line from every worker before they send load, so no worker is still importing.
A --config replaces ./gunicorn.conf.py, so this file runs that one too (one SECRET_KEY for
every worker).
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))


def post_worker_init(worker):
    worker.log.info("worker %s ready", worker.pid)
