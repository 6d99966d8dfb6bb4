import json as _json

from flask import dumps, jsonify  # noqa: F401

loads = _json.loads
