"""07_flask_basics: the notes' blocks that use a Flask app, run on 05's Flask: 内容回顾 2 (wsgi),
003 一 (config), 二 (routes), 三/四 (blueprints, subdomains), and the bugs in the notes' copies
of Flask's source, each shown failing the way the notes' text would mislead, next to the fixed
version that works."""

import re
from datetime import timedelta

import pytest
from conftest import ROOT, load, run_script
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder

from instruments import served_once, version_table

lifecycle = load("05_lifecycle")
flask111 = load("flask111")
basics = load("07_flask_basics")


def both_stacks_empty():
    return (
        lifecycle._request_ctx_stack._local.__storage__ == {}
        and lifecycle._app_ctx_stack._local.__storage__ == {}
    )


# --- 内容回顾 2, 003 一 -------------------------------------------------------------------


def test_the_two_wsgi_apps_answer_over_http():
    from wsgiref.simple_server import make_server as wsgiref_make_server

    assert served_once.serve_once(
        lambda a: wsgiref_make_server("127.0.0.1", 0, a), basics.wsgiref_app
    ) == (
        200,
        "<h1>Hello, web!</h1>",
    )
    assert served_once.serve_once(
        lambda a: make_server("127.0.0.1", 0, a), basics.werkzeug_app
    ) == (
        200,
        "你好",
    )
    with pytest.raises(ImportError):
        exec("from werkzeug.wrappers import BaseResponse", {})


def test_app_run_reaches_run_simple_and_the_view_is_called_through_it():
    """7.1 运行flask: the printed run serves one request through `app.run()`, and the view's
    own call stack shows app.run -> run_simple -> ... -> wsgi_app."""
    lines = []
    basics.narrate_wsgi(out=lines.append)
    at = lines.index("app.run('127.0.0.1', port) -> GET / -> 200 'hello'; the view was called by:")
    assert (
        lines[at + 1] == "  app.run -> run_simple -> serve_forever -> handle -> run_wsgi -> execute"
    )
    assert lines[at + 2] == (
        "  -> app.__call__ -> app.wsgi_app -> app.full_dispatch_request -> app.dispatch_request"
        " -> the view"
    )
    assert both_stacks_empty()


def test_config_principle_equals_from_object(capsys):
    basics.narrate_config_principle()
    out = capsys.readouterr().out
    assert "takes the same: True" in out and "'SECRET_KEY': '05-lifecycle-demo-secret'" in out


# --- 003 二 routes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, status, body",
    [
        ("/", 200, "index"),
        ("/index", 200, "index"),
        ("/user/alex", 200, "username='alex' (str)"),
        ("/post/7", 200, "post_id=7 (int)"),
        ("/post/x", 404, None),
        ("/price/9.5", 200, "value=9.5 (float)"),
        ("/file/a/b.txt", 200, "subpath='a/b.txt' (str)"),
        (
            "/uuid/12345678-1234-5678-1234-567812345678",
            200,
            "uid=UUID('12345678-1234-5678-1234-567812345678') (UUID)",
        ),
        ("/lang/en", 200, "lang='en' (str)"),
        ("/lang/fr", 404, None),
        ("/phone/13812345678", 200, "number='13812345678' (str)"),
        ("/phone/12345678901", 404, None),
        ("/loose", 200, "loose"),
        ("/loose/", 200, "loose"),
        ("/strict/", 200, "strict"),
        ("/users", 200, "GET users"),
    ],
)
def test_routing_app(path, status, body):
    response = basics.routing_app().test_client().get(path)
    assert response.status_code == status
    if body is not None:
        assert response.text == body


@pytest.mark.parametrize(
    "path, location",
    [
        ("/strict", "http://localhost/strict/"),
        ("/old/5", "http://localhost/home/5"),
        ("/older/5", "http://localhost/home/1005"),
    ],
)
def test_strict_slashes_and_redirect_to(path, location):
    response = basics.routing_app().test_client().get(path)
    assert (response.status_code, response.headers["Location"]) == (308, location)


def test_class_based_views_and_automatic_options():
    app = basics.routing_app()
    client = app.test_client()
    assert client.post("/users").text == "POST users"
    assert client.delete("/users").status_code == 405
    assert set(client.open("/users", method="OPTIONS").headers["Allow"].split(", ")) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "POST",
    }
    assert client.open("/no-options", method="OPTIONS").status_code == 405
    view = app.view_functions["users"]
    assert view.view_class.__name__ == "UserAPI" and view.methods == {"GET", "POST"}
    assert "class_args" in view.__code__.co_freevars  # as_view returns a closure


