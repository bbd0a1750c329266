"""Committee members sign in to the desk console with a one-time code from the
mini-program (the production path; the WeChat picker is development only)."""
from __future__ import annotations

import hashlib
import re
import threading
from datetime import datetime, timedelta, timezone

from backend.extensions import db
from backend.models import DeskLoginCode, OwnerOfRecord
from tests.conftest import auth

ISSUE = "/api/v1/auth/desk-codes"
LOGIN = "/api/v1/auth/desk-code-login"
INVALID = "登录码无效或已过期，请在小程序中重新获取"


def issue(client, headers) -> dict:
    response = client.post(ISSUE, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def use(client, code: str):
    return client.post(LOGIN, json={"code": code})


def assert_invalid(response):
    assert response.status_code == 401, response.json
    assert response.json["error"]["code"] == "invalid_login_code"
    assert response.json["error"]["message"] == INVALID


def test_a_committee_member_gets_a_code_and_signs_in_to_the_desk_with_it(client, committee,
                                                                       fund_proposal):
    headers = committee("O-1")
    body = issue(client, headers)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", body["code"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert body["expires_at"].endswith("+08:00")
    left = expires - datetime.now(timezone.utc)
    assert timedelta(minutes=4) < left <= timedelta(minutes=5)

    response = use(client, body["code"])
    assert response.status_code == 200, response.json
    assert response.json["user"]["roles"] == ["owner", "committee"]
    me = client.get("/api/v1/me", headers=auth(response.json["token"]))
    assert me.status_code == 200
    assert me.json["name"] == "张三"
    assert "committee" in me.json["roles"]
    # the desk token lets the member do committee work: draft and open a fund vote
    proposal = fund_proposal(headers=auth(response.json["token"]))
    assert proposal["status"] == "voting"


def test_the_code_is_accepted_in_lower_case_with_spaces_and_without_the_dash(client, committee):
    code = issue(client, committee("O-1"))["code"]
    typed = f" {code[:2]} {code[2:4]}{code[5:]} ".lower()
    assert use(client, typed).status_code == 200


def test_a_code_works_only_once(client, committee):
    code = issue(client, committee("O-1"))["code"]
    assert use(client, code).status_code == 200
    assert_invalid(use(client, code))


def test_two_uses_at_the_same_time_sign_in_only_once(app, committee):
    code = issue(app.test_client(), committee("O-1"))["code"]
    clients = [app.test_client() for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(c):
        barrier.wait()
        statuses.append(c.post(LOGIN, json={"code": code}).status_code)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 401, 401, 401]


def test_an_expired_code_is_refused(app, client, committee):
    code = issue(client, committee("O-1"))["code"]
    with app.app_context():
        row = db.session.scalar(db.select(DeskLoginCode))
        row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
    assert_invalid(use(client, code))


def test_unknown_and_malformed_codes_are_refused_alike(client, committee):
    issue(client, committee("O-1"))
    for code in ("AAAA-BBBB", "22222222", "0000-0000", "短码", "K7M2-9QXP-EXTRA", "!"):
        assert_invalid(use(client, code))
    missing = client.post(LOGIN, json={})
    assert missing.status_code == 400
    assert missing.json["error"]["code"] == "validation_error"


def test_a_new_code_invalidates_the_earlier_unused_one(client, committee):
    headers = committee("O-1")
    first = issue(client, headers)["code"]
    second = issue(client, headers)["code"]
    assert first != second
    assert_invalid(use(client, first))
    assert use(client, second).status_code == 200


def test_another_members_new_code_leaves_mine_working(client, committee):
    mine = issue(client, committee("O-1"))["code"]
    issue(client, committee("O-4"))
    assert use(client, mine).status_code == 200


def test_only_the_hash_of_the_code_is_stored(app, client, committee):
    code = issue(client, committee("O-1"))["code"]
    with app.app_context():
        row = db.session.scalar(db.select(DeskLoginCode))
        assert row.code_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()
        stored = " ".join(str(v) for v in (row.code_hash, row.created_at, row.expires_at, row.used_at))
        assert code.replace("-", "") not in stored and code not in stored


def test_a_plain_owner_or_an_unbound_resident_gets_no_code(client, owner, login):
    for headers in (owner("O-2"), login("someone-new")):
        response = client.post(ISSUE, headers=headers)
        assert response.status_code == 403
        assert response.json["error"]["code"] == "desk_not_allowed"
    assert client.post(ISSUE).status_code == 401


def test_staff_may_get_a_code_too(client, staff):
    code = issue(client, staff("desk"))["code"]
    response = use(client, code)
    assert response.status_code == 200
    assert "desk" in response.json["user"]["roles"]
    assert response.json["user"]["is_staff"] is True


def test_a_member_who_left_the_committee_cannot_use_an_earlier_code(app, client, committee):
    code = issue(client, committee("O-1"))["code"]
    with app.app_context():
        record = db.session.scalar(db.select(OwnerOfRecord).filter_by(owner_ref="O-1"))
        record.is_committee = False
        db.session.commit()
    assert_invalid(use(client, code))


def test_desk_code_login_works_when_dev_login_is_off(client, committee, make_app):
    code = issue(client, committee("O-1"))["code"]
    production_like = make_app(DEV_LOGIN=False).test_client()
    assert production_like.post("/api/v1/auth/wx-login",
                                json={"code": "dev:openid-O-1"}).status_code == 400
    response = production_like.post(LOGIN, json={"code": code})
    assert response.status_code == 200, response.json
    me = production_like.get("/api/v1/me", headers=auth(response.json["token"]))
    assert me.status_code == 200
    assert "committee" in me.json["roles"]


def test_desk_code_login_is_a_public_endpoint_in_the_api_doc(client):
    doc = client.get("/api/openapi.json").json
    assert doc["paths"]["/api/v1/auth/desk-code-login"]["post"]["security"] == []
    assert "security" not in doc["paths"]["/api/v1/auth/desk-codes"]["post"] or \
        doc["paths"]["/api/v1/auth/desk-codes"]["post"]["security"] != []


def test_me_says_who_may_use_the_desk(client, owner, committee, staff):
    """The mini-program offers "登录物业工作台" from this flag (no role list in the page)."""
    assert client.get("/api/v1/me", headers=committee("O-1")).json["may_use_desk"] is True
    assert client.get("/api/v1/me", headers=staff("engineer")).json["may_use_desk"] is True
    assert client.get("/api/v1/me", headers=owner("O-2")).json["may_use_desk"] is False
