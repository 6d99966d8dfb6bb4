"""A pytest plugin for Flask 1.1.1's own tests: its conftest reads `_pytest.monkeypatch.notset`,
which pytest 9.2 renamed NOTSET. Loaded with `-p old_pytest_names` by test_flask111_suite."""

import _pytest.monkeypatch

if not hasattr(_pytest.monkeypatch, "notset"):
    _pytest.monkeypatch.notset = _pytest.monkeypatch.NOTSET