def test_a_decorator_without_wraps_makes_views_collide():
    app = lifecycle.Flask("decorated")
    app.route("/a")(basics.login_required(lambda: "a", keep_name=False))
    with pytest.raises(AssertionError, match="overwriting an existing endpoint function: inner"):
        app.route("/b")(basics.login_required(lambda: "b", keep_name=False))

    def page_b():
        return "b"

    fixed = lifecycle.Flask("decorated")
    fixed.route("/a")(basics.login_required(lambda: "a"))
    fixed.route("/b")(basics.login_required(page_b))  # with wraps: the endpoint is page_b
    assert fixed.test_client().get("/b").text == "b" and "page_b" in fixed.view_functions


def test_options_is_not_a_keyword_methods_is():
    with pytest.raises(TypeError, match="options"):
        lifecycle.Flask("x").add_url_rule("/x", "x", lambda: "x", options=["GET", "POST"])
    app = lifecycle.Flask("x")
    app.add_url_rule("/x", "x", lambda: "x", methods=["GET", "POST"])
    assert app.test_client().post("/x").text == "x"


# --- 003 三/四 blueprints and subdomains --------------------------------------------------


def test_blueprint_static_folder_and_url_prefix(tmp_path):
    for folder, files in (("static", {"a.txt": "app"}), ("bp", {"a.txt": "bp", "b.txt": "bp b"})):
        (tmp_path / folder).mkdir()
        for name, text in files.items():
            (tmp_path / folder / name).write_text(text)
    app = lifecycle.Flask("crm", root_path=str(tmp_path))
    ac = lifecycle.Blueprint("ac", "crm", static_folder="bp", root_path=str(tmp_path))
    app.register_blueprint(ac, url_prefix="/xxxx")
    same = lifecycle.Blueprint(
        "same", "crm", static_folder="bp", static_url_path="/static", root_path=str(tmp_path)
    )
    app.register_blueprint(same)
    client = app.test_client()
    assert client.get("/xxxx/static/b.txt").text == "bp b"
    assert client.get("/static/a.txt").text == "app"  # the app's rule comes first
    assert client.get("/static/b.txt").status_code == 404  # and there is no fallback
    with pytest.raises(AttributeError):
        app.register_blurprint(ac)  # 003's typo


def test_subdomains_fixed_and_wildcard_with_server_name():
    app = lifecycle.Flask("subdomains")
    app.config["SERVER_NAME"] = "example.com"
    public, member = lifecycle.Blueprint("public", "s"), lifecycle.Blueprint("member", "s")
    public.route("/")(lambda: "hello flask")
    member.route("/")(lambda subdomain: f"member {subdomain}")
    app.register_blueprint(public, subdomain="public")
    app.register_blueprint(member, subdomain="<subdomain>")
    client = app.test_client()
    assert client.get("/", base_url="http://public.example.com").text == "hello flask"
    assert client.get("/", base_url="http://alice.example.com").text == "member alice"
    assert client.get("/", base_url="http://example.com").status_code == 404


def test_two_views_named_login_on_one_blueprint_collide():
    bp = lifecycle.Blueprint("ac", "crm")
    for text in ("first", "second"):
        bp.route("/login")(basics._named("login", lambda text=text: text))
    with pytest.raises(AssertionError, match="ac.login"):
        lifecycle.Flask("crm").register_blueprint(bp)


# --- the notes' copies of Flask's source ------------------------------------------------


def test_the_notes_wsgi_app_leaves_error_unbound_and_the_context_pushed():
    app = lifecycle.Flask("bugs")
    app.route("/")(lambda: "ok")
    with pytest.raises(UnboundLocalError):
        basics._notes_wsgi_app(app, EnvironBuilder("/").get_environ(), lambda *a: None)
    leftover = lifecycle._request_ctx_stack.top
    assert leftover is not None  # never popped
    leftover.pop()
    assert both_stacks_empty()
    assert b"".join(app(EnvironBuilder("/").get_environ(), lambda *a: None)) == b"ok"


def test_no_secret_key_fails_on_write_not_at_push():
    app = lifecycle.Flask("nokey")
    app.testing = True
    app.add_url_rule("/read", "read", lambda: repr(lifecycle.session.get("x")))
    app.add_url_rule("/write", "write", lambda: lifecycle.session.__setitem__("x", 1) or "w")
    client = app.test_client()
    assert client.get("/read").text == "None"
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/write")


def test_the_notes_push_indentation_loses_the_request_inside_an_app_context():
    app = lifecycle.Flask("indent")
    app.request_context_class = basics.NotesPushRequestContext
    with app.app_context():
        ctx = app.test_request_context("/x")
        ctx.push()
        assert not flask111.has_request_context()
        ctx._implicit_app_ctx_stack.pop()
    fixed = lifecycle.Flask("indent")
    with fixed.app_context(), fixed.test_request_context("/x"):
        assert lifecycle.request.path == "/x"


