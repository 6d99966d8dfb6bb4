from flask import (  # noqa: F401
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)

signals_available = True
template_rendered = before_render_template = message_flashed = None  # left out
