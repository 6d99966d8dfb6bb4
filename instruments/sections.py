"""A lesson's sections: list them, run some, or print them as markdown to paste into notes.

Each numbered script keeps one registry, SECTIONS: its sections in the order the plain run
prints them, one per block of the notes, each with a short name to type, the notes' own
heading for the block (and which note it is from), the function that prints it, and the code it
teaches (the functions, classes, methods and assignments it runs, and, where the notes' code
is wrong, the notes' version beside the fix). `main` walks the same registry, so a section
cannot be runnable but unlisted:

    python 03_localstack.py --list
    python 03_localstack.py --only two_stacks
    python 03_localstack.py --only two_stacks --markdown

The markdown's python block runs as pasted (paste.py builds it from the running source), and
its output masks what differs between runs (addresses, thread idents) by letter. Nothing here
imports a numbered script: it is handed the registry.
"""

import contextlib
import inspect
import io
import re
import sys

from instruments import cli, figure, paste
from instruments.paste import Assigned as Assigned  # code a section shows: x = ...


class Section:
    """One block of the notes, as a lesson runs it: `run` prints it, `code` (with `run` itself,
    last) is what it teaches. `heading` is the notes' own heading for the block, verbatim and
    at the notes' level (`### 1. 栈`), from note `note` ("000" ... "003"); a section beyond
    the notes has no `note`, and its heading says so. Where the notes' code is wrong, `bug`
    is their version; the code is the fix. `run` is given the lesson's context (the app it
    narrates, the database settings), if the lesson has one, unless `needs_context` is False
    (a section of 08 that uses no database runs without one). `call` is what a pasted block
    runs, where calling `run` with the lesson's context is not it."""

    def __init__(
        self, name, run, *code, heading, note=None, bug=(), needs_context=True, call=None, args=()
    ):
        self.name, self.run, self.bug = name, run, tuple(bug)
        self.heading, self.note, self.call = heading, note, call
        self.args = dict(args)  # keyword arguments `run` is called with
        self.needs_context = needs_context
        taught = inspect.unwrap(run)  # a lambda only passes arguments: it teaches nothing
        self.code = code if taught.__name__ == "<lambda>" else (*code, taught)
        self.title = heading.lstrip("#").strip()

    def whence(self, script):
        where = f"`python {script}.py --only {self.name}`"
        if self.note is None:
            return f"Beyond the notes: {where} prints this."
        return f"From note {self.note}; {where} prints this."

    def call_lines(self, script, prepare):
        """`call(subclassed)`: the lines that run the section in a pasted block, given the
        classes the block subclasses among those `prepare` takes (05's create_app(app_class))."""
        made = self.made_with(prepare)

        def call(subclassed):
            if self.call is not None:
                return self.call
            args = [f"{key}={value!r}" for key, value in self.args.items()]
            if made:
                maker = prepare.__name__
                if prepare not in self.code:
                    maker = f"{paste.alias(script)}.{maker}"
                args.insert(0, f"{maker}({', '.join(subclassed)})")
            return f"{self.run.__name__}({', '.join(args)})"

        return call

    def __call__(self, context):
        if self.needs_context and context is not None:
            return self.run(context, **self.args)
        return self.run(**self.args)

    def made_with(self, prepare):
        """Whether a pasted block makes this section's context by calling `prepare` (a
        function of the script's: 05's create_app, 06's ready_database)."""
        return self.needs_context and prepare is not None and prepare.__name__ != "<lambda>"

    def hosts(self, prepare):
        """The classes `prepare` makes the context with (its parameters' default classes)."""
        if not self.made_with(prepare):
            return ()
        defaults = inspect.signature(prepare).parameters.values()
        return tuple(p.default for p in defaults if isinstance(p.default, type))


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
    context = prepare() if any(section.needs_context for section in selected) else None
    used = False
    for section in selected:
        if section.needs_context:
            if fresh and used:
                context = prepare()
            used = True
        if not args.markdown:
            section(context)
            continue
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            section(context)
        print(markdown(section, output.getvalue(), parser.prog.removesuffix(".py"), prepare))


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


def markdown(section, output, script, prepare=None):
    """A section as a learner pastes it into their notes: the notes' heading, a line saying
    which note and which script section it is, one python block that runs as pasted (saved
    as a file in the project folder), and what it printed."""
    lines = [section.heading, "", section.whence(script), "", "```python"]
    call, hosts = section.call_lines(script, prepare), section.hosts(prepare)
    lines += [paste.block(section.bug, section.code, script, call, hosts)]
    lines += ["```", "", "Its output:", "", "```", mask(output).strip("\n"), "```", ""]
    drawn = figure_in(mask(output))
    if drawn:  # a figure the output holds as text, once more to be drawn
        lines += ["Its figure, drawn:", "", "```mermaid", *drawn, "```", ""]
    return "\n".join(lines)


def figure_in(output):
    """The lines of the mermaid figure `output` prints (figure.sequence_diagram), or []."""
    lines = output.splitlines()
    if figure.FIRST_LINE not in lines:
        return []
    start = lines.index(figure.FIRST_LINE)
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    return lines[start:end]
