"""The demo login picker's list (GET /api/v1/dev/demo-users): development only."""
from __future__ import annotations

from backend.extensions import db


def seed(app):
    from backend.seed import seed_demo

    with app.app_context():
        seed_demo()
        db.session.commit()


def test_lists_the_seeded_demo_residents_and_staff(app, client):
    seed(app)
    body = client.get("/api/v1/dev/demo-users").json
    residents = {r["openid"]: r for r in body["residents"]}
    assert list(residents) == ["demo-zhang", "demo-li", "demo-wang", "demo-liu", "demo-chen"]
    assert residents["demo-wang"]["name"] == "王芳"
    assert residents["demo-wang"]["rooms"] == ["1栋1单元201", "1栋1单元202"]
    assert "committee" in residents["demo-zhang"]["roles"]
    assert "committee" not in residents["demo-li"]["roles"]
    staff = {s["username"]: s for s in body["staff"]}
    assert staff["desk"]["roles"] == ["desk"] and staff["manager"]["name"] == "项目经理陈经理"


def test_the_listed_accounts_really_sign_in(app, client):
    seed(app)
    body = client.get("/api/v1/dev/demo-users").json
    for person in body["staff"]:
        response = client.post("/api/v1/auth/staff-login", json={
            "username": person["username"], "password": person["demo_password"]})
        assert response.status_code == 200, person["username"]
    resident = body["residents"][2]
    response = client.post("/api/v1/auth/wx-login", json={"code": f"dev:{resident['openid']}"})
    assert response.status_code == 200
    assert [r["id"] for r in response.json["user"]["rooms"]]  # already bound, as listed


def test_an_unseeded_database_lists_nobody(client):
    assert client.get("/api/v1/dev/demo-users").json == {"residents": [], "staff": []}


def test_without_dev_login_it_does_not_exist(make_app):
    client = make_app(DEV_LOGIN=False).test_client()
    response = client.get("/api/v1/dev/demo-users")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_it_is_documented_as_public(client):
    spec = client.get("/api/openapi.json").json
    operation = spec["paths"]["/api/v1/dev/demo-users"]["get"]
    assert operation["security"] == []
