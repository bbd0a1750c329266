"""Request-level authentication: the bearer token → ``current_user()``, and the
decorators routes use to require a login or a role. Object-level checks live in
backend/services/permissions.py."""
from __future__ import annotations

from functools import wraps

from flask import g, request

from backend.errors import Forbidden, Unauthorized
from backend.models import Role, User
from backend.services import auth as auth_service
from backend.services.permissions import community_ids_with

API_PREFIX = "/api/v1/"


def current_user(optional: bool = False) -> User | None:
    """The signed-in caller: the ORM ``User``, loaded once per request with its
    staff roles and room bindings (``services.auth.load_user``)."""
    if "current_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            if optional:
                return None
            raise Unauthorized()
        g.current_user = auth_service.user_from_token(token.strip())
    return g.current_user


def login_required(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        current_user()
        return fn(*args, **kwargs)

    return wrapper


def roles_required(*roles: Role | str):
    """The caller must hold one of ``roles`` in at least one community (403 if not).
    Routes then limit what they show to ``community_ids_with(user, *roles)``."""

    def decorate(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = current_user()
            if not community_ids_with(user, *roles):
                raise Forbidden()
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def init_app(app) -> None:
    @app.before_request
    def _sign_in_before_reading_the_body():
        """Every API route but those marked ``Blueprint.public`` needs a valid token,
        checked before anything reads the body: a stranger cannot make us parse
        megabytes. JSON bodies are capped small (JSON_MAX_BYTES); only multipart
        uploads get MAX_CONTENT_LENGTH. Over the cap is 413 from the declared
        length, before the body is read."""
        if not request.path.startswith(API_PREFIX):
            return
        if request.mimetype != "multipart/form-data":
            request.max_content_length = min(app.config["JSON_MAX_BYTES"],
                                             app.config["MAX_CONTENT_LENGTH"])
        view = app.view_functions.get(request.endpoint)
        if view is not None and not getattr(view, "is_public", False):
            current_user()
