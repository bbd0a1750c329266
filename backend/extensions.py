"""Extensions, created unbound and bound to the app in ``create_app``.

The OpenAPI registry (flask-smorest ``Api``) holds per-app state (the spec), so one is
made per app by ``new_api``; the rest are shared singletons.
"""
from __future__ import annotations

from functools import wraps

import flask_limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from backend.models.base import Base

# Objects stay readable after the request's commit (no reload per attribute); each
# request and job gets a fresh session, so nothing stale outlives it.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter's, except that a route it limits runs straight through while
    limiting is off (``RATELIMIT_ENABLED=false``, e.g. for benchmarks): Flask-Limiter
    would still look up and evaluate the route's (then empty) limits on each call."""

    def limit(self, *args, **kwargs):
        decorator = super().limit(*args, **kwargs)

        def decorate(fn):
            limited = decorator(fn)
            if not callable(fn) or limited is None:  # a Blueprint: limits registered
                return limited

            @wraps(limited)
            def view(*a, **k):
                return limited(*a, **k) if self.enabled else fn(*a, **k)

            return view

        return decorate


limiter = Limiter(key_func=get_remote_address, default_limits=[])


def new_api(app) -> Api:
    api = Api(app, spec_kwargs={
        "info": {"description": "小区物业服务平台 API（报事报修、维修资金表决、物业费、客服）"},
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "token"}
    )
    api.spec.options["security"] = [{"bearerAuth": []}]
    from backend.routes.common import ErrorSchema

    api.ERROR_SCHEMA = ErrorSchema
    return api
