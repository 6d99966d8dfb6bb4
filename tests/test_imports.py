"""Imports point one way: a later script imports earlier ones, never the other way, and the
instruments are handed what they watch. Each import runs in a fresh interpreter, so what one
test loaded cannot hide another's edge. 05 is whole on its own: its classes come from 05 and
the libraries, and nothing is set on them after their definition; flask111 is a layer of
subclasses on it."""

import ast
import json
import subprocess
import sys

import pytest
from conftest import ROOT, SCRIPTS, load

MODULES = [*SCRIPTS, "flask111"]

ALLOWED = {
    "01_stack": [],
    "02_local": [],
    "03_localstack": [],
    "04_proxy": ["03_localstack"],
    "05_lifecycle": ["03_localstack", "04_proxy"],
    "06_sqlhelper": ["03_localstack", "04_proxy", "05_lifecycle"],  # 002's views: 05's Flask
    "07_flask_basics": ["03_localstack", "04_proxy", "05_lifecycle", "flask111"],
    "08_deploy": [
        "03_localstack",
        "04_proxy",
        "05_lifecycle",
        "06_sqlhelper",
        "07_flask_basics",
        "flask111",
    ],
    "09_elsewhere": ["03_localstack", "04_proxy", "05_lifecycle", "flask111"],
    "10_then_and_now": [],
    "flask111": ["03_localstack", "04_proxy", "05_lifecycle"],
    "instruments.cli": [],
    "instruments.serving": [],
    "instruments.recorder": [],
    "instruments.pages": [],
    "instruments.mysql_settings": [],
    "instruments.sections": [],
    "instruments.paste": [],
    "instruments.private_db": [],
    "instruments.watching": [],
    "instruments.served_once": [],
    "instruments.figure": [],
    "instruments.server_count": [],
    "instruments.venvs": [],
    "instruments.version_table": [],
}


def loaded_by(module):
    code = (
        "import importlib, json, sys; "
        f"importlib.import_module({module!r}); "
        f"print(json.dumps(sorted(m for m in sys.modules if m in {MODULES!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [m for m in json.loads(result.stdout) if m != module]


@pytest.mark.parametrize("module", list(ALLOWED))
def test_a_module_loads_only_the_scripts_before_it(module):
    assert loaded_by(module) == ALLOWED[module]


LESSON_CLASSES = [
    "Flask", "AppContext", "RequestContext", "Request", "Response", "SessionInterface",
    "SecureCookieSessionInterface", "SecureCookieSession", "NullSession", "Blueprint", "Config",
]  # fmt: skip


@pytest.mark.parametrize("name", LESSON_CLASSES)
def test_05s_classes_are_whole_where_they_are_defined(name):
    """Every class in the MRO of 05's Flask, Blueprint, Config, ... is 05's or a library's:
    no base class from a later file (as flask_extras' mixins were)."""
    lifecycle = load("05_lifecycle")
    for cls in getattr(lifecycle, name).__mro__:
        assert cls.__module__ == "05_lifecycle" or not cls.__module__[:1].isdigit(), cls
        assert cls.__module__ not in ("flask111", "flask_extras"), cls


def test_nothing_is_set_on_05s_classes_after_their_definition():
    tree = ast.parse((ROOT / "05_lifecycle.py").read_text(encoding="utf-8"))
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    late = [
        ast.unparse(target)
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id in classes
    ]
    assert late == []


def test_flask111_is_a_layer_of_subclasses_on_05():
    lifecycle, flask111 = load("05_lifecycle"), load("flask111")
    for name in ("Flask", "Blueprint", "Config", "Request", "Response"):
        layer, lesson = getattr(flask111, name), getattr(lifecycle, name)
        assert layer.__mro__[1] is lesson, name  # class Flask(lifecycle.Flask), ...
    assert flask111.Flask.__mro__ == (flask111.Flask, lifecycle.Flask, object)
    assert not (ROOT / "flask_extras.py").exists()  # one name for the layer


def test_part_a_of_05_with_03_04_and_the_libraries_serves_a_real_request(tmp_path):
    """Part A, copied as it stands (with the file's imports), is a Flask that serves."""
    source = (ROOT / "05_lifecycle.py").read_text(encoding="utf-8")
    imports = source[: source.index("# " + "#" * 90 + "\n# Part A")]
    part_a = source[source.index("# Part A") : source.index("# " + "#" * 90 + "\n# Part B")]
    program = (
        "\n".join(line for line in imports.splitlines() if not line.startswith("from instruments"))
        + "\n# "
        + part_a
        + PART_A_SERVES
    )
    (tmp_path / "part_a.py").write_text(program, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(tmp_path / "part_a.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["200 hello 7", "200 2", "404"]
    assert "05_lifecycle" not in result.stderr


PART_A_SERVES = """
import threading, urllib.error, urllib.request
from werkzeug.serving import make_server

app = Flask("part_a")
app.secret_key = "part A alone"
app.route("/hello/<int:n>")(lambda n: f"hello {n}")

@app.route("/count")
def count():
    session["n"] = session.get("n", 0) + 1
    return str(session["n"])

server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_port}"
with urllib.request.urlopen(base + "/hello/7") as r:
    print(r.status, r.read().decode())
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
opener.open(base + "/count").read()
with opener.open(base + "/count") as r:
    print(r.status, r.read().decode())
try:
    urllib.request.urlopen(base + "/nowhere")
except urllib.error.HTTPError as e:
    print(e.code)
server.shutdown()
import sys
assert "05_lifecycle" not in sys.modules and "flask111" not in sys.modules
"""
