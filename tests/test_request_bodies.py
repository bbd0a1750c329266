"""Request bodies a hostile client sends: authenticated before they are read, capped
small unless they are uploads, and refused in the error shape when malformed (never a
500)."""
from __future__ import annotations

import io

import pytest


class CountingStream(io.RawIOBase):
    """A request body of ``size`` spaces that counts how much of it the app read."""

    def __init__(self, size: int):
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # the test client measures the body by seeking
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: 0, 1: self.position, 2: self.size}[whence] + offset
        return self.position

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b" " * n
        self.position += n
        self.read_bytes += n
        return n


def post_stream(client, path: str, size: int, headers=None):
    stream = CountingStream(size)
    response = client.post(path, input_stream=stream, content_type="application/json",
                           headers=headers or {})
    return response, stream


@pytest.mark.parametrize("path", ["/api/v1/bot/ask", "/api/v1/chat/messages",
                                  "/api/v1/fund-proposals", "/api/v1/me/rooms"])
def test_a_large_body_without_a_token_is_refused_before_it_is_read(client, path):
    response, stream = post_stream(client, path, 85 * 1024 * 1024)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert stream.read_bytes == 0


def test_a_json_body_over_the_cap_is_413_without_reading_it(client, login):
    headers = login("big-body")
    response, stream = post_stream(client, "/api/v1/bot/ask", 85 * 1024 * 1024, headers)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    assert stream.read_bytes == 0


def test_a_public_route_caps_json_too(client):
    response, stream = post_stream(client, "/api/v1/auth/staff-login", 1024 * 1024)
    assert response.status_code == 413
    assert stream.read_bytes == 0


HOSTILE_JSON = {
    "deep nesting": b'{"code": ' + b"[" * 20000 + b"]" * 20000 + b"}",
    "a 5,000-digit number": b'{"code": 1' + b"1" * 5000 + b"}",
    "a lone surrogate": b'{"code": "\\udc00"}',
    "not JSON": b'{"code": ',
}


@pytest.mark.parametrize("body", list(HOSTILE_JSON.values()), ids=list(HOSTILE_JSON))
def test_hostile_json_on_wx_login_is_400(client, body):
    response = client.post("/api/v1/auth/wx-login", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_body"


@pytest.mark.parametrize("path,field", [
    ("/api/v1/auth/staff-login", "username"),
    ("/api/v1/auth/wx-login", "code"),
])
def test_a_lone_surrogate_in_a_public_string_field_is_400(client, path, field):
    body = ('{"%s": "a\\udc00", "password": "x"}' % field).encode()
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("path,body", [
    ("/api/v1/bot/ask", '{"text": "\\udc00物业费"}'),
    ("/api/v1/chat/messages", '{"text": "\\ud800"}'),
    ("/api/v1/me/rooms", '{"building": "\\udc00", "unit": "1", "number": "101", '
                         '"owner_name": "x", "phone": "13800000000"}'),
    ("/api/v1/fund-proposals", '{"title": "\\udc00", "amount_yuan": "1", "rule": "objection", '
                               '"scope": {"community": true}, "closes_at": "2030-01-01T00:00:00Z"}'),
])
def test_a_lone_surrogate_in_a_signed_in_string_field_is_400(client, login, path, body):
    response = client.post(path, data=body.encode(), content_type="application/json",
                           headers=login("surrogate"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_body"


def test_uploads_keep_their_own_limit(client, login):
    """A multipart body is not held to the JSON cap (photos are up to 10 MB each)."""
    headers = login("uploader")
    response = client.post("/api/v1/tickets", headers=headers, data={
        "kind": "inquiry", "description": "x" * 100, "filler": "y" * (200 * 1024)},
        content_type="multipart/form-data")
    assert response.status_code != 413


@pytest.mark.parametrize("path", ["/api/v1/fund/rules?community=%00",
                                  "/api/v1/fees/standards?community=a%00b"])
def test_a_nul_character_in_a_query_is_never_a_500(client, login, path):
    """PostgreSQL refuses NUL in text; SQLite stores it. Either way: not our error."""
    response = client.get(path, headers=login("nul-query"))
    assert response.status_code < 500
    if response.status_code >= 400:
        assert set(response.json["error"]) >= {"code", "message"}


def test_a_nul_character_in_json_is_never_a_500(client, login):
    response = client.post("/api/v1/bot/ask", json={"text": "物业费\u0000多少"},
                           headers=login("nul-json"))
    assert response.status_code < 500
