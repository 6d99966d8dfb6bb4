"""The numbered scripts' command lines: one-line errors, and a quiet stop.

Every script runs as `run(main, parser)`: arguments are parsed the same way in 01–06 (`--help`
answers, an unknown flag is a one-line error and exit status 2), and the two ways a reader stops
a script end in one line, not a traceback:
- the reader of stdout goes away (`python 05_lifecycle.py | head`): stop quietly, as cat does;
- Ctrl-C: one line on stderr, exit status 130 (the shell's 128 + SIGINT).
"""

import argparse
import os
import sys


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors on one line that points at --help."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def port(text):
    """An argparse type: a TCP port, 1-65535."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 1 to 65535, got {number}")
    return number


def first_paragraph(docstring):
    """A docstring's first paragraph, on one line: what --help says the script is."""
    return " ".join(docstring.strip().split("\n\n")[0].split())


def demo_parser(prog, docstring):
    """The parser of a script whose only run is its narrated demo (01-04): --help shows the
    docstring's first paragraph and says what a plain run does."""
    return ArgumentParser(
        prog=prog,
        description=f"{first_paragraph(docstring)} Run without arguments: the narrated demo.",
    )


def run(main, prog):
    """Run main() as a program: a closed stdout stops quietly, Ctrl-C says so in one line."""
    try:
        main()
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_stdout()
        sys.exit(1)
    except KeyboardInterrupt:
        quiet_stdout()
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        sys.exit(130)


def quiet_stdout():
    """Point stdout at /dev/null: Python would complain again when it flushes it at exit."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
