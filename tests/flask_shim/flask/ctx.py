from flask import (  # noqa: F401
    AppContext,
    RequestContext,
    after_this_request,
    copy_current_request_context,
    has_app_context,
    has_request_context,
    lifecycle,
)

_AppCtxGlobals = lifecycle._AppCtxGlobals
