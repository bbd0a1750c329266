"""Under gunicorn (as in production): body limits answer 413 in the error shape."""
from __future__ import annotations

import http.client
import json

import pytest

from tests.servers import gunicorn_server


@pytest.fixture
def served(database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "INSTANCE_DIR": str(tmp_path),
           "SECRET_KEY": "test-secret-key-0123456789", "MAX_PHOTO_BYTES": "100000"}
    with gunicorn_server("wsgi:app", env=env, workers=1) as address:
        yield address


def test_oversized_body_is_413_under_gunicorn(served):
    host, port = served
    conn = http.client.HTTPConnection(host, port, timeout=30)
    body = b"x" * 3_000_000  # over 9 × 100 kB + 1 MB
    conn.request("POST", "/api/v1/auth/wx-login", body=body,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "too_large"


def test_security_headers_and_health_under_gunicorn(served):
    host, port = served
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["db"] == "ok"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
