"""A recorded request as a figure: the notes' two lifecycle diagrams (上下文管理.JPG and
flask完整的生命周期.png, dead links today) drawn again from what ran.

`sequence_diagram(recording)` gives the lines of a mermaid `sequenceDiagram`: one participant
per class whose method ran (in the order they first took part), one arrow per recorded step,
from the step that called it to the step itself, labelled with note 000's number (002's in
parentheses where 000 has none) and the function, and a note where the phase changes. Printed,
it reads as text; in `--markdown` it is a ```mermaid block of its own, which GitHub and most
markdown note tools draw (see sections.markdown).

Nothing here imports a numbered script: it is handed the recording.
"""

FIRST_LINE = "sequenceDiagram"

# A method defined on a base class is drawn on the object it ran on: the session interface is
# one participant whether its own method or its base class's ran.
SAME_PARTICIPANT = {"SecureCookieSessionInterface": "SessionInterface"}

PHASES = {
    "push": "第1步–第2步: the contexts made and pushed",
    "dispatch": "第3步: the view found and run",
    "respond": "the response sent",
    "pop": "第5步: the contexts popped",
}


def participant(step):
    owner = step.func.rsplit(".", 1)[0] if "." in step.func else step.func
    return SAME_PARTICIPANT.get(owner, owner)


def label(step):
    number = step.n000 or (f"({step.n002.split()[0]})" if step.n002 else "")
    return f"{number} {step.func.rsplit('.', 1)[-1]}".strip()


def sequence_diagram(recording, caller="Server"):
    """The lines of a mermaid sequenceDiagram of `recording`'s steps (see the module's doc)."""
    arrows, seen, phase = [], [caller], None

    def draw(items, source):
        nonlocal phase
        for step in items:
            if not hasattr(step, "func"):  # a line (storage, signal, note), not a call
                continue
            target = participant(step)
            if target not in seen:
                seen.append(target)
            if step.phase != phase and step.depth == 0:  # a note across the whole figure
                phase = step.phase
                arrows.append(f"    Note over {caller},{{last}}: {PHASES.get(phase, phase)}")
            arrows.append(f"    {source}->>{target}: {label(step)}")
            draw(step.items, target)

    draw(recording.items, caller)
    head = [FIRST_LINE, f"    participant {caller} as {recording.method} {recording.path}"]
    head += [f"    participant {name}" for name in seen[1:]]
    return head + [arrow.replace("{last}", seen[-1]) for arrow in arrows]
