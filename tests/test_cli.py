"""Every numbered script parses its arguments alike: --help answers and exits 0, an unknown
flag is one line on stderr and exit status 2 (01-04 used to ignore both and run the demo)."""

import re

import pytest
from conftest import SCRIPTS, load, run_script


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_answers_without_running_the_demo(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        load(name).main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.startswith(f"usage: {name}.py") and "==" not in out


@pytest.mark.parametrize("name", SCRIPTS)
def test_an_unknown_flag_is_one_line_and_status_2(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        load(name).main(["--bogus"])
    captured = capsys.readouterr()
    assert exit_.value.code == 2 and captured.out == ""
    assert captured.err == f"{name}.py: error: unrecognized arguments: --bogus (see --help)\n"


# 05, 08 and 09 also serve: their --help says in its own words what each mode does.
DOCSTRING_HELP = [
    name for name in SCRIPTS if name not in ("05_lifecycle", "08_deploy", "09_elsewhere")
]


@pytest.mark.parametrize("name", DOCSTRING_HELP)
def test_help_says_the_docstrings_first_sentence_whole(name, capsys):
    """--help opens with the docstring's first paragraph, not its first line cut mid-sentence."""
    with pytest.raises(SystemExit):
        load(name).main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    first_paragraph = load(name).__doc__.strip().split("\n\n")[0]
    assert " ".join(first_paragraph.split()) in out


def test_the_serving_scripts_each_have_their_own_default_port():
    """05, 08 serve and 09 can all run at once, as the reading path has them: each says its
    own default port in --help."""
    ports = {}
    for script, args in (("05_lifecycle", []), ("08_deploy", ["serve"]), ("09_elsewhere", [])):
        result = run_script(script, *args, "--help")
        found = re.search(r"--port PORT\s+port to listen on \(default: (\d+)\)", result.stdout)
        assert found, (script, result.stdout)
        ports[script] = int(found.group(1))
    assert ports == {"05_lifecycle": 5000, "08_deploy": 5008, "09_elsewhere": 5009}
