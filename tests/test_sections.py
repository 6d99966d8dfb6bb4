"""Every numbered script lists its sections (--list), runs some (--only) and prints them as
markdown (--markdown): the sections are the plain run's parts, in order, and the markdown's
code is the running source."""

import os
import re
import subprocess
import sys
import textwrap

import notes_headings
import pytest
from conftest import ROOT, SCRIPTS, load, mysql_env, run_script
from markdown_it import MarkdownIt

from instruments import paste, sections

NEEDS_A_DATABASE = ("06_sqlhelper", "08_deploy")
PLAIN_RUN = {"05_lifecycle": ["--demo"], "09_elsewhere": ["--demo"]}


# 06 and 08 run against the test database (their parameters carry the db marker).
ALL = [pytest.param(s, marks=pytest.mark.db) if s in NEEDS_A_DATABASE else s for s in SCRIPTS]


def masked(text):
    """Masked, and the letters dropped: a section run alone letters its idents from A."""
    return re.sub(r"<(ident|address) \w+>", r"<\1>", sections.mask(text))


def script_env(script, request):
    if script not in NEEDS_A_DATABASE:
        return None
    return mysql_env(request.getfixturevalue("test_database"))


def run(script, *args, env=None):
    result = run_script(script, *args, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    return result.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_list_names_every_section_in_order(script):
    registry = load(script).SECTIONS
    lines = run(script, "--list").splitlines()
    assert [line.split()[0] for line in lines] == list(registry)
    for line, section in zip(lines, registry.values(), strict=True):
        assert line.endswith(section.title)


@pytest.mark.parametrize("script", ALL)
def test_each_section_alone_prints_its_part_of_the_plain_run(script, request):
    env = script_env(script, request)
    plain = masked(run(script, *PLAIN_RUN.get(script, []), env=env))
    parts = [masked(run(script, "--only", name, env=env)) for name in load(script).SECTIONS]
    prologue = plain[: len(plain) - len("".join(parts))]
    assert plain == prologue + "".join(parts)
    assert prologue == "" or script in NEEDS_A_DATABASE and prologue.startswith("MySQL at ")


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_unknown_section_is_one_line_and_exit_2(script):
    result = run_script(script, "--only", "no_such_section")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"{script}.py: error: --only: no section named 'no_such_section'")
    assert all(name in lines[0] for name in load(script).SECTIONS)


def python_blocks(text):
    return re.findall(r"```python\n(.*?)\n```", text, flags=re.S)


@pytest.mark.parametrize("script", ALL)
def test_the_markdowns_code_is_the_running_source(script, request):
    """Each section's one python block holds the code it teaches verbatim (a method indented
    in the subclass that overrides it), and the notes' version where it is wrong."""
    registry = load(script).SECTIONS
    text = run(script, "--markdown", env=script_env(script, request))
    blocks = python_blocks(text)
    assert len(blocks) == len(registry) == text.count(" prints this.\n")
    for block, section in zip(blocks, registry.values(), strict=True):
        compile(block, script, "exec")
        for obj in (*section.bug, *section.code):
            shown = paste.source(obj)
            if paste.owner_of(obj) is not None:
                shown = textwrap.indent(shown, "    ")
            assert shown in block, (section.name, obj)


@pytest.mark.parametrize("script, name", [("03_localstack", "two_stacks"), ("05_lifecycle", "g")])
def test_one_section_renders_as_markdown(script, name):
    text = run(script, "--only", name, "--markdown")
    html = MarkdownIt().render(text)
    assert re.findall(r"<h\d>(.*?)</h\d>", html) == [load(script).SECTIONS[name].title]
    assert html.count('<code class="language-python">') == 1
    assert "\x1b[" not in text and re.search(r"0x[0-9a-f]", text) is None  # masked


def test_a_section_with_the_notes_bug_shows_both_versions():
    [block] = python_blocks(run("03_localstack", "--only", "localstack", "--markdown"))
    fix, bug = block.split("# The notes' version, as written:")  # the notes' subclass the fix
    assert "# The fix:\nclass LocalStack:" in fix
    assert "class NotesLocalStack(LocalStack):" in bug and "def demo_localstack_todo():" in bug


