"""05's pages in a real browser: headless Chromium draws / and /lifecycle.

The page replaces the notes' two dead lifecycle diagrams, so the test looks at what a reader
sees: a screenshot of the expected size that is not blank, and the DOM Chromium built, in which
the steps come in the notes' order and the storage boxes show the request context go on (after
2.2) and come off (after 5).
"""

import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest
from conftest import STEPS_OF_A_REQUEST, load, served_in_thread
from werkzeug.test import Client

from instruments import pages

lifecycle = load("05_lifecycle")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI", "").lower() != "true",
    reason="chromium is not installed (apt-get install -y chromium; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def served():
    """A fresh demo app on a free port, after one GET /session."""
    app = lifecycle.create_app()
    Client(app).get("/session")
    with served_in_thread(app) as url:
        yield url


def chromium(tmp_path, *args):
    assert CHROMIUM, "chromium is missing under CI: .ci/run should have installed it"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


class Steps(HTMLParser):
    """Collects, in document order, the steps' 000 numbers and the storage boxes drawn, each
    box labelled with the 000 number of the nearest numbered step around it."""

    def __init__(self):
        super().__init__()
        self.numbers = []  # every step's data-n000, in document order
        self.boxes = []  # [nearest numbered step, stack name, text], in document order
        self.open = []  # (n000, depth) of the step divs now open
        self.box_depth = None
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if tag != "div":
            return
        self.depth += 1
        attrs = dict(attrs)
        if "data-n000" in attrs:
            self.numbers.append(attrs["data-n000"])
            self.open.append((attrs["data-n000"], self.depth))
        elif "data-stack" in attrs:
            nearest = next((n for n, _ in reversed(self.open) if n), "")
            self.boxes.append([nearest, attrs["data-stack"], ""])
            self.box_depth = self.depth

    def handle_endtag(self, tag):
        if tag != "div":
            return
        if self.box_depth == self.depth:
            self.box_depth = None
        if self.open and self.open[-1][1] == self.depth:
            self.open.pop()
        self.depth -= 1

    def handle_data(self, data):
        if self.box_depth is not None:
            self.boxes[-1][2] += data


def png_size_and_colours(path):
    """(width, height) from the PNG header, and how many distinct bytes its pixels use."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24]), len(set(png_pixels(path)))


def test_lifecycle_page_screenshot_is_drawn(served, tmp_path):
    shot = tmp_path / "lifecycle.png"
    chromium(tmp_path, "--window-size=1200,1600", f"--screenshot={shot}", served + "/lifecycle")
    size, colours = png_size_and_colours(shot)
    assert size == (1200, 1600)
    assert colours > 20  # text, boxes and phase colours, not a blank page


def test_lifecycle_dom_shows_the_steps_and_the_stacks(served, tmp_path):
    dom = chromium(tmp_path, "--dump-dom", served + "/lifecycle")
    assert "Request #1: GET <code>/session</code>" in dom
    parser = Steps()
    parser.feed(dom)
    assert [n for n in parser.numbers if n] == STEPS_OF_A_REQUEST

    def drawn(step, stack):
        return [text for near, name, text in parser.boxes if near == step and name == stack]

    # 2.1: the app context is on its stack, the request context not yet
    assert "<AppContext of 05_lifecycle>" in drawn("2.1", "_app_ctx_stack")[-1]
    assert "(empty)" in drawn("2.1", "_request_ctx_stack")[-1]
    # 2.2: the request context goes on
    assert "<RequestContext GET /session>" in drawn("2.2", "_request_ctx_stack")[-1]
    # after 5: both gone (the last boxes drawn, each storage being drawn only when it changed)
    last = {name: text for _, name, text in parser.boxes}
    assert "(empty)" in last["_request_ctx_stack"] and "(empty)" in last["_app_ctx_stack"]
    assert parser.numbers.index("5") < len(parser.numbers) - 1


def test_home_page_in_the_browser(served, tmp_path):
    dom = chromium(tmp_path, "--dump-dom", served + "/")
    assert "<title>05_lifecycle</title>" in dom
    for url, _ in lifecycle.ROUTES:
        assert url.split("?")[0] in dom
    assert '<a href="/lifecycle">' in dom


def test_the_notes_chinese_headings_are_drawn_not_tofu(tmp_path):
    """Two different CJK characters in /lifecycle's font draw as two different pictures only
    when a font has them; without one (no fonts-noto-cjk) both are the same empty box."""
    pixels = []
    for char in "第步":
        page = tmp_path / f"{ord(char)}.html"
        page.write_text(
            f'<!doctype html><meta charset="utf-8"><style>{pages.PAGE_STYLE}</style>'
            f'<h1 style="font-size:160px;margin:0">{char}</h1>',
            encoding="utf-8",
        )
        shot = tmp_path / f"{ord(char)}.png"
        chromium(tmp_path, "--window-size=200,200", f"--screenshot={shot}", page.as_uri())
        pixels.append(png_pixels(shot))
    assert pixels[0] != pixels[1], "CJK glyphs are missing: apt-get install -y fonts-noto-cjk"


def png_pixels(path):
    data, chunks, pos = path.read_bytes(), [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        if data[pos + 4 : pos + 8] == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return zlib.decompress(b"".join(chunks))
