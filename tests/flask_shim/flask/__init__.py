"""`import flask`, answered by flask111.py: what Flask 1.1.1's own tests import, so that they
run on 05 with its layer (tests/test_flask111_suite.py). Only that test puts this folder on the
path, in a process of its own."""

import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
_layer = importlib.import_module("flask111")
globals().update({k: v for k, v in vars(_layer).items() if not k.startswith("__")})
__version__ = "1.1.1"