@pytest.mark.parametrize(
    "cls, first_runs, after_ran",
    [
        (basics.NotesFirstRequestFlask, 3, True),
        (basics.NotesProcessResponseFlask, 1, False),
        (lifecycle.Flask, 1, True),
    ],
    ids=["notes 3.1", "notes 3.4.1", "fixed"],
)
def test_before_first_request_flag_and_the_apps_after_request(cls, first_runs, after_ran):
    app = cls("first")
    calls = []
    app.before_first_request(lambda: calls.append(1))
    app.after_request(lambda r: r.headers.__setitem__("X-After", "ran") or r)
    app.route("/")(lambda: "ok")
    answers = [app.test_client().get("/") for _ in range(3)]
    assert len(calls) == first_runs
    assert (answers[0].headers.get("X-After") == "ran") is after_ran


def test_removed_apis_are_absent():
    app = lifecycle.Flask("apis")
    assert not hasattr(app, "open_session") and not hasattr(app, "save_session")
    assert app.session_cookie_name == "session"  # 1.1.1 has it (Flask 2.3 removed it)


def test_the_narration_prints_the_same_every_run():
    first = run_script("07_flask_basics")
    assert first.returncode == 0 and first.stderr == ""
    masked = re.sub(r"0x[0-9a-f]+", "0x…", first.stdout)
    assert masked == (ROOT / "tests" / "snapshots" / "07_demo.txt").read_text("utf-8")
    assert max(len(line) for line in first.stdout.splitlines()) <= 100


# --- 补充：自定义session --------------------------------------------------------------------


def test_server_side_session_interface_keeps_data_on_the_server():
    app = lifecycle.create_app()
    app.session_interface = interface = basics.ServerSideSessionInterface()
    client = app.test_client()
    assert [client.get("/session").text for _ in range(3)] == ["1", "2", "3"]
    sid = client.get_cookie("session").value
    assert interface.store == {sid: {"counter": 3}} and "counter" not in sid
    assert client.post("/session").text == "reset" and interface.store == {}
    forged = app.test_client()
    forged.set_cookie("session", "forged")
    assert forged.get("/session").text == "1"


def test_server_side_sessions_expire_and_memory_holds_a_bounded_number():
    app = lifecycle.create_app()
    app.session_interface = interface = basics.ServerSideSessionInterface()
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=-1)  # stored expired
    client = app.test_client()
    assert [client.get("/session").text for _ in range(2)] == ["1", "1"]  # never found again
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=1)
    interface.max_sessions = 3
    clients = [app.test_client() for _ in range(5)]
    for c in clients:
        assert c.get("/session").text == "1"
    assert len(interface.store) == 3  # the two saved first were dropped
    answers = [c.get("/session").text for c in reversed(clients)]
    assert answers == ["2", "2", "2", "1", "1"]  # the last three were kept


# --- issue 18: the notes' pops, and where a view's decorator goes ---------------------------


def test_a_decorator_above_route_is_never_run():
    client = basics.decorator_placement_app().test_client()
    assert (client.get("/below").status_code, client.get("/above").status_code) == (401, 200)
    assert client.get("/below?user=alex").text == "the view ran"


def test_the_notes_request_context_pop_raises_and_leaves_the_app_context():
    app = lifecycle.Flask("pops")
    app.route("/")(lambda: "ok")
    app.request_context_class = basics.NotesPopRequestContext
    with pytest.raises(NameError, match="app_ctx"):
        app.test_client().get("/")
    left = lifecycle._app_ctx_stack.top
    assert left is not None and left.app is app
    left.pop()


def test_the_notes_app_context_pop_tears_down_nothing_and_pops_nothing():
    assert basics.compiled("000_step_5_2_app_context_pop") == (
        "line 8: expected 'except' or 'finally' block"
    )
    app = lifecycle.Flask("pops")
    torn_down = []
    app.teardown_appcontext(lambda exc: torn_down.append(exc))
    app.app_context_class = basics.NotesPopAppContext
    with app.app_context() as ctx:
        pass
    assert torn_down == [] and lifecycle._app_ctx_stack.top is ctx
    lifecycle._app_ctx_stack.pop()
    assert lifecycle._app_ctx_stack.top is None


def test_the_names_flask_dropped_are_gone_from_the_flask_installed_here():
    import flask
    import flask.helpers

    assert not hasattr(flask.Flask, "open_session") and not hasattr(flask.Flask, "save_session")
    assert not hasattr(flask.Flask, "session_cookie_name")
    assert not hasattr(flask.helpers, "total_seconds")
    out = run_script("07_flask_basics").stdout
    assert "the notes' `app.session_cookie_name`: ✓ 1.1.1–2.1, ⚠ 2.2, ✗ 2.3–3.1\n" in out
    assert "  -> `app.session_interface.open_session(app, request)`\n" in out
    for name in basics.NAMES_SINCE_1_1_1:
        assert version_table.first(name, version_table.FAILED) is not None, name


