"""A lesson's sections: list them, run some, or print them as markdown to paste into notes.

Each numbered script keeps one registry, SECTIONS: its sections in the order the plain run
prints them, each with a short name to type, the function that prints it (whose docstring
gives the notes' title it reproduces), and the code it teaches (the functions and classes it
runs, and, where the notes' code is wrong, the notes' version beside the fix). `main` walks
the same registry, so a section cannot be runnable but unlisted:

    python 03_localstack.py --list
    python 03_localstack.py --only two_stacks
    python 03_localstack.py --only two_stacks --markdown

The markdown takes the code from the running source (inspect), not from a copy, and masks
what differs between runs (addresses, thread idents) as the tests do. Nothing here imports a
numbered script: it is handed the registry.
"""

import ast
import contextlib
import inspect
import io
import re
import sys
import textwrap

from instruments import cli


class Section:
    """One part of a lesson: `run` prints it, `code` (with `run` itself, last) is what it
    teaches, `title` is the notes' title it reproduces (default: the first line of `run`'s
    docstring). Where the notes' code is wrong, `bug` is their version; the code is the fix.
    `run` is given the lesson's context (the app it narrates, the database settings), if the
    lesson has one, unless `needs_context` is False: then none is made for it (a section of 08
    that uses no database runs without one)."""

    def __init__(self, name, run, *code, title=None, bug=(), needs_context=True):
        self.name, self.run, self.bug = name, run, tuple(bug)
        self.needs_context = needs_context
        taught = inspect.unwrap(run)  # a lambda only passes arguments: it teaches nothing
        self.code = code if taught.__name__ == "<lambda>" else (*code, taught)
        self.title = title or inspect.getdoc(run).splitlines()[0]

    def __call__(self, context):
        return self.run(context) if self.needs_context and context is not None else self.run()


def registry(*sections):
    """The sections by name, in order; a name used twice is a mistake in the script."""
    found = {}
    for section in sections:
        assert section.name not in found, f"two sections named {section.name!r}"
        found[section.name] = section
    return found


def add_arguments(parser):
    parser.add_argument("--list", action="store_true", help="list the sections, then exit")
    parser.add_argument(
        "--only", metavar="NAME[,NAME...]", help="run only these sections (see --list)"
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print each section as markdown: the notes' title, its code, its output",
    )


def wanted(args):
    """Did the command line ask for sections (rather than the script's plain run)?"""
    return args.list or args.only is not None or args.markdown


def chosen(sections, args, parser):
    """The sections --only names, in the order given; all of them without --only."""
    if args.only is None:
        return list(sections.values())
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in sections]
    twice = [name for i, name in enumerate(names) if name in names[:i]]
    if not names:
        problem = "name a section"
    elif unknown:
        problem = f"no section named {', '.join(map(repr, unknown))}"
    elif twice:
        problem = f"{', '.join(map(repr, dict.fromkeys(twice)))} is named twice"
    else:
        return [sections[name] for name in names]
    parser.error(f"--only: {problem}; the sections are {', '.join(sections)}")


def run(sections, args, parser, prepare=lambda: None, fresh=False):
    """--list, --only, --markdown: what the plain run does, a section at a time. `prepare()`
    makes what the sections are run with (an app, the database settings): once, or with
    `fresh`, once per section, so that a section run alone prints what it prints in the
    plain run."""
    if args.list:
        width = max(len(name) for name in sections) + 3
        for section in sections.values():
            print(f"{section.name:<{width}}{section.title}")
        return
    selected = chosen(sections, args, parser)
    context = made = None
    for section in selected:
        if section.needs_context and (made is None or fresh):
            context = made = prepare()
        if not args.markdown:
            section(context)
            continue
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            section(context)
        print(markdown(section, output.getvalue()))


def main(prog, docstring, sections, argv, prepare=lambda: None):
    """The command line of a lesson that only narrates: its sections, or all of them."""
    parser = cli.demo_parser(prog, docstring)
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    run(sections, args, parser, prepare)


def mask(text):
    """What differs between runs, object addresses and thread idents, each as a letter: the
    same ident is the same letter throughout, so that a reused one can still be seen."""
    text = lettered(text, r"\b0x[0-9a-f]+\b", "address")
    return lettered(text, r"\b\d{12,}\b", "ident")


def lettered(text, pattern, kind):
    """Each distinct match of `pattern` as <kind A>, <kind B>, ... in order of appearance."""
    letters = {}

    def letter(match):
        n = letters.setdefault(match.group(), len(letters))
        return f"<{kind} {chr(ord('A') + n) if n < 26 else n + 1}>"

    return re.sub(pattern, letter, text)


def source(obj):
    """The running source of a function, class or method (a method dedented)."""
    try:
        text = inspect.getsource(obj)
    except TypeError:  # a class with a __wrapped__ slot (LocalProxy): inspect unwraps it
        text = class_source(obj)
    return textwrap.dedent(text).rstrip()


def class_source(cls):
    """A module-level class's lines, found in its module's source by name."""
    module_source = inspect.getsource(sys.modules[cls.__module__])
    for node in ast.parse(module_source).body:
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(module_source.splitlines()[first - 1 : node.end_lineno])
    raise TypeError(f"no source found for {cls!r}")


def code_blocks(objects):
    """Module-level functions and classes together in one ```python block; a method in a
    block of its own, under the name of its class."""
    lines, together = [], []

    def flush():
        if together:
            lines.extend(["```python", "\n\n\n".join(together), "```", ""])
            together.clear()

    for obj in objects:
        owner = obj.__qualname__.rpartition(".")[0]
        if not owner or "<locals>" in owner:
            together.append(source(obj))
            continue
        flush()
        lines.extend([f"From `{owner}`:", "", "```python", source(obj), "```", ""])
    flush()
    return lines


def markdown(section, output):
    lines = [f"## {section.title}", ""]
    if section.bug:
        lines += ["The notes' version:", "", *code_blocks(section.bug)]
        lines += ["The fix:", "", *code_blocks(section.code)]
    else:
        lines += code_blocks(section.code)
    lines += ["Its output:", "", "```", mask(output).strip("\n"), "```", ""]
    return "\n".join(lines)
