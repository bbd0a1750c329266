"""Login, tokens, roles and binding a room against the ledger."""
from __future__ import annotations

import time

import pytest
import requests
import responses

from backend.extensions import db
from backend.models import User

JSCODE_URL = "https://api.weixin.qq.com/sns/jscode2session"
TOKEN_URL = "https://api.weixin.qq.com/cgi-bin/token"


@responses.activate
def test_wx_login_exchanges_the_code_with_wechat_and_keeps_the_secret(client):
    responses.get(TOKEN_URL, json={"access_token": "ACCESS", "expires_in": 7200})
    responses.get(JSCODE_URL, json={"openid": "o-real-user", "session_key": "sk"})
    response = client.post("/api/v1/auth/wx-login", json={"code": "081abc"})
    assert response.status_code == 200
    assert response.json["user"]["roles"] == []
    call = [c for c in responses.calls if c.request.url.startswith(JSCODE_URL)][0]
    assert "js_code=081abc" in call.request.url
    assert "secret=test-app-secret" in call.request.url  # server to WeChat only
    assert "test-app-secret" not in response.get_data(as_text=True)
    # the same openid signs in as the same user
    again = client.post("/api/v1/auth/wx-login", json={"code": "081abd"})
    assert again.json["user"]["id"] == response.json["user"]["id"]


