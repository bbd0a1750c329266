"""Accounts as an attacker tries them: token spellings, rate-limit keys behind a proxy,
production secrets, demo data and staff passwords, and what responses may be cached."""
from __future__ import annotations

import pytest

from tests.conftest import auth
from tests.test_config import SAFE


def test_junk_appended_to_a_token_is_refused(client, login):
    headers = login("junk-token")
    token = headers["Authorization"].split(" ", 1)[1]
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    for junk in ("==", "!!", "$", "=A"):
        response = client.get("/api/v1/me", headers=auth(token + junk))
        assert response.status_code == 401, junk
        assert response.json["error"]["code"] == "invalid_token"


def test_the_ask_limit_counts_the_user_whatever_the_token_looks_like(make_app, community):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_ASK="3 per minute")
    client = app.test_client()
    first = client.post("/api/v1/auth/wx-login", json={"code": "dev:limited-user"}).json["token"]
    second = client.post("/api/v1/auth/wx-login", json={"code": "dev:limited-user"}).json["token"]
    codes = [client.post("/api/v1/bot/ask", headers=auth(token), json={"text": "你好"}).status_code
             for token in (first, second, first, second, first)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


def _bad_logins(client, address_header: dict, count: int) -> list[int]:
    return [client.post("/api/v1/auth/staff-login", json={"username": "x", "password": "y"},
                        headers=address_header).status_code for _ in range(count)]


def test_behind_one_proxy_rate_limits_key_on_the_real_client(make_app, community):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute", PROXY_FIX_HOPS=1)
    client = app.test_client()
    attacker = _bad_logins(client, {"X-Forwarded-For": "203.0.113.7"}, 4)
    assert attacker[-1] == 429
    # another resident behind the same nginx is not locked out
    assert _bad_logins(client, {"X-Forwarded-For": "198.51.100.23"}, 1) == [401]


def test_without_a_proxy_setting_a_forged_header_changes_nothing(make_app, community):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    codes = [client.post("/api/v1/auth/staff-login", json={"username": "x", "password": "y"},
                         headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in range(4)]
    assert codes[-1] == 429  # a new forged address per try does not escape the limit


def test_seed_demo_refuses_to_run_in_production(tmp_path):
    from backend import create_app

    app = create_app({**SAFE, "INSTANCE_DIR": str(tmp_path),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}"})
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "生产环境" in result.output


@pytest.mark.parametrize("password", ["short-pw", "xiaozhou-2026!", "XIAOZHOU123456"])
def test_create_staff_refuses_weak_passwords(app, community, password):
    result = app.test_cli_runner().invoke(args=[
        "create-staff", "xiaozhou", "--role", "desk", "--password", password])
    assert result.exit_code != 0
    client = app.test_client()
    login = client.post("/api/v1/auth/staff-login",
                        json={"username": "xiaozhou", "password": password})
    assert login.status_code == 401


def test_personal_answers_are_not_stored_by_caches(client, login):
    headers = login("cache-check")
    signed_in = client.post("/api/v1/auth/wx-login", json={"code": "dev:cache-check"})
    assert signed_in.headers["Cache-Control"] == "no-store"
    for path in ("/api/v1/me", "/api/v1/fees/bills", "/api/v1/chat/messages"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
