"""05's other context tools, as Flask 1.1.1 has them: SessionInterface, after_this_request,
RequestContext.copy, the Flask constructor and class attributes; and those of flask111.py, the
layer of Flask 1.1.1's API on 05: the cookie domain from SERVER_NAME, the test client that keeps
a context, copy_current_request_context, stream_with_context, url_for with SERVER_NAME.
tests/test_05_flask111.py runs the same on Flask 1.1.1."""

import threading
import warnings

import pytest
from conftest import load
from greenlet import greenlet

lifecycle = load("05_lifecycle")
flask111 = load("flask111")

OUTSIDE_REQUEST = (
    "Working outside of request context.\n\nThis typically means that you attempted to use "
    "functionality that needed\nan active HTTP request.  Consult the documentation on testing "
    "for\ninformation about how to avoid this problem."
)


def both_stacks_empty():
    return (
        lifecycle._request_ctx_stack._local.__storage__ == {}
        and lifecycle._app_ctx_stack._local.__storage__ == {}
    )


def make_app(**kwargs):
    app = lifecycle.Flask("contexts", **kwargs)
    app.secret_key = "k"
    return app


def make_layer_app():
    """An app of flask111's Flask: 05's, with Flask 1.1.1's wider API."""
    app = flask111.Flask("contexts")
    app.secret_key = "k"
    return app


# --- SessionInterface ---------------------------------------------------------------------


def test_session_interface_base_class():
    base = lifecycle.SessionInterface()
    app = make_app()
    with pytest.raises(NotImplementedError):
        base.open_session(app, None)
    with pytest.raises(NotImplementedError):
        base.save_session(app, None, None)
    assert base.is_null_session(base.make_null_session(app))
    assert not base.is_null_session(lifecycle.SecureCookieSession())
    assert issubclass(lifecycle.SecureCookieSessionInterface, lifecycle.SessionInterface)
    assert "is_null_session" not in vars(lifecycle.SecureCookieSessionInterface)  # 000's 3.4.1.1
    assert (
        base.get_cookie_path(app),
        base.get_cookie_httponly(app),
        base.get_cookie_secure(app),
        base.get_cookie_samesite(app),
    ) == ("/", True, False, None)
    session = lifecycle.SecureCookieSession({"a": 1})
    assert not base.should_set_cookie(app, session)
    assert base.get_expiration_time(app, session) is None
    session.permanent = True
    assert base.should_set_cookie(app, session) and base.get_expiration_time(app, session)


@pytest.mark.parametrize(
    "server_name, domain, warning",
    [
        (None, None, None),
        ("example.com", ".example.com", None),
        ("example.com:5000", ".example.com", None),
        ("localhost:5000", None, '"localhost" is not a valid cookie domain'),
        ("127.0.0.1:5000", "127.0.0.1", "The session cookie domain is an IP address"),
    ],
)
def test_cookie_domain_follows_server_name(server_name, domain, warning):
    app = make_layer_app()
    app.config["SERVER_NAME"] = server_name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert flask111.SecureCookieSessionInterface().get_cookie_domain(app) == domain
    assert [str(w.message)[: len(warning)] for w in caught] == ([warning] if warning else [])


def test_a_session_error_during_push_still_pops_the_context():
    class Broken(lifecycle.SessionInterface):
        def open_session(self, app, request):
            raise RuntimeError("the session store is down")

    app = make_app()
    app.session_interface = Broken()
    app.route("/")(lambda: "never")
    assert app.test_client().get("/").status_code == 500
    assert both_stacks_empty()


# --- the test client, test_request_context ------------------------------------------------


def test_client_with_block_keeps_the_last_context_until_it_ends():
    app = make_layer_app()
    torn_down = []
    app.teardown_request(lambda exc: torn_down.append(flask111.request.path))
    app.route("/a")(lambda: "a")
    with app.test_client() as client:
        client.get("/a?x=1")
        assert flask111.request.args["x"] == "1" and flask111.request.path == "/a"
        assert torn_down == []
        client.get("/a?x=2")  # the next push pops the kept context first (its teardown runs)
        assert torn_down == ["/a"] and flask111.request.args["x"] == "2"
    assert torn_down == ["/a", "/a"] and both_stacks_empty()
    with pytest.raises(RuntimeError, match="Cannot nest"), app.test_client() as c, c:
        pass


