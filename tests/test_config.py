"""Production refuses unsafe settings."""
from __future__ import annotations

import pytest

from backend import create_app
from backend.config import ConfigError

STRONG_SECRET = "k3J9-vQ2pLxZ8wRt5YbN0cHs7MdF4gAe1Uo6"
SAFE = {"APP_ENV": "production", "SECRET_KEY": STRONG_SECRET, "DEV_LOGIN": False,
        "DATABASE_URL": "sqlite:////tmp/prod-check.db"}


@pytest.mark.parametrize("override", [
    {"SECRET_KEY": "dev-secret-change-me"},
    {"SECRET_KEY": "short"},
    {"SECRET_KEY": "aaaaaaaaaaaaaaaa"},
    {"SECRET_KEY": "changemechangeme"},
    {"SECRET_KEY": "a" * 64},
    {"SECRET_KEY": "abcd" * 10},  # long, but four different characters
    {"DEV_LOGIN": True},
    {"DATABASE_URL": ""},
    # the push's database deadline must leave room inside WeChat's 5 s (0 no longer
    # means "answer by customer-service message": WECHAT_PASSIVE_REPLY=false does)
    {"WECHAT_REPLY_BUDGET_SECONDS": 0},
    {"WECHAT_REPLY_BUDGET_SECONDS": 5},
])
def test_production_refuses_to_start(override, tmp_path):
    with pytest.raises(ConfigError):
        create_app({**SAFE, "INSTANCE_DIR": str(tmp_path), **override})


def test_production_starts_with_safe_settings_and_has_no_dev_login(tmp_path):
    app = create_app({**SAFE, "INSTANCE_DIR": str(tmp_path)})
    assert app.config["DEV_LOGIN"] is False


def test_production_default_turns_dev_login_off(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/prod-check.db")
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("DEV_LOGIN", raising=False)
    app = create_app()
    response = app.test_client().post("/api/v1/auth/wx-login", json={"code": "dev:x"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "dev_login_disabled"


def test_a_postgresql_server_that_never_answers_fails_in_seconds(tmp_path):
    """A server that accepts the connection but never speaks (hung, or a firewall
    swallowing packets) must not hold a request for TCP's minutes."""
    import socket
    import threading
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from backend.extensions import db

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nothing ever answers
    port = silent.getsockname()[1]
    app = create_app({"DATABASE_URL": f"postgresql://wuye@127.0.0.1:{port}/wuye",
                      "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x" * 32})
    outcome: dict = {}

    def connect():
        with app.app_context():
            started = time.monotonic()
            try:
                with db.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except OperationalError as exc:
                outcome["error"] = exc
            outcome["seconds"] = time.monotonic() - started
            db.engine.dispose()

    attempt = threading.Thread(target=connect, daemon=True)
    try:
        attempt.start()
        attempt.join(30)
    finally:
        silent.close()
    assert "seconds" in outcome, "still waiting for the server after 30 s"
    assert "error" in outcome and outcome["seconds"] < 15
