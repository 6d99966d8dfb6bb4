from flask import (  # noqa: F401
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
    lifecycle,
)

SessionMixin = lifecycle.SessionMixin
