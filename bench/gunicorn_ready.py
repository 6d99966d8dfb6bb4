"""gunicorn -c bench/gunicorn_ready.py: each worker logs one line once its app is loaded.

gunicorn logs "Booting worker" before a worker imports the app; bench_deploy.py and the tests
wait for this line from every worker before they send load, so no worker is still importing.
"""


def post_worker_init(worker):
    worker.log.info("worker %s ready", worker.pid)