@pytest.mark.parametrize(
    ("only", "says"),
    [
        ("", "--only: name a section; the sections are "),
        (" , ", "--only: name a section; the sections are "),
        ("wsgi,wsgi", "--only: 'wsgi' is named twice; the sections are "),
    ],
)
def test_only_with_no_name_or_a_name_twice_is_one_line_and_exit_2(only, says):
    result = run_script("07_flask_basics", "--only", only)
    assert result.returncode == 2 and result.stdout == "", result.stdout
    assert result.stderr.startswith(f"07_flask_basics.py: error: {says}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_markdown_masks_each_ident_and_address_by_a_letter_the_same_each_time():
    text = (
        "ident 140245790176960 then 140245781784256, again 140245790176960;"
        " <greenlet object at 0x7f1c2a3b4c50> and 0x7f1c2a3b4d00, again 0x7f1c2a3b4c50"
    )
    assert sections.mask(text) == (
        "ident <ident A> then <ident B>, again <ident A>;"
        " <greenlet object at <address A>> and <address B>, again <address A>"
    )


def test_a_section_that_needs_no_database_runs_without_one():
    """08's asyncio section uses no database: no MySQL at the given port must not stop it."""
    result = run_script("08_deploy", "--only", "asyncio_idents", env={"MYSQL_PORT": "1"})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "contextvar a number kept in a ContextVar" in result.stdout
    assert "           -> {'own': 100}" in result.stdout


def all_sections():
    for script in SCRIPTS:
        for name in load(script).SECTIONS:
            marks = [pytest.mark.db] if script in NEEDS_A_DATABASE else []
            yield pytest.param(script, name, marks=marks, id=f"{script}-{name}")


@pytest.mark.parametrize(("script", "name"), list(all_sections()))
def test_a_sections_python_block_runs_as_pasted_and_prints_its_output(script, name, request):
    """Saved as a file in the project folder and run, the block prints the output block."""
    env = script_env(script, request)
    text = run(script, "--only", name, "--markdown", env=env)
    [code] = python_blocks(text)
    output = re.search(r"\nIts output:\n\n```\n(.*?)```\n", text, flags=re.S).group(1)
    path = ROOT / f".pasted_{script}_{name}.py"
    path.write_text(code + "\n", encoding="utf-8")
    try:
        result = subprocess.run(
            [sys.executable, path.name],
            cwd=ROOT,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=180,
            env=dict(os.environ, PYTHONIOENCODING="utf-8", **(env or {})),
        )
    finally:
        path.unlink()
    assert result.returncode == 0, result.stderr[-2000:]
    # masked values aside: which ident the OS hands out again differs from run to run
    assert masked(result.stdout).strip("\n") == masked(output).strip("\n")


def test_every_heading_is_the_notes_own_or_says_it_goes_beyond_them():
    """Checked against tests/notes_headings.txt, which the next test checks against the notes."""
    index = notes_headings.INDEX.read_text(encoding="utf-8").splitlines()
    for script in SCRIPTS:
        for section in load(script).SECTIONS.values():
            if section.note is None:
                assert section.heading.startswith("### Beyond the notes: "), section.name
            else:
                assert f"{section.note}\t{section.heading}" in index, (script, section.name)
                assert section.whence(script).startswith(f"From note {section.note}; ")


def test_the_headings_index_is_the_notes_own_headings_at_their_level():
    if not notes_headings.NOTES.is_dir():
        pytest.skip(f"the notes are not in this checkout ({notes_headings.NOTES})")
    used = notes_headings.used_headings()
    assert notes_headings.check(used) == []
    expected = "".join(f"{note}\t{heading}\n" for note, heading in used)
    assert notes_headings.INDEX.read_text(encoding="utf-8") == expected


@pytest.mark.parametrize(("script", "name"), list(all_sections()))
def test_a_section_shows_nothing_it_does_not_run(script, name, request):
    """Every function, class and method a section shows is called when it runs (a class: one
    of its methods), the notes' version included. Run by tests/section_calls.py, in a process
    of its own (06 and 08 on the test database)."""
    env = script_env(script, request)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "section_calls.py"), script, name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ, **(env or {})),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [], f"{name} shows what it never runs: {result.stdout}"


def test_the_readmes_example_is_what_the_script_prints():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"````markdown\n(.*?)````\n", readme, flags=re.S).group(1)
    assert shown == run("04_proxy", "--only", "partial", "--markdown").rstrip("\n") + "\n"
