from flask import EnvironBuilder, FlaskClient, make_test_environ_builder  # noqa: F401

FlaskCliRunner = None  # the `flask` command is left out
