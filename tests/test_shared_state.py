"""Nothing per process that several servers must share: rate limits kept in Redis fail
closed (503) when it is unreachable instead of counting per process, and the bot's
rules come only from the package in production."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import backend
from backend.config import ConfigError, check_production, from_environment
from tests.conftest import test_config as _config
from tests.servers import free_port


def test_a_limited_route_answers_503_when_redis_is_down(database_url, tmp_path, app):
    """In its own process (Flask-Limiter reads these settings once per process): what
    production derives from REDIS_URL — no swallowed errors, no in-memory fallback —
    with a stopped Redis (nothing listens on the port)."""
    config = _config(database_url, tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                     RATELIMIT_ENABLED=True, RATELIMIT_SWALLOW_ERRORS=False,
                     RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=False)
    script = textwrap.dedent(f"""
        import json, logging, sys
        from backend import create_app
        app = create_app(json.loads({json.dumps(json.dumps(config))}))
        r = app.test_client().post("/api/v1/auth/staff-login",
                                   json={{"username": "a", "password": "b"}})
        print(json.dumps([r.status_code, r.json, r.headers.get("Retry-After")]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=Path(backend.__file__).parent.parent)
    status, body, retry_after = json.loads(done.stdout.strip().splitlines()[-1])
    assert status == 503 and retry_after == "30"
    assert body["error"]["message"] == "系统繁忙，请稍后再试"
    assert "rate limit storage unreachable" in done.stderr


def test_production_with_redis_keeps_limits_only_in_redis():
    from backend.config import finalise

    config = finalise({**from_environment({"REDIS_URL": "redis://10.0.0.5:6379/0"})})
    assert config["RATELIMIT_STORAGE_URI"] == "redis://10.0.0.5:6379/0"
    # development keeps serving when Redis is away; production does not (see above)
    assert config["RATELIMIT_SWALLOW_ERRORS"] is True


def test_production_refuses_a_rules_file_path():
    """The bot's rules are deployed with the code (backend/bot/rules.yaml in the
    package), so every server answers alike and nobody edits them on one machine."""
    assert (Path(backend.__file__).parent / "bot" / "rules.yaml").is_file()
    config = {**from_environment({"APP_ENV": "production"}), "BOT_RULES_PATH": "/srv/rules.yaml"}
    with pytest.raises(ConfigError, match="BOT_RULES_PATH must not be set in production"):
        check_production(config)