def test_05_pops_a_failed_request_even_in_debug_mode():
    app = make_app()
    app.debug = True
    app.add_url_rule("/fail", "fail", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        app.test_client().get("/fail")
    assert both_stacks_empty()  # auto_pop is the notes' `self.pop(exc)`, as in Flask >= 2.2


def test_debug_keeps_the_context_of_a_failed_request():
    """Flask 1.1.1 keeps it (PRESERVE_CONTEXT_ON_EXCEPTION), for the debugger: flask111's."""
    app = make_layer_app()
    app.debug = True
    app.add_url_rule("/fail", "fail", lambda: 1 / 0)
    app.add_url_rule("/ok", "ok", lambda: "ok")
    seen = []
    app.teardown_request(lambda exc: seen.append(repr(exc)))
    client = app.test_client()
    with pytest.raises(ZeroDivisionError):
        client.get("/fail")
    assert lifecycle.request.path == "/fail" and seen == []  # kept for the debugger
    client.get("/ok")
    assert seen == ["ZeroDivisionError('division by zero')", "None"] and both_stacks_empty()


def test_propagate_exceptions_through_the_test_client():
    app = make_app()
    app.route("/")(lambda: 1 / 0)
    assert app.test_client().get("/").status_code == 500
    app.testing = True
    assert app.config["TESTING"] is True
    with pytest.raises(ZeroDivisionError):
        app.test_client().get("/")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert app.test_client().get("/").status_code == 500


def test_test_request_context_takes_environ_builder_arguments():
    app = make_layer_app()
    app.config["SERVER_NAME"] = "example.com"
    with app.test_request_context(
        "/x", method="POST", data={"a": "1"}, query_string="q=2", headers={"X-Y": "z"}
    ):
        assert (
            flask111.request.method,
            flask111.request.form["a"],
            flask111.request.args["q"],
        ) == ("POST", "1", "2")
        assert flask111.request.headers["X-Y"] == "z"
        assert flask111.request.url == "http://example.com/x?q=2"
    with make_layer_app().test_request_context("/y", "https://other.test/"):
        assert flask111.request.url == "https://other.test/y"


# --- after_this_request, copy_current_request_context, stream_with_context -----------------


def test_after_this_request_runs_first_in_registration_order():
    app = make_app()
    order = []

    @app.after_request
    def after(response):
        order.append("after_request")
        return response

    @app.route("/")
    def view():
        for name in ("first", "second"):
            lifecycle.after_this_request(lambda r, name=name: order.append(name) or r)
        return "ok"

    app.test_client().get("/")
    assert order == ["first", "second", "after_request"]
    with pytest.raises(AttributeError):  # as in 1.1.1: no context, no _after_request_functions
        lifecycle.after_this_request(lambda r: r)


def test_copy_current_request_context_in_a_thread_and_a_greenlet():
    with pytest.raises(RuntimeError) as info:
        flask111.copy_current_request_context(lambda: None)
    assert str(info.value) == (
        "This decorator can only be used at local scopes when a request "
        "context is on the stack.  For instance within view functions."
    )
    app = make_layer_app()
    results = {}

    @app.route("/")
    def view():
        flask111.session["who"] = "view"

        def read():
            return flask111.request.args["v"], flask111.session["who"]

        copied = flask111.copy_current_request_context(read)
        thread = threading.Thread(target=lambda: results.update(thread=copied()))
        thread.start()
        thread.join()
        results["greenlet"] = greenlet(copied).switch()
        try:
            greenlet(read).switch()
        except RuntimeError as exc:
            results["plain greenlet"] = str(exc)
        return "ok"

    app.test_client().get("/?v=7")
    assert results == {
        "thread": ("7", "view"),
        "greenlet": ("7", "view"),
        "plain greenlet": OUTSIDE_REQUEST,
    }
    assert both_stacks_empty()


def test_request_context_copy_shares_request_and_session():
    app = make_layer_app()
    with app.test_request_context("/") as ctx:
        copy = ctx.copy()
        assert copy is not ctx and copy.request is ctx.request and copy.session is ctx.session


def test_stream_with_context():
    with pytest.raises(RuntimeError) as info:
        flask111.stream_with_context(iter(["x"]))
    assert str(info.value) == (
        "Attempted to stream with context but there was no context in "
        "the first place to keep around."
    )
    app = make_layer_app()

    @app.route("/plain")
    def plain():
        def gen():
            yield flask111.request.args["v"]

        return flask111.Response(gen())

    @app.route("/kept")
    def kept():
        def gen():
            yield flask111.request.args["v"]

        return flask111.Response(flask111.stream_with_context(gen()))

    @app.route("/decorated")
    def decorated():
        @flask111.stream_with_context
        def gen():
            yield "decorated " + flask111.request.args["v"]

        return flask111.Response(gen())

    client = app.test_client()
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        client.get("/plain?v=1").get_data()
    assert client.get("/kept?v=2").text == "2"
    assert client.get("/decorated?v=3").text == "decorated 3"
    assert both_stacks_empty()


# --- the Flask object ---------------------------------------------------------------------


def test_constructor_arguments_and_class_attributes(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.txt").write_text("asset")

    class MyGlobals(lifecycle._AppCtxGlobals):
        pass

    class MyConfig(lifecycle.Config):
        pass

    class MyResponse(lifecycle.Response):
        default_mimetype = "text/plain"

    class MyFlask(lifecycle.Flask):
        app_ctx_globals_class = MyGlobals
        config_class = MyConfig
        response_class = MyResponse
        testing = True  # a class attribute of 1.1.1 that writes the TESTING config key

    app = MyFlask("ctor", static_folder="assets", static_url_path="/files", root_path=str(tmp_path))
    assert app.root_path == str(tmp_path) and isinstance(app.config, MyConfig)
    assert app.test_client().get("/files/a.txt").text == "asset"
    app.route("/")(lambda: "x")
    assert app.test_client().get("/").headers["Content-Type"].startswith("text/plain")
    with app.app_context():
        assert isinstance(lifecycle.g._get_current_object(), MyGlobals)
        assert repr(lifecycle.g) == "<flask.g of 'ctor'>"
    app.secret_key, app.session_cookie_name = "s", "sid"
    assert (app.config["SECRET_KEY"], app.config["SESSION_COOKIE_NAME"]) == ("s", "sid")
    assert (
        lifecycle.Flask.request_class is lifecycle.Request
        and lifecycle.Flask.response_class is lifecycle.Response
    )


def test_url_for_in_an_app_context_needs_server_name():
    app = make_layer_app()
    app.route("/item/<int:n>")(lambda n: str(n))
    with app.app_context(), pytest.raises(RuntimeError) as info:
        flask111.url_for("<lambda>", n=1)
    assert str(info.value) == (
        "Application was not able to create a URL adapter for request independent URL "
        "generation. You might be able to fix this by setting the SERVER_NAME config variable."
    )
    app.config["SERVER_NAME"] = "example.com"
    with app.app_context():
        assert flask111.url_for("<lambda>", n=1) == "http://example.com/item/1"


def test_request_carries_what_url_matching_found():
    app = make_app()
    app.route("/item/<int:n>")(lambda n: str(n))
    with app.test_request_context("/item/5"):
        assert (lifecycle.request.url_rule.rule, lifecycle.request.view_args) == (
            "/item/<int:n>",
            {"n": 5},
        )
        assert lifecycle.request.routing_exception is None
    with app.test_request_context("/nowhere"):
        assert (
            lifecycle.request.url_rule is None and lifecycle.request.routing_exception.code == 404
        )


def test_preprocess_and_process_response_on_their_own():
    app = make_app()
    app.before_request(lambda: "from before")
    app.after_request(lambda r: r.headers.__setitem__("X-After", "1") or r)
    with app.test_request_context("/"):
        assert app.preprocess_request() == "from before"
        response = app.process_response(lifecycle.Response("x"))
        assert response.headers["X-After"] == "1"
