"""The notes' headings the sections use, checked against the notes themselves.

The notes (../shared/notes, not part of this repository) title their blocks in two ways: 000
and 001 with markdown headings (`### 1. 栈`), and with plain title lines under them
(`应用场景：`, `第4步：`); 002 and 003 with plain title lines only (`示例1:`, `一、flask配置文件`).
A section's heading is one of them, verbatim: a markdown heading at its own level, a title
line one level below the heading it follows (`###` in a plain-text note, where a line that
begins with `#` is a comment in the code).

    python tests/notes_headings.py          # check every section's heading against the notes
    python tests/notes_headings.py --write  # and write tests/notes_headings.txt

notes_headings.txt keeps what was checked, so that CI, which has no notes, checks against it.
"""

import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT.parent / "shared" / "notes"
INDEX = Path(__file__).resolve().parent / "notes_headings.txt"
SCRIPTS = sorted(p.stem for p in ROOT.glob("[0-9][0-9]_*.py"))


def titles(text):
    """{title: level} for a note's headings and title lines, outside its code fences."""
    found, level, fenced = {}, None, False
    markdown = "```" in text  # 002 and 003 are plain text: a '#' line there is code
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not line.strip():
            continue
        if markdown and line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            title = line[hashes:].strip()
            level = hashes
            found.setdefault(title, hashes)
            continue
        title = line.strip().lstrip("->* ").strip()
        found.setdefault(title, (level or 2) + 1)
    return found


def note_file(note):
    return next(NOTES.glob(f"{note}_*.txt"))


def used_headings():
    """[(note, heading)] of every section of every script that cites a note."""
    sys.path.insert(0, str(ROOT))
    used = []
    for script in SCRIPTS:
        for section in importlib.import_module(script).SECTIONS.values():
            if section.note is not None and (section.note, section.heading) not in used:
                used.append((section.note, section.heading))
    return used


def check(used):
    """The headings not in their note at their level, as one line each."""
    wrong, cache = [], {}
    for note, heading in used:
        if note not in cache:
            cache[note] = titles(note_file(note).read_text(encoding="utf-8"))
        hashes = len(heading) - len(heading.lstrip("#"))
        title = heading[hashes:].strip()
        level = cache[note].get(title)
        if level != hashes:
            where = "not in the note" if level is None else f"at level {level} there"
            wrong.append(f"note {note}: {heading!r} is {where}")
    return wrong


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write tests/notes_headings.txt")
    args = parser.parse_args()
    used = used_headings()
    wrong = check(used)
    for line in wrong:
        print(line)
    if wrong:
        sys.exit(1)
    if args.write:
        INDEX.write_text("".join(f"{note}\t{heading}\n" for note, heading in used), "utf-8")
    print(f"{len(used)} headings found in the notes at their level")


if __name__ == "__main__":
    main()
