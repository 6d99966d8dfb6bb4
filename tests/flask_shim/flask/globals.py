from flask import _app_ctx_stack, _request_ctx_stack, current_app, g, request, session  # noqa: F401