@responses.activate
def test_wx_login_with_a_bad_code_is_a_clear_400(client):
    responses.get(TOKEN_URL, json={"access_token": "ACCESS", "expires_in": 7200})
    responses.get(JSCODE_URL, json={"errcode": 40029, "errmsg": "invalid code"})
    response = client.post("/api/v1/auth/wx-login", json={"code": "bad"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_code"


@responses.activate
def test_wx_login_when_wechat_is_unreachable_is_503(client):
    responses.get(TOKEN_URL, body=requests.exceptions.ConnectionError("unreachable"))
    responses.get(JSCODE_URL, body=requests.exceptions.ConnectionError("unreachable"))
    response = client.post("/api/v1/auth/wx-login", json={"code": "081abc"})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "wechat_unavailable"


def test_dev_login_is_refused_when_dev_login_is_off(make_app):
    app = make_app(DEV_LOGIN=False)
    response = app.test_client().post("/api/v1/auth/wx-login", json={"code": "dev:someone"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "dev_login_disabled"


def test_bad_tampered_and_missing_tokens_are_401(client, login):
    headers = login("o-1")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    token = headers["Authorization"].split()[1]
    for bad in ("Bearer " + token[:-2] + "xx", "Bearer nonsense", "Basic abc", ""):
        response = client.get("/api/v1/me", headers={"Authorization": bad})
        assert response.status_code == 401
        assert response.json["error"]["code"] in {"unauthorized", "invalid_token"}


def test_expired_tokens_are_401(make_app):
    app = make_app(TOKEN_TTL_SECONDS=1)
    client = app.test_client()
    token = client.post("/api/v1/auth/wx-login", json={"code": "dev:o-exp"}).json["token"]
    time.sleep(2.1)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_expired"


def test_logout_revokes_every_token_of_the_user(client, login):
    first = login("o-2")
    second = login("o-2")
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    assert client.get("/api/v1/me", headers=second).status_code == 401


def test_staff_login_with_hashed_password(client, staff, app):
    staff("desk", "front1")
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(username="front1"))
        assert user.password_hash and "pw-front1" not in user.password_hash
    wrong = client.post("/api/v1/auth/staff-login", json={"username": "front1", "password": "nope"})
    assert wrong.status_code == 401
    unknown = client.post("/api/v1/auth/staff-login", json={"username": "ghost", "password": "x"})
    assert unknown.status_code == 401
    assert wrong.json["error"]["message"] == unknown.json["error"]["message"]
    ok = client.post("/api/v1/auth/staff-login", json={"username": "front1", "password": "pw-front1"})
    assert ok.json["user"]["roles"] == ["desk"]


def test_binding_a_room_with_matching_name_and_phone(client, login, community):
    headers = login("o-zhang")
    response = client.post("/api/v1/me/rooms", headers=headers, json={
        "building": "1栋", "unit": "1单元", "number": "101", "owner_name": "张三",
        "phone": "139 0000 0001"})
    assert response.status_code == 201
    assert response.json["relation"] == "owner"
    me = client.get("/api/v1/me", headers=headers).json
    assert me["name"] == "张三"
    assert me["roles"] == ["owner"]
    assert [(r["building"], r["unit"], r["number"], r["area_m2"]) for r in me["rooms"]] == [
        ("1", "1", "101", "98.50")]


@pytest.mark.parametrize("change", [
    {"phone": "13900000009"},            # wrong phone
    {"owner_name": "张四"},              # wrong name
    {"number": "999"},                   # no such room
    {"building": "2", "number": "102"},  # unsold room (no owner of record)
])
def test_binding_with_a_mismatch_is_403_ledger_mismatch_and_binds_nothing(
        client, login, community, change):
    headers = login("o-x")
    body = {"building": "1", "unit": "1", "number": "101", "owner_name": "张三",
            "phone": "13900000001", **change}
    response = client.post("/api/v1/me/rooms", headers=headers, json=body)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "ledger_mismatch"
    assert client.get("/api/v1/me", headers=headers).json["rooms"] == []


def test_community_is_required_when_several_exist(client, login, community, app):
    from backend.services.community import get_or_create_community

    with app.app_context():
        get_or_create_community("另一个小区")
        db.session.commit()
    headers = login("o-y")
    body = {"building": "1", "unit": "1", "number": "101", "owner_name": "张三",
            "phone": "13900000001"}
    assert client.post("/api/v1/me/rooms", headers=headers, json=body).json["error"]["code"] == \
        "community_required"
    ok = client.post("/api/v1/me/rooms", headers=headers, json={**body, "community": "测试小区"})
    assert ok.status_code == 201


def test_a_sold_room_stops_granting_the_seller_owner_rights(client, owner, app, community):
    from backend.services.ledger import import_ledger
    from backend.models import Community
    from tests.conftest import DEMO_LEDGER

    headers = owner("O-1")
    assert "owner" in client.get("/api/v1/me", headers=headers).json["roles"]
    sold = DEMO_LEDGER.replace("O-1,张三,13900000001", "O-9,孙九,13900000009")
    with app.app_context():
        import_ledger(db.session.get(Community, community["id"]), sold)
        db.session.commit()
    assert "owner" not in client.get("/api/v1/me", headers=headers).json["roles"]


def test_login_is_rate_limited(make_app, community):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    codes = [client.post("/api/v1/auth/staff-login",
                         json={"username": "x", "password": "y"}).status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429
    limited = client.post("/api/v1/auth/staff-login", json={"username": "x", "password": "y"})
    assert limited.json["error"]["code"] == "rate_limited"


def test_with_rate_limits_off_nothing_is_limited(make_app, community):
    """RATELIMIT_ENABLED=false (what the benchmarks use) turns every limit off."""
    app = make_app(RATELIMIT_ENABLED=False, RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    codes = [client.post("/api/v1/auth/staff-login",
                         json={"username": "x", "password": "y"}).status_code for _ in range(6)]
    assert codes == [401] * 6


def test_each_app_keeps_its_own_rate_limit_setting(app, make_app, community):
    """Limits on in one app of the process leave another app with them off unlimited."""
    make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    attempts = int(app.config["RATELIMIT_LOGIN"].split()[0]) + 2
    codes = [client.post("/api/v1/auth/staff-login",
                         json={"username": "x", "password": "y"}).status_code
             for _ in range(attempts)]
    assert codes == [401] * attempts


def test_login_rate_limit_is_shared_through_redis(make_app, community, redis_url):
    first = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2 per minute", REDIS_URL=redis_url)
    second = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2 per minute", REDIS_URL=redis_url)
    body = {"username": "x", "password": "y"}
    assert first.test_client().post("/api/v1/auth/staff-login", json=body).status_code == 401
    assert second.test_client().post("/api/v1/auth/staff-login", json=body).status_code == 401
    # a third attempt on either process is over the shared limit
    assert first.test_client().post("/api/v1/auth/staff-login", json=body).status_code == 429
