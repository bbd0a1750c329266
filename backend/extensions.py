"""Extensions, created unbound and bound to the app in ``create_app``.

The OpenAPI registry (flask-smorest ``Api``) holds per-app state (the spec), so one is
made per app by ``new_api``; the rest are shared singletons.
"""
from __future__ import annotations

from flask import current_app
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from backend.models.base import Base

# Objects stay readable after the request's commit (no reload per attribute); each
# request and job gets a fresh session, so nothing stale outlives it.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


limiter = Limiter(key_func=get_remote_address, default_limits=[])
compress = Compress()


@limiter.request_filter
def _limits_off_for_this_app() -> bool:
    """The limiter is one object for the process and keeps the settings of the app
    bound to it last; each app's own RATELIMIT_ENABLED decides for its requests."""
    return not current_app.config["RATELIMIT_ENABLED"]


def init_limiter_errors(app) -> None:
    """A rate limit that cannot be checked (Redis down, RATELIMIT_SWALLOW_ERRORS off in
    production) fails closed: 503 with a Chinese message and one clear log line, never
    a per-process count that several servers would each keep."""
    from limits.errors import StorageError as LimitsStorageError
    from redis.exceptions import RedisError

    from backend.errors import error_response

    def unavailable(exc):
        app.logger.error("rate limit storage unreachable (RATELIMIT_STORAGE_URI), "
                         "refusing the request: %s", exc)
        response = error_response(503, "rate_limit_unavailable", "系统繁忙，请稍后再试")
        response.headers["Retry-After"] = "30"
        return response

    app.register_error_handler(RedisError, unavailable)
    app.register_error_handler(LimitsStorageError, unavailable)


def init_compression(app) -> None:
    """Text responses (pages' HTML, CSS, JS, SVG and the API's JSON) compressed for
    clients that accept it: brotli, else gzip; under 500 bytes they go as they are.
    The pages' files are streamed from disk, so they are compressed as they stream and
    their conditional requests (ETag per encoding) are evaluated after compression.
    An nginx in front may compress instead (README); it leaves encoded responses be."""
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMING_ENDPOINT_CONDITIONAL",
                          ["pages.app_file", "pages.versioned_file"])
    compress.init_app(app)


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


def redis_client():
    """The app's one Redis client (REDIS_URL), or None when jobs run inline.

    Timeouts are short and a failed command is not retried: every caller (the outbox
    relay, the periodic lock, the WeChat push's nonce guard, wechatpy's token store)
    must keep working, or fail fast, while Redis is down. Rate limits use the same
    server through Flask-Limiter's own storage (RATELIMIT_STORAGE_URI)."""
    from flask import current_app

    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("redis")
    if client is None:
        from redis import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = current_app.extensions["redis"] = Redis.from_url(
            url, socket_connect_timeout=0.25, socket_timeout=1.0,
            retry=Retry(NoBackoff(), 0), health_check_interval=30)
    return client
