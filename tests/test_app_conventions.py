"""The contract's conventions: one error shape, security headers, health, OpenAPI."""
from __future__ import annotations


def test_unknown_path_and_method_use_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert response.json["error"]["message"]
    response = client.delete("/api/v1/fees/standards")
    assert response.status_code == 405
    assert set(response.json["error"]) == {"code", "message", "details"}


def test_invalid_input_is_400_with_field_details(client):
    response = client.post("/api/v1/auth/wx-login", json={"wrong": "field"})
    assert response.status_code == 400
    body = response.json["error"]
    assert body["code"] == "validation_error"
    assert "code" in body["details"]["fields"]


def test_what_is_wrong_with_each_field_is_said_in_chinese(client, login):
    """The per-field lines of a 400 may reach residents: they are Chinese, like the
    message, whichever rule the field broke (required, type, unknown, range, choice)."""
    fields = client.post("/api/v1/auth/staff-login",
                         json={"username": 5, "extra": 1}).json["error"]["details"]["fields"]
    assert fields == {"username": ["须为文本"], "password": ["缺少必填项"], "extra": ["未知字段"]}
    fields = client.get("/api/v1/tickets?limit=0&status=done", headers=login("openid-x")).json[
        "error"]["details"]["fields"]
    assert fields["limit"] == ["须不小于 1 且不大于 100"]
    assert fields["status"]["0"][0].startswith("须为以下之一：submitted, ")


def test_malformed_json_is_400_not_500(client):
    response = client.post("/api/v1/auth/wx-login", data=b"{not json",
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_body"


def test_oversized_body_is_413_in_the_error_shape(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1000)
    response = app.test_client().post("/api/v1/auth/wx-login", data=b"x" * 5000,
                                      content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"


def test_security_headers_on_every_response(client):
    for response in (client.get("/healthz"), client.get("/api/v1/nope")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_healthz_reports_database_and_queue_mode(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"db": "ok", "queue": "inline"}


def test_healthz_reports_redis_down_without_failing(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["queue"] == "redis" and response.json["redis"] == "down"


def test_openapi_document_describes_the_api_from_the_schemas(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/wx-login" in spec["paths"]
    assert "/api/v1/me/rooms" in spec["paths"]
    body = spec["paths"]["/api/v1/me/rooms"]["post"]["requestBody"]["content"]["application/json"]
    schema_name = body["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][schema_name]["required"]) >= {
        "building", "unit", "number", "owner_name", "phone"}
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    # public endpoints say so
    assert spec["paths"]["/api/v1/fees/standards"]["get"]["security"] == []


def test_money_is_a_decimal_string(client, community, owner):
    headers = owner("O-1")
    body = client.get("/api/v1/me", headers=headers).json
    assert body["rooms"][0]["area_m2"] == "98.50"
    standards = client.get("/api/v1/fees/standards").json
    prices = {i["kind"]: i["unit_price_yuan"] for i in standards["items"]}
    assert prices == {"residential_lift": "2.80", "residential": "1.50", "shop": "3.00"}


def test_an_out_of_range_or_garbled_cursor_is_400(client, login):
    import base64

    headers = login("o-cursor")
    for cursor in (base64.urlsafe_b64encode(str(2**70).encode()).decode(), "%%%", "LTE"):
        response = client.get(f"/api/v1/notifications?cursor={cursor}", headers=headers)
        assert response.status_code == 400
        assert response.json["error"]["code"] == "invalid_cursor"


def test_an_id_past_the_column_range_is_404_on_every_route(client, staff):
    headers = staff("manager")
    huge = "9" * 20
    for path in (f"/api/v1/tickets/{huge}", f"/api/v1/desk/conversations/{huge}",
                 f"/api/v1/fund-proposals/{huge}", f"/api/v1/tickets/1/photos/{huge}/thumb"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"


def test_json_answers_are_written_as_flasks_own_provider_writes_them(app):
    """Answers go out through orjson (backend/appclass.py) and read exactly as Flask's
    standard-library provider, set as ours is, would write them: Chinese as UTF-8, keys in order,
    money as its decimal text, times as Flask writes them, no spaces."""
    from datetime import datetime, timezone
    from decimal import Decimal

    from flask.json.provider import DefaultJSONProvider

    payload = {"message": "缴费成功", "amount": Decimal("2843567.94"), "z": 1, "a": [True, None],
               "at": datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc), "nested": {"b": 1.5}}
    with app.test_request_context():
        ours = app.json.response(payload).get_data()
        flasks = DefaultJSONProvider(app)
        flasks.sort_keys, flasks.ensure_ascii = False, False  # as the app's provider says
        flasks = flasks.response(payload).get_data()
    assert ours == flasks
    assert "缴费成功".encode() in ours and b'"amount":"2843567.94"' in ours
