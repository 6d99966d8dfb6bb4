"""Flask 1.1.1's own tests, run on flask111.py (05 with the layer of Flask's wider API on it).

Flask 1.1.1's source distribution is fetched once into .cache/flask111-suite/ (the package index
is needed that once), and 14 of its test files run in a process of their own with
tests/flask_shim/ on the path, where `import flask` gives flask111. Each file must pass at
least as many tests as it did when this test was written, and the seven that issue 24 named
must pass. What still fails, and why, is listed below: the API 05 and the layer leave out
(flashing, template filters and tests, the `flask` command, send_file's cache settings),
Werkzeug 3 (a leading-dot cookie Domain, `werkzeug.__version__`), or today's pytest
(`pytest.warns(None)` is an error since pytest 8).
"""

import os
import re
import subprocess
import sys
import tarfile

import pytest
from conftest import ROOT, missing

SUITE = ROOT / ".cache" / "flask111-suite"
SHIM = ROOT / "tests" / "flask_shim"
# file: tests that pass (of those it has), measured when this test was written
PASSING = {
    "test_appctx.py": 14,
    "test_basic.py": 110,
    "test_blueprints.py": 25,
    "test_config.py": 15,
    "test_converters.py": 2,
    "test_instance_config.py": 1,
    "test_regression.py": 2,
    "test_reqctx.py": 10,
    "test_signals.py": 4,
    "test_subclassing.py": 1,
    "test_templating.py": 17,  # 8 before template filters, globals and blueprint folders
    "test_testing.py": 23,
    "test_user_error_handler.py": 9,
    "test_views.py": 12,
}
NAMED_BY_ISSUE_24 = [
    "test_basic.py::test_static_route_with_host_matching",
    "test_basic.py::test_debug_mode_complains_after_first_request",
    "test_basic.py::test_max_cookie_size",
    "test_blueprints.py::test_blueprint_url_defaults",
    "test_blueprints.py::test_endpoint_decorator",
    "test_testing.py::test_client_pop_all_preserved",
    "test_reqctx.py::test_bad_environ_raises_bad_request",
]
STILL_FAILING_BECAUSE = {
    "flash": ["test_flashes", "test_extended_flashing", "test_flash_signal"],
    "pytest.warns(None)": [
        "test_server_name_subdomain",
        "test_subdomain_matching_other_name",
        "test_proper_test_request_context",
    ],
    "a leading-dot cookie Domain (Werkzeug 3)": [
        "test_session_using_server_name",
        "test_session_using_server_name_and_port",
        "test_session_using_session_settings",
    ],
}


@pytest.fixture(scope="module")
def flask111_tests():
    tests = SUITE / "Flask-1.1.1" / "tests"
    if not tests.is_dir():
        SUITE.mkdir(parents=True, exist_ok=True)
        fetched = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             "--no-deps", "--no-binary", ":all:", "flask==1.1.1", "-d", str(SUITE)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if fetched.returncode != 0:
            missing(
                "Flask 1.1.1's source",
                fetched.stderr.strip().splitlines()[-1:] or "pip download failed",
            )
        with tarfile.open(SUITE / "Flask-1.1.1.tar.gz") as sdist:
            sdist.extractall(SUITE, filter="data")
    return tests


@pytest.fixture(scope="module")
def outcomes(flask111_tests):
    """{test id: PASSED / FAILED / ERROR} for the 14 files."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
         "-p", "old_pytest_names", *PASSING],
        cwd=flask111_tests, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(SHIM)),
    )  # fmt: skip
    found = dict(
        (test, outcome)
        for outcome, test in re.findall(r"^(PASSED|FAILED|ERROR) (\S+)", result.stdout, re.M)
    )
    assert found, result.stdout[-3000:] + result.stderr[-3000:]
    return found


def test_flask_1_1_1s_own_tests_import_flask111(flask111_tests):
    code = "import flask, flask.testing; print(flask.Flask.__module__, flask.__version__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=flask111_tests, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(SHIM)), timeout=60,
    )  # fmt: skip
    assert out.stdout.split() == ["flask111", "1.1.1"], out.stderr


@pytest.mark.parametrize("test", NAMED_BY_ISSUE_24)
def test_the_seven_named_by_issue_24_pass(outcomes, test):
    assert outcomes.get(test) == "PASSED"


@pytest.mark.parametrize("file", PASSING)
def test_each_file_passes_as_many_as_before(outcomes, file):
    passed = sum(1 for t, o in outcomes.items() if t.startswith(file) and o == "PASSED")
    assert passed >= PASSING[file]


def test_what_still_fails_fails_for_the_reasons_given(outcomes):
    for reason, names in STILL_FAILING_BECAUSE.items():
        for name in names:
            seen = [
                o
                for t, o in outcomes.items()
                if re.fullmatch(rf"{name}(\[.*\])?", t.split("::")[1])
            ]
            assert seen and "PASSED" not in seen, (reason, name)
