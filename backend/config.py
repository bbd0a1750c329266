"""Settings, read from the environment in one place.

Order of precedence in ``create_app``: the defaults here, then the environment,
then the ``config`` mapping passed to the factory (tests use that).
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SECRET = "dev-secret-change-me"
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 12
BASE_DIR = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    return int(value) if value not in (None, "") else default


def from_environment(env: os._Environ | dict | None = None) -> dict:
    """Every setting the app reads, with its default. README.md lists them all."""
    env = os.environ if env is None else env
    instance = Path(env.get("INSTANCE_DIR") or BASE_DIR / "instance")
    app_env = env.get("APP_ENV", "development")
    return {
        "APP_ENV": app_env,
        "SECRET_KEY": env.get("SECRET_KEY", DEFAULT_SECRET),
        "INSTANCE_DIR": str(instance),
        "DATABASE_URL": env.get("DATABASE_URL") or "",
        "REDIS_URL": env.get("REDIS_URL") or None,
        "MEDIA_DIR": env.get("MEDIA_DIR") or str(instance / "media"),
        "STORAGE_BACKEND": env.get("STORAGE_BACKEND", "local"),
        # s3: any S3-compatible bucket (Aliyun OSS, Tencent COS, MinIO)
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "S3_BUCKET": env.get("S3_BUCKET", ""),
        "S3_REGION": env.get("S3_REGION", ""),
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID", ""),
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY", ""),
        "S3_ADDRESSING_STYLE": env.get("S3_ADDRESSING_STYLE", "path"),
        # app: files stream through the app; presigned: 302 to a short-lived bucket URL
        "STORAGE_SERVE": env.get("STORAGE_SERVE", "app"),
        "STORAGE_PRESIGNED_EXPIRES": _int(env.get("STORAGE_PRESIGNED_EXPIRES"), 300),
        "WECHAT_APPID": env.get("WECHAT_APPID", ""),
        "WECHAT_SECRET": env.get("WECHAT_SECRET", ""),
        "WECHAT_TOKEN": env.get("WECHAT_TOKEN", ""),
        "WECHAT_AES_KEY": env.get("WECHAT_AES_KEY") or None,
        # Subscribe-message template ids, per event kind ("ticket_status", ...).
        "WECHAT_TEMPLATE_TICKET": env.get("WECHAT_TEMPLATE_TICKET", ""),
        # 退款成功通知: amount1 退款金额, character_string2 订单号, time3 退款时间, thing4 房屋
        "WECHAT_TEMPLATE_PAYMENT": env.get("WECHAT_TEMPLATE_PAYMENT", ""),
        "WECHAT_TEMPLATE_FUND": env.get("WECHAT_TEMPLATE_FUND", ""),
        "WECHAT_TEMPLATE_NOTICE": env.get("WECHAT_TEMPLATE_NOTICE", ""),
        # the mini-program page a subscribe message opens (it routes by ?link=)
        "WECHAT_ENTRY_PAGE": env.get("WECHAT_ENTRY_PAGE", "pages/index/index"),
        # where residents open the app: the QR code on a printed ballot sheet links here
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "DEV_LOGIN": _bool(env.get("DEV_LOGIN"), app_env != "production"),
        "TOKEN_TTL_SECONDS": _int(env.get("TOKEN_TTL_SECONDS"), 7 * 24 * 3600),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "10 per minute"),
        "HOUSEHOLD_INVITE_TTL_HOURS": _int(env.get("HOUSEHOLD_INVITE_TTL_HOURS"), 24),
        "RATELIMIT_ASK": env.get("RATELIMIT_ASK", "30 per minute"),
        "MAX_PHOTO_BYTES": _int(env.get("MAX_PHOTO_BYTES"), 10 * 1024 * 1024),
        "MAX_PHOTOS": 9,
        # every request body but a multipart upload (JSON: a few KB in practice)
        "JSON_MAX_BYTES": _int(env.get("JSON_MAX_BYTES"), 64 * 1024),
        "SERVE_MINIAPP": _bool(env.get("SERVE_MINIAPP"), True),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # reverse proxies in front of the app that set X-Forwarded-For/-Proto (nginx: 1);
        # 0 trusts none: the client is the socket's peer
        "PROXY_FIX_HOPS": _int(env.get("PROXY_FIX_HOPS"), 0),
        # Owner chat and the bot (backend/bot, services/chat.py, routes/wechat_callback.py).
        "BOT_RULES_PATH": env.get("BOT_RULES_PATH") or None,  # default: backend/bot/rules.yaml
        "CHAT_IDLE_RELEASE_MINUTES": _int(env.get("CHAT_IDLE_RELEASE_MINUTES"), 30),
        "CHAT_WAITING_EXPIRE_HOURS": _int(env.get("CHAT_WAITING_EXPIRE_HOURS"), 24),
        "WECHAT_MAX_PUSH_BYTES": _int(env.get("WECHAT_MAX_PUSH_BYTES"), 64 * 1024),
        "WECHAT_TIMESTAMP_WINDOW": _int(env.get("WECHAT_TIMESTAMP_WINDOW"), 300),
        # the push's database work is over within this many seconds of its arrival, or
        # it is rolled back and answered 503 for WeChat to retry (WeChat gives up at 5 s)
        "WECHAT_REPLY_BUDGET_SECONDS": float(env.get("WECHAT_REPLY_BUDGET_SECONDS") or 3.5),
        # the bot's answer in the push's response; off (a real mini-program): "success",
        # and the answer follows as a customer-service message
        "WECHAT_PASSIVE_REPLY": _bool(env.get("WECHAT_PASSIVE_REPLY"), True),
        # Tickets (报事报修): service levels (DOMAIN.md defaults) and photo processing.
        "TICKET_ACCEPT_MINUTES": _int(env.get("TICKET_ACCEPT_MINUTES"), 30),
        "TICKET_URGENT_REPAIR_HOURS": _int(env.get("TICKET_URGENT_REPAIR_HOURS"), 4),
        "TICKET_REPAIR_HOURS": _int(env.get("TICKET_REPAIR_HOURS"), 24),
        "TICKET_COMPLAINT_HOURS": _int(env.get("TICKET_COMPLAINT_HOURS"), 24),
        "TICKET_AUTO_CLOSE_DAYS": _int(env.get("TICKET_AUTO_CLOSE_DAYS"), 3),
        "PHOTO_MAX_PIXELS": _int(env.get("PHOTO_MAX_PIXELS"), 40_000_000),
        "PHOTO_DISPLAY_PX": _int(env.get("PHOTO_DISPLAY_PX"), 1280),
        "PHOTO_THUMB_PX": _int(env.get("PHOTO_THUMB_PX"), 320),
        "PHOTO_KEEP_ORIGINALS": _bool(env.get("PHOTO_KEEP_ORIGINALS"), False),
        "ATTACHMENT_MAX_BYTES": _int(env.get("ATTACHMENT_MAX_BYTES"), 10 * 1024 * 1024),
        "ATTACHMENT_MAX_PAGES": _int(env.get("ATTACHMENT_MAX_PAGES"), 200),
        "ATTACHMENT_IMAGE_PX": _int(env.get("ATTACHMENT_IMAGE_PX"), 2560),
        "RATELIMIT_TICKETS": env.get("RATELIMIT_TICKETS", "30 per hour"),
        # WeChat Pay API v3 (backend/wechatpay.py); the app id is WECHAT_APPID
        "PAYMENT_ENABLED": _bool(env.get("PAYMENT_ENABLED"), False),
        # development only: no WeChat; the pay page's confirmation posts a signed notice
        # (unset: on while DEV_LOGIN is, outside production; see finalise)
        "PAYMENT_DEV_STANDIN": _bool(env.get("PAYMENT_DEV_STANDIN"), None),
        "WECHATPAY_MCHID": env.get("WECHATPAY_MCHID", ""),
        "WECHATPAY_SERIAL_NO": env.get("WECHATPAY_SERIAL_NO", ""),
        "WECHATPAY_PRIVATE_KEY_PATH": env.get("WECHATPAY_PRIVATE_KEY_PATH", ""),
        "WECHATPAY_APIV3_KEY": env.get("WECHATPAY_APIV3_KEY", ""),
        "WECHATPAY_PUBLIC_KEY_PATH": env.get("WECHATPAY_PUBLIC_KEY_PATH", ""),
        "WECHATPAY_PUBLIC_KEY_ID": env.get("WECHATPAY_PUBLIC_KEY_ID", ""),
        "WECHATPAY_NOTIFY_URL": env.get("WECHATPAY_NOTIFY_URL", ""),
        "PAYMENT_PENDING_MINUTES": _int(env.get("PAYMENT_PENDING_MINUTES"), 15),
    }


def finalise(config: dict) -> dict:
    """Derive settings that depend on others and refuse unsafe production setups."""
    if config.get("PAYMENT_DEV_STANDIN") is None:
        config["PAYMENT_DEV_STANDIN"] = bool(config["DEV_LOGIN"]) and config["APP_ENV"] != "production"
    if config["APP_ENV"] == "production":
        check_production(config)
    if not config.get("DATABASE_URL"):
        Path(config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
        config["DATABASE_URL"] = f"sqlite:///{Path(config['INSTANCE_DIR']) / 'wuye.db'}"
    url = config["DATABASE_URL"]
    if url.startswith("postgres://"):  # Heroku-style URLs
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    config["SQLALCHEMY_DATABASE_URI"] = url
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if config.get("STORAGE_SERVE", "app") not in {"app", "presigned"}:
        raise ConfigError("STORAGE_SERVE must be app or presigned")
    if config.get("S3_ADDRESSING_STYLE", "path") not in {"path", "virtual"}:
        raise ConfigError("S3_ADDRESSING_STYLE must be path or virtual")
    if not 0 < config["WECHAT_REPLY_BUDGET_SECONDS"] < 5:
        raise ConfigError("WECHAT_REPLY_BUDGET_SECONDS must be above 0 and below WeChat's 5 s")
    if url.startswith("sqlite"):
        # busy timeout: writers wait for each other instead of failing at once.
        config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {"timeout": 30})
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_pre_ping", True)
        # an unreachable server fails a request in seconds, not after TCP's minutes
        config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {"connect_timeout": 5})
    # 9 photos of 10 MB plus form fields.
    config.setdefault(
        "MAX_CONTENT_LENGTH", config["MAX_PHOTOS"] * config["MAX_PHOTO_BYTES"] + 1024 * 1024
    )
    config["RATELIMIT_STORAGE_URI"] = config.get("RATELIMIT_STORAGE_URI") or (
        config["REDIS_URL"] or "memory://"
    )
    # With Redis configured in production, limits are never per process: an unreachable
    # Redis makes Flask-Limiter raise (no swallowing, no in-memory fallback) and the
    # limited route answers 503 (extensions.init_limiter_errors); elsewhere keep serving.
    shared = config["APP_ENV"] == "production" and config["REDIS_URL"] is not None
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", not shared)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", not shared)
    # the WeChat push's nonce guard likewise: Redis only, 503 while it is unreachable
    # (services/chat/nonces.py); elsewhere it falls back to its database table
    config.setdefault("WECHAT_NONCE_FAIL_CLOSED", shared)
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # a moving window has no boundary at which a burst slips through
    config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    config.setdefault("JSON_SORT_KEYS", False)
    # flask-smorest / OpenAPI
    config.setdefault("API_TITLE", "Wuye property service API")
    config.setdefault("API_VERSION", "v1")
    config.setdefault("OPENAPI_VERSION", "3.0.3")
    config.setdefault("OPENAPI_URL_PREFIX", "/api")
    config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    return config


class ConfigError(RuntimeError):
    """The app refuses to start with this configuration."""


def check_production(config: dict) -> None:
    problems = []
    secret = config["SECRET_KEY"] or ""
    if (secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_LENGTH
            or len(set(secret)) < MIN_SECRET_DISTINCT):
        problems.append(f"SECRET_KEY must be a random value of at least {MIN_SECRET_LENGTH} "
                        f"characters with at least {MIN_SECRET_DISTINCT} different ones "
                        "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
    if config["DEV_LOGIN"]:
        problems.append("DEV_LOGIN must be off in production")
    if not config.get("DATABASE_URL"):
        problems.append("DATABASE_URL must be set in production")
    if config.get("BOT_RULES_PATH"):
        # the bot's rules are deployed with the code, alike on every server
        problems.append("BOT_RULES_PATH must not be set in production (the bot uses the "
                        "packaged backend/bot/rules.yaml)")
    if config.get("STORAGE_BACKEND") == "s3":
        problems.extend(f"{name} must be set with STORAGE_BACKEND=s3" for name in
                        ("S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
                        if not config.get(name))
    if config.get("STORAGE_SERVE") == "presigned" and config.get("STORAGE_BACKEND") != "s3":
        problems.append("STORAGE_SERVE=presigned needs STORAGE_BACKEND=s3")
    from backend.wechatpay import settings_problems

    problems.extend(settings_problems(config))
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))
