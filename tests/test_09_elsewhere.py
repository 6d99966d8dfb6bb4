"""09's routes: request read from a new thread, a greenlet and a streamed body, plain and with
Flask's helpers that carry the context there; and 09's narration."""

from conftest import load, run_script

lifecycle = load("05_lifecycle")
elsewhere = load("09_elsewhere")


def both_stacks_empty():
    return lifecycle._request_ctx_stack.top is None and lifecycle._app_ctx_stack.top is None


def test_thread_route_shows_the_copy_under_another_ident():
    client = elsewhere.create_app().test_client()
    lines = client.get("/thread?value=hi").text.splitlines()
    assert lines[1] == "a new thread: RuntimeError: Working outside of request context."
    assert lines[2] == "a new thread, copy_current_request_context: request.args['value'] = 'hi'"
    assert lines[4].endswith("<- the view") and lines[5].endswith("<- the copy, here")
    assert lines[6] == "a greenlet: RuntimeError: Working outside of request context."
    assert lines[-1].startswith("    <greenlet 0x") and lines[-1].endswith("<- the copy, here")


def test_stream_route_without_and_with_context_and_its_recording():
    app = elsewhere.create_app()
    client = app.test_client()
    with client.get("/stream?value=hi") as response:
        assert "RuntimeError: Working outside of request context." in response.text
    with client.get("/stream?value=hi&with_context=1") as response:
        assert response.text == "after the view returned: request.args['value'] = 'hi'\n"
    recording = app.recordings.snapshot()[0]
    numbers = [s.n000 for s in recording.steps if s.n000]
    # stream_with_context pushed the context twice: the 5 of wsgi_app only dropped the refcount,
    # and the teardown (5.1) ran while the body was produced, after the response was returned
    assert numbers.count("2") == 2 and numbers.index("5.1") > numbers.index("5")
    assert both_stacks_empty()


def test_the_narration_shows_both_lessons_and_exits():
    result = run_script("09_elsewhere", "--demo")
    assert result.returncode == 0 and result.stderr == ""
    assert "a greenlet, copy_current_request_context: request.args['value'] = 'hi'" in result.stdout
    assert '/stream?value=hi&with_context=1 -> "after the view returned: request.args' in (
        result.stdout
    )


def test_what_is_made_once_and_what_each_request_makes():
    out = []
    elsewhere.narrate_what_is_made_when(out=out.append)
    assert (
        "the same object both times: app, _request_ctx_stack, _app_ctx_stack, request (a proxy)"
        in out
    )
    assert "new each request: ctx, app_ctx, g" in out


def test_the_lifecycle_page_says_why_a_streamed_request_has_two_pops():
    app = elsewhere.create_app()
    client = app.test_client()
    with client.get("/stream?value=hi&with_context=1") as response:
        response.get_data()
    page = client.get("/lifecycle").get_data(as_text=True)
    assert page.count('data-n000="5"') == 2
    assert "pushed twice" in page and "stream_with_context" in page
    with client.get("/index") as response:
        response.get_data()
    assert "pushed twice" not in client.get("/lifecycle").get_data(as_text=True)


def test_the_notes_falsk_import_fails_and_the_view_reads_its_own_context():
    lines = []
    elsewhere.narrate_what_is_made_when(out=lines.append)
    assert lines[-2:] == [
        "003's `from falsk.globals import _request_ctx_stack` -> ModuleNotFoundError: "
        "No module named 'falsk'",
        "fixed, flask.globals (05's here): in a view, _request_ctx_stack.top -> "
        "<RequestContext 'http://localhost/' [GET] of notes>",
    ]
