"""Production refuses unsafe settings."""
from __future__ import annotations

import pytest

from backend import create_app
from backend.config import ConfigError

SAFE = {"APP_ENV": "production", "SECRET_KEY": "x" * 40, "DEV_LOGIN": False,
        "DATABASE_URL": "sqlite:////tmp/prod-check.db"}


@pytest.mark.parametrize("override", [
    {"SECRET_KEY": "dev-secret-change-me"},
    {"SECRET_KEY": "short"},
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
    monkeypatch.setenv("SECRET_KEY", "y" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/prod-check.db")
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("DEV_LOGIN", raising=False)
    app = create_app()
    response = app.test_client().post("/api/v1/auth/wx-login", json={"code": "dev:x"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "dev_login_disabled"
