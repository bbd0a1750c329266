"""The phone app's first screen comes with its HTML (routes/pages.py): the login page
rendered by the server, with the demo residents only while the demo sign-in is on;
the style sheets and the labels inside the HTML, allowed by the CSP by their hashes."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from backend.extensions import db

MOCK = Path(__file__).resolve().parent.parent / "miniapp_mock"


class Picker(HTMLParser):
    """The login picker's entries as a person sees them: name and rooms per button."""

    def __init__(self):
        super().__init__()
        self.entries: list[dict] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "button" and "login-choice" in (attrs.get("class") or ""):
            self.entries.append({"attrs": attrs, "text": ""})
            self._in = self.entries[-1]

    def handle_endtag(self, tag):
        if tag == "button":
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self._in["text"] += data.strip()


def picker(html: str) -> list[dict]:
    parser = Picker()
    parser.feed(html)
    return parser.entries


def seeded(app):
    from backend.seed import seed_demo

    with app.app_context():
        seed_demo()
        db.session.commit()


def test_with_the_demo_sign_in_the_html_lists_the_residents(app, client):
    seeded(app)
    html = client.get("/miniapp/").get_data(as_text=True)
    entries = picker(html)
    listed = client.get("/api/v1/dev/demo-users").json["residents"]
    assert [e["attrs"]["data-openid"] for e in entries] == [r["openid"] for r in listed]
    wang = next(e for e in entries if e["attrs"]["data-openid"] == "demo-wang")
    assert "王芳" in wang["text"] and "1栋1单元201、1栋1单元202" in wang["text"]
    # the committee member carries the server's label for the role
    zhang = next(e for e in entries if e["attrs"]["data-openid"] == "demo-zhang")
    assert client.get("/api/v1/labels").json["role"]["committee"] in zhang["text"]
    # not live before pages/login.js has made it so (the server cannot sign anyone in)
    assert all(e["attrs"].get("aria-disabled") == "true" for e in entries)
    assert "以新微信用户进入" in html
    # inside the view, so it shows before any module has loaded
    view = re.search(r'<main class="view" id="view"[^>]*>(.*?)</main>', html, re.S).group(1)
    assert 'data-first-screen="login"' in view and "login-choice" in view


def test_an_unseeded_database_says_so(client):
    html = client.get("/miniapp/").get_data(as_text=True)
    assert picker(html) == []
    assert "还没有演示住户" in html


def test_without_the_demo_sign_in_there_is_no_picker(make_app):
    app = make_app(DEV_LOGIN=False)
    seeded(app)
    html = app.test_client().get("/miniapp/").get_data(as_text=True)
    assert picker(html) == []
    assert "demo-" not in html and "以新微信用户进入" not in html
    assert "请在微信中打开本小程序登录" in html


def test_the_labels_come_inside_the_html(client):
    for app in ("miniapp", "desk"):
        html = client.get(f"/{app}/").get_data(as_text=True)
        block = re.search(r'<script type="application/json" id="labels-data">(.*?)</script>', html, re.S)
        assert block, app
        assert json.loads(block.group(1)) == client.get("/api/v1/labels").json


def test_the_phones_style_sheets_are_inline_and_allowed_by_hash(client):
    response = client.get("/miniapp/")
    html = response.get_data(as_text=True)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    sheets = [(MOCK / "shared" / "base.css"), (MOCK / "miniapp" / "style.css")]
    assert styles == [s.read_text(encoding="utf-8") for s in sheets]
    assert 'rel="stylesheet"' not in html
    csp = response.headers["Content-Security-Policy"]
    style_src = re.search(r"style-src ([^;]+)", csp).group(1).split()
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
              for s in styles]
    assert style_src == ["'self'", *hashes]
    assert "'unsafe-inline'" not in csp and "script-src 'self';" in csp
    # the desk keeps its files and the plain policy
    desk = client.get("/desk/")
    assert "<style>" not in desk.get_data(as_text=True)
    assert "style-src 'self';" in desk.headers["Content-Security-Policy"]


def test_the_entry_module_is_asked_for_first(client):
    html = client.get("/miniapp/").get_data(as_text=True)
    preloads = re.findall(r'<link rel="modulepreload" href="/m/[0-9a-f]{12}/([^"]+)">', html)
    assert preloads[0] == "miniapp/app.js"
    # the login page's modules before the home page's
    assert preloads.index("miniapp/pages/login.js") < preloads.index("miniapp/pages/home.js")
    assert preloads.index("shared/api.js") < preloads.index("miniapp/pages/home.js")
