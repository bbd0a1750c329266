"""Pages and API answers go compressed to clients that accept it (brotli, else gzip),
unchanged once decompressed, and still revalidate cheaply (304 on the encoded ETag)."""
from __future__ import annotations

import gzip
import re

import brotli
import pytest


def version_of(client):
    return re.search(r"/m/([0-9a-f]{12})/", client.get("/miniapp/").get_data(as_text=True)).group(1)


def decoded(response) -> bytes:
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


@pytest.mark.parametrize("path", ["miniapp/app.js", "shared/api.js", "shared/base.css", "desk/pages/ticket.js"])
def test_text_files_are_compressed_and_unchanged_once_decoded(client, path):
    version = version_of(client)
    plain = client.get(f"/m/{version}/{path}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    original = plain.get_data()
    for accepted, used in (("gzip, deflate, br, zstd", "br"), ("gzip", "gzip")):
        response = client.get(f"/m/{version}/{path}", headers={"Accept-Encoding": accepted})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == used
        assert "Accept-Encoding" in response.headers["Vary"]
        body = response.get_data()
        assert len(body) < len(original) / 2
        assert decoded(response) == original
        assert response.cache_control.immutable  # still cached for good


def test_the_html_is_compressed_and_revalidates_to_304(client):
    headers = {"Accept-Encoding": "br"}
    first = client.get("/miniapp/", headers=headers)
    assert first.headers["Content-Encoding"] == "br"
    assert b"<script" in decoded(first)
    again = client.get("/miniapp/", headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()


def test_an_unversioned_file_revalidates_to_304_when_compressed(client):
    headers = {"Accept-Encoding": "br"}
    first = client.get("/shared/api.js", headers=headers)
    assert first.headers["Content-Encoding"] == "br"
    again = client.get("/shared/api.js", headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_api_answers_are_compressed_too(client):
    response = client.get("/api/v1/labels", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"home_repair" in decoded(response)


def test_the_html_preloads_every_module_of_its_first_screens(client):
    html = client.get("/miniapp/").get_data(as_text=True)
    version = version_of(client)
    preloaded = set(re.findall(rf'<link rel="modulepreload" href="/m/{version}/([^"]+)">', html))
    # the shell's static imports, followed through (session.js is imported by core.js)
    assert {"miniapp/app.js", "miniapp/core.js", "shared/session.js", "shared/api.js"} <= preloaded
    # and the first pages, so no wave of requests waits for the router
    assert {"miniapp/pages/login.js", "miniapp/pages/home.js"} <= preloaded
    desk = client.get("/desk/").get_data(as_text=True)
    assert f'href="/m/{version}/desk/pages/login.js"' in desk

