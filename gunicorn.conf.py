"""gunicorn reads ./gunicorn.conf.py in its master process, before it forks the workers.

One thing here: a SECRET_KEY for this start when none is set, put in the environment so that
every worker signs sessions with the same key (instruments.serving.use_secret_key reads it).
A key made in each worker would make every worker refuse the others' session cookies.
"""

import os
import secrets
import sys

if not os.environ.get("SECRET_KEY"):
    os.environ["SECRET_KEY"] = secrets.token_hex(32)
    print(
        "gunicorn.conf.py: SECRET_KEY is not set: every worker signs sessions with a random key "
        "made for this start (they end when gunicorn stops; set SECRET_KEY to keep them)",
        file=sys.stderr,
        flush=True,
    )
