"""The mini-program mock and the desk console are served as plain files, under the
strict CSP, only while SERVE_MINIAPP is on."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest


@pytest.mark.parametrize("path", ["/miniapp/", "/desk/"])
def test_each_app_is_served_with_the_strict_csp(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.mimetype_params["charset"] == "utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    body = response.get_data(as_text=True)
    app = path.strip("/")
    assert re.search(rf'<script type="module" src="/m/[0-9a-f]{{12}}/{app}/app.js"></script>', body)
    if app == "desk":  # the phone's style sheets are inside its HTML (test_pages_first_screen)
        assert re.search(r'<link rel="stylesheet" href="/m/[0-9a-f]{12}/shared/base.css">', body)
    assert 'href="#view"' in body  # in-page links are left alone
    assert 'lang="zh-CN"' in body


def version_of(client, app="miniapp"):
    return re.search(r"/m/([0-9a-f]{12})/", client.get(f"/{app}/").get_data(as_text=True)).group(1)


def test_versioned_files_are_cached_for_good_and_the_html_never(client):
    index = client.get("/miniapp/")
    assert "no-cache" in index.headers["Cache-Control"]
    assert client.get("/miniapp/", headers={"If-None-Match": index.headers["ETag"]}).status_code == 304
    version = version_of(client)
    assert version_of(client, "desk") == version
    for path in ("miniapp/app.js", "miniapp/pages/report.js", "shared/api.js", "desk/style.css"):
        response = client.get(f"/m/{version}/{path}")
        assert response.status_code == 200, path
        cache = response.cache_control
        assert cache.immutable and cache.public and cache.max_age == 365 * 24 * 3600, path
        assert "Expires" not in response.headers
        assert response.data == client.get(f"/{path}").data
    # an address from an older version still works but is not kept
    old = client.get("/m/0123456789ab/miniapp/app.js")
    assert old.status_code == 200 and "no-cache" in old.headers["Cache-Control"]


def test_changing_any_file_changes_the_version(client):
    before = version_of(client)
    target = Path(__file__).resolve().parent.parent / "miniapp_mock" / "shared" / "labels.js"
    stat = target.stat()
    try:
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert version_of(client) != before
    finally:
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert version_of(client) == before


def test_modules_and_styles_have_types_browsers_accept_under_nosniff(client):
    for path, mimetype in [("/miniapp/app.js", "text/javascript"), ("/shared/api.js", "text/javascript"),
                           ("/desk/pages/tickets.js", "text/javascript"),
                           ("/miniapp/style.css", "text/css"), ("/shared/base.css", "text/css"),
                           ("/miniapp/icon.svg", "image/svg+xml")]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == mimetype, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unchanged_files_revalidate_cheaply(client):
    first = client.get("/shared/dom.js")
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get("/shared/dom.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_root_and_bare_paths_lead_to_the_apps(client):
    assert client.get("/").headers["Location"].endswith("/miniapp/")
    response = client.get("/desk")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/desk/")


@pytest.mark.parametrize("path", [
    "/miniapp/../backend/config.py", "/miniapp/%2e%2e/%2e%2e/wsgi.py", "/shared/../../wsgi.py",
    "/desk/pages/missing.js", "/miniapp/app.py", "/shared/api.js.map", "/other/app.js",
    "/m/0123456789ab/miniapp/../../backend/config.py", "/m/0123456789ab/backend/config.py",
])
def test_nothing_outside_the_mock_folders_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"wsgi" not in response.data and b"SECRET" not in response.data


def test_turned_off_the_pages_are_gone(make_app):
    client = make_app(SERVE_MINIAPP=False).test_client()
    for path in ("/miniapp/", "/desk/", "/shared/api.js", "/miniapp/app.js", "/",
                 "/m/0123456789ab/shared/api.js"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"
    # the API itself is unaffected
    assert client.get("/healthz").status_code == 200
