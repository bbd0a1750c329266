"""Security headers on every response, and a CSP for the mini-program mock pages.

Added where the response leaves the app (WSGI ``start_response``), to the plain list
of header pairs: any a route set itself is kept, the rest are appended. This covers
every response, error pages and static files included."""
from __future__ import annotations

from flask import request

CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", CSP),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_LOWER = tuple((name.lower(), (name, value)) for name, value in HEADERS)


def with_security_headers(wsgi_app):
    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(pair for lower, pair in _LOWER if lower not in present)
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return app


def init_app(app) -> None:
    app.wsgi_app = with_security_headers(app.wsgi_app)

    @app.after_request
    def _no_store(response):
        # API answers carry tokens and personal data (login, /me, bills, chat):
        # never kept by a browser or a proxy, unless a route says otherwise (photos)
        if request.path.startswith("/api/") and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
