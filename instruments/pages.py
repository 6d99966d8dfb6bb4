"""05's pages: / (the routes) and /lifecycle (a recorded request drawn as boxes).

Plain HTML and CSS, no JavaScript; every string that came from a client is escaped. They draw
what instruments.recorder wrote down, and replace the notes' two dead lifecycle diagrams.
Nothing here imports a numbered script.
"""

import html
import json
import re

from werkzeug.exceptions import abort

from instruments.recorder import CONTROL, RecordedStep


def escaped(text):
    """Text for the page: HTML escaped, and its control characters shown as \\xNN (a path or
    a value a client sent may hold a NUL or a terminal escape)."""
    return html.escape(str(text).translate(CONTROL))


PAGE_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; } td, th { padding: .25em .8em; text-align: left; }
tr:nth-child(even) { background: #f4f4f4; } code { background: #f0f0f0; padding: 0 .2em; }
.step { border: 1px solid #bbb; border-radius: 6px; margin: .4em 0 .4em .8em;
        padding: .3em .6em; background: #fff; }
.step .num { font-weight: bold; display: inline-block; min-width: 4.5em; }
.step .n002 { color: #666; display: inline-block; min-width: 4em; }
.step .func { color: #666; font-family: monospace; font-size: 12px; }
.line { font-family: monospace; font-size: 13px; margin-left: 1em; }
.line.signal::before { content: "signal "; color: #a37; font-weight: bold; }
.line.hook::before { content: "calls "; color: #37a; }
.phase-push { border-left: 6px solid #3a7; } .phase-dispatch { border-left: 6px solid #37a; }
.phase-finalize { border-left: 6px solid #a73; }
.phase-respond { border-left: 6px solid #777; } .phase-pop { border-left: 6px solid #a37; }
.legend { padding: 0 .4em; margin-right: .3em; }
.stacks { display: flex; gap: 1em; margin-top: .3em; flex-wrap: wrap; }
.storage { border: 2px solid #888; border-radius: 4px; padding: .2em .5em; min-width: 22em;
           font-family: monospace; font-size: 12px; background: #fafafa; }
.storage .title { font-weight: bold; } .storage .empty { color: #999; }
.storage .others { color: #666; } .warning { background: #fde; padding: .4em; }
.ident { border: 1px dashed #888; margin: .2em 0; padding: .2em .4em; }
.ctx { display: inline-block; border: 1px solid #555; background: #fff7d6; padding: 0 .3em;
       margin: .1em; }
nav a { margin-right: 1em; }
"""


def _page(title, body):
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escaped(title)}</title><style>{PAGE_STYLE}</style></head><body>"
        '<nav><a href="/">home</a><a href="/lifecycle">lifecycle</a></nav>'
        f"{body}</body></html>"
    )


def _code_spans(text):
    """A route's description, escaped, with its `names` drawn as code (written as in Markdown)."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", escaped(text))


def render_storage_page(view):
    """/storage for a browser: the JSON a program gets, on a page with the links back."""
    text = json.dumps(view, indent=2, ensure_ascii=False)
    return _page(
        "storage",
        "<h1>Both LocalStacks' <code>__storage__</code>, right now</h1><p>This request's own "
        "contexts, and those of any other request in flight. A program asking for JSON gets "
        f"this as JSON.</p><pre>{escaped(text)}</pre>",
    )


def render_home_page(name, routes):
    rows = "".join(
        f'<tr><td><a href="{escaped(url)}"><code>{escaped(url)}</code></a></td>'
        f"<td>{_code_spans(what)}</td></tr>"
        for url, what in routes
    )
    body = (
        f"<h1>{escaped(name)}: Flask 1.1.1's request lifecycle on Werkzeug 3</h1>"
        "<p>Every request this server answers goes through 第1步–第5步 of the notes: "
        "the request context and the app context are pushed on their LocalStacks, the view "
        'runs, and both are popped again. <a href="/lifecycle">/lifecycle</a> draws the steps '
        "of the last request, with both stacks' <code>__storage__</code> after each step.</p>"
        f"<table><tr><th>route</th><th>what it shows</th></tr>{rows}</table>"
    )
    return _page(name, body)


PHASES = {
    "push": "push: 第1步–第2步, the contexts go on the stacks",
    "dispatch": "dispatch: 第3步 — before_request, the view, and inside it 3.4 finalize_request "
    "(make_response, after_request, the session saved); 第4步 if the view raised",
    "respond": "respond: wsgi_app hands the response to the server",
    "pop": "pop: 第5步, teardown, the contexts come off the stacks",
}


PHASE_COLOURS = ("push", "dispatch", "finalize", "respond", "pop")


def render_lifecycle_page(ring, which):
    recordings = ring.snapshot()
    if not recordings and ring.narrated is not None and which is None:
        return render_recording(ring.narrated, [], "The narration's request")
    if not recordings:
        return _page(
            "lifecycle",
            "<h1>No request recorded yet</h1><p>Open "
            '<a href="/session">/session</a>, then come back.</p>',
        )
    by_number = {r.number: r for r in recordings}
    if which is None:
        chosen = recordings[0]
    elif which.isascii() and which.isdigit() and int(which) in by_number:
        chosen = by_number[int(which)]
    else:
        abort(
            400,
            description=f"n must be the number of a recent request, from {recordings[-1].number} "
            f"to {recordings[0].number} (the list on /lifecycle)",
        )
    return render_recording(chosen, recordings, f"Request #{chosen.number}")


def render_recording(chosen, recordings, label):
    """One recording drawn as a page, titled `label`, with links to the `recordings`."""
    links = " ".join(
        f'<a href="/lifecycle?n={r.number}">#{r.number} {escaped(r.method)} {escaped(r.path)}</a>'
        for r in recordings
    )
    if not recordings:
        links = "none yet: this is the request the narration made, before serving; yours replace it"
    sections, phase, shown = [], None, [None]
    for item in chosen.items:
        if isinstance(item, RecordedStep) and item.phase != phase:
            phase = item.phase
            sections.append(f"<h2>{escaped(PHASES[phase])}</h2>")
        sections.append(_render_item(item, shown))
    warning = ""
    pops = sum(1 for item in chosen.items if isinstance(item, RecordedStep) and item.n000 == "5")
    if pops > 1:
        warning = (
            '<p class="warning">This request\'s context was pushed twice: stream_with_context '
            "pushes it again while the body is produced, after wsgi_app returned. So 第5步 comes "
            "twice: the first only drops the count, the second pops it and runs the teardown."
            "</p>"
        )
    if chosen.overlapped:
        warning += (
            '<p class="warning">Another request ran on the same OS thread while this one was '
            "recorded (a coroutine server: greenlets take turns on one thread). The recorder "
            "watches the thread, so steps below may be missing or belong to the other request."
            "</p>"
        )
    body = (
        f"<h1>{label}: {escaped(chosen.method)} "  # label: ours, not a client's
        f"<code>{escaped(chosen.path)}</code></h1>{warning}"
        "<p>Each box is a step, numbered as note 000 numbers it (note 002's number in "
        "grey), with the function that ran and, in the order they happened, the steps it "
        "called, the hooks and signals it fired, and what it returned. Under a box: both "
        "LocalStacks' <code>__storage__</code> right after it, drawn when it changed: this "
        "request's own entry, and how many other requests had one at that moment. The colour "
        "is the phase: "
        + " ".join(f'<span class="legend phase-{p}">{p}</span>' for p in PHASE_COLOURS)
        + "</p><p>A request is recorded when it is the only one in flight: in a crowd, "
        "requests are served without a recording, which would make each several times slower "
        "(<code>--trace</code> records every request).</p>"
        f"<p>Recent requests: {links}</p>{''.join(sections)}"
    )
    return _page(f"lifecycle of {chosen.method} {chosen.path}", body)


def _render_item(item, shown):
    """A step as a box holding what it called, in order; `shown[0]` is the last storage drawn."""
    if not isinstance(item, RecordedStep):
        kind, text = item
        if kind == "storage":  # drawn as boxes under the step instead
            return ""
        return f'<div class="line {kind}">{escaped(text)}</div>'
    inner = "".join(_render_item(i, shown) for i in item.items)
    stacks = ""
    if item.storage != shown[0]:
        shown[0] = item.storage
        stacks = "".join(_render_storage(name, view) for name, view in item.storage.items())
        stacks = f'<div class="stacks">{stacks}</div>'
    return (
        f'<div class="step phase-{item.phase}" data-n000="{escaped(item.n000)}" '
        f'data-n002="{escaped(item.n002)}" data-func="{escaped(item.func)}">'
        f'<div class="head"><span class="num">{escaped(item.n000) or "&nbsp;"}</span>'
        f'<span class="n002">{escaped(item.n002)}</span> {escaped(item.text)} '
        f'<span class="func">{escaped(item.func)}</span></div>{inner}{stacks}</div>'
    )


def _render_storage(name, view):
    inner = "".join(
        f'<div class="ident">{escaped(str(ident))} &rarr; {{"stack": ['
        + "".join(f'<span class="ctx">{escaped(item)}</span>' for item in items)
        + "]}</div>"
        for ident, items in view.entries.items()
    )
    if not view.entries:
        inner = '<div class="empty">{} (empty)</div>'
    if view.others:
        inner += f'<div class="others">+ {view.others} other request(s) in flight</div>'
    return (
        f'<div class="storage" data-stack="{name}"><div class="title">{name}.__storage__'
        f"</div>{inner}</div>"
    )