def test_the_sessions_narration_reads_forges_and_expires_the_cookie():
    out = []
    basics.narrate_sessions(out=out.append)
    text = "\n".join(out)
    for expected in (
        "GET /session with that cookie -> '2' (open_session read it)",
        'its first part is JSON in base64, which anyone can read: {"counter":1}',
        "that part changed to counter 99 -> '1': BadSignature",
        "-> '1': SignatureExpired",
    ):
        assert expected in text, expected


# --- the notes' blocks that are not Python as printed --------------------------------------

NOTES = ROOT.parent / "shared" / "notes"


def test_each_block_not_python_as_printed_says_its_own_error_and_05s_runs_in_its_place():
    lines = []
    basics.narrate_as_printed(out=lines.append)
    text = "\n".join(lines)
    assert "as printed, 6 of 7 in notes_as_printed/ fail first on the" in text
    for row in (
        "  Flask.run                line 6: expected 'except' or 'finally' block",
        "  RequestContext.push      line 17: unterminated string literal",
        "  Flask.finalize_request   line 7: expected 'except' or 'finally' block",
        "  Flask.process_response   line 10: invalid syntax",
        "  RequestContext.auto_pop  line 3: invalid syntax",
        "  RequestContext.pop       line 7: unindent does not match any outer indentation level",
        "  AppContext.pop           line 8: expected 'except' or 'finally' block",
    ):
        assert row in lines, row
    assert lines[-2:] == [
        "  Flask.run -> RequestContext.push -> Flask.finalize_request -> Flask.process_response",
        "  -> RequestContext.auto_pop -> RequestContext.pop -> AppContext.pop",
    ]
    assert both_stacks_empty()


@pytest.mark.skipif(not NOTES.is_dir(), reason="the notes are not in the repo")
def test_each_block_in_notes_as_printed_is_in_the_notes_verbatim():
    notes = (next(NOTES.glob("000_*.txt"))).read_text("utf-8")
    for name in basics.AS_PRINTED:
        block = (ROOT / "notes_as_printed" / f"{name}.txt").read_text("utf-8")
        assert block in notes, name


def test_routing_prints_the_options_that_cause_what_the_requests_show():
    lines = []
    basics.narrate_routing(out=lines.append)
    for line in (
        "  add_url_rule('/loose', 'loose', strict_slashes=False)",
        "  add_url_rule('/old/<int:nid>', 'old', redirect_to='/home/<nid>')",
        "  add_url_rule('/older/<int:nid>', 'older', redirect_to=<lambda>)",
    ):
        assert line in lines, line
    assert not any("'/strict/'" in line for line in lines if "add_url_rule" in line)


def test_the_apps_before_request_runs_for_every_request_a_blueprints_for_its_own():
    lines = []
    basics.narrate_blueprints(out=lines.append)
    added = "['/xxxx/login', '/xxxx/static/<path:filename>']"
    assert f"  register_blueprint(ac, url_prefix='/xxxx') added {added}" in lines
    assert '  GET /static/a.txt  before_request ran: ["app\'s"]' in lines
    assert '  GET /xxxx/login    before_request ran: ["app\'s", "ac\'s"]' in lines


def test_the_notes_3_4_1_runs_after_this_request_but_not_the_apps_after_request():
    lines = []
    basics.narrate_notes_process_response(out=lines.append)
    assert lines[-2:] == [
        "the notes' 3.4.1: GET / -> after_this_request ran: True; app's after_request: False",
        "fixed           : GET / -> after_this_request ran: True; app's after_request: True",
    ]


def test_the_custom_session_says_what_flask_session_would_do_and_why_it_is_left_out():
    lines = []
    basics.narrate_custom_session(out=lines.append)
    assert lines[-2:] == [
        "003's flask-session: Session(app) sets one like it from SESSION_TYPE (Redis, files, ...);",
        "  not installed here, a library of stores (and the notes pip-install falsk-session)",
    ]


def test_templates_use_the_apps_functions_pythons_syntax_and_the_apps_folder_first():
    """内容回顾 5 and 10, and 003 三's lookup order, on flask111's templates (which
    tests/flask111_app_cases.py checks against Flask 1.1.1)."""
    lines = []
    basics.narrate_templates(out=lines.append)
    for line in (
        "  -> '3 6'",
        "  -> '[2, 3] v yes'",
        "  -> '/ &lt;b&gt;'",
        "GET /ac/page, ac's view: render_template('page.html') -> \"the app's page.html\"",
        "   ['/static/<path:filename>'] (the app's alone)",
    ):
        assert line in lines, line
    assert both_stacks_empty()
