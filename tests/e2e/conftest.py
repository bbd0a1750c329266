"""Browser tests: the real app served over HTTP, driven in Debian's Chromium.

One server per session: a temporary SQLite database built by ``flask db upgrade
heads`` and filled by ``flask seed-demo`` (the demo community the pages offer in their
login pickers), served by werkzeug on a free loopback port in a background thread
(jobs run inline after each response, as in a deployment without Redis). Each test
opens its own browser contexts (a phone at 375×812, a desk screen at 1366×900), so
roles never share a login. Screenshots of the main screens go to tests/e2e/screenshots/
(docs/screenshots/ with `make screenshots`).

Chromium missing: the tests skip, or fail when ``REQUIRE_SERVICES=1`` (CI).
"""
from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import SECRET, missing_service

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--lang=zh-CN"]
# Each run saves the main screens here (git ignores it); `make screenshots` writes them
# to docs/screenshots/ instead, for the README.
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOT_DIR")
                   or Path(__file__).resolve().parent / "screenshots").resolve()
PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1366, "height": 900}}
TIMEOUT_MS = 15_000


expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app, migrated and seeded with the demo community, on 127.0.0.1:<free port>."""
    from werkzeug.serving import make_server

    from backend import create_app
    from backend.extensions import db

    tmp = tmp_path_factory.mktemp("e2e")
    app = create_app({
        "DATABASE_URL": f"sqlite:///{tmp / 'e2e.db'}",
        "INSTANCE_DIR": str(tmp), "MEDIA_DIR": str(tmp / "media"), "SECRET_KEY": SECRET,
        "REDIS_URL": None, "DEV_LOGIN": True, "SERVE_MINIAPP": True,
        # every test signs in several people from one address
        "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING",
        # no WeChat here: subscribe messages are skipped, not attempted
        "WECHAT_APPID": "", "WECHAT_SECRET": "",
    })
    runner = app.test_cli_runner()
    for args in (["db", "upgrade", "heads"], ["seed-demo"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app}
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        missing_service(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page whose script errors and CSP violations fail the test."""

    def __init__(self, page, name):
        self.page = page
        self.name = name
        self.problems: list[str] = []
        page.on("pageerror", lambda exc: self.problems.append(f"{name}: page error: {exc}"))
        page.on("console", self._console)

    def _console(self, message):
        text = message.text
        # a 4xx the page shows to the user is expected; script errors and CSP refusals are not
        if message.type == "error" and "Failed to load resource" not in text:
            self.problems.append(f"{self.name}: console error: {text}")
        if "Content Security Policy" in text:
            self.problems.append(f"{self.name}: CSP: {text}")


@pytest.fixture
def open_page(browser, live_server):
    """``open_page("phone"|"desk", name)`` → a new page in its own context (own login)."""
    contexts, watched = [], []

    def _open(kind: str, name: str):
        options = PHONE if kind == "phone" else DESK
        context = browser.new_context(base_url=live_server["url"], locale="zh-CN",
                                      timezone_id="Asia/Shanghai", **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        watched.append(Watched(page, name))
        return page

    yield _open
    problems = [p for w in watched for p in w.problems]
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def screenshot():
    """``screenshot(page, "miniapp-home")`` saves SCREENSHOTS/miniapp-home.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str):
        page.evaluate("document.fonts.ready")
        # a passing toast would cover the screen being documented
        page.evaluate("document.querySelectorAll('.toast-show')"
                      ".forEach((t) => t.classList.remove('toast-show'))")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")

    return _shot


@pytest.fixture(scope="session")
def jpeg_photo(tmp_path_factory):
    """A small real JPEG made with Pillow (a 'photo' of a leaking pipe)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (200, 214, 226))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 300, 640, 480), fill=(150, 150, 150))
    draw.rectangle((280, 0, 360, 320), fill=(90, 90, 100))
    for i in range(6):
        draw.ellipse((300 + i * 6, 320 + i * 20, 330 + i * 6, 345 + i * 20), fill=(60, 120, 220))
    path = tmp_path_factory.mktemp("photos") / "leak.jpg"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path
