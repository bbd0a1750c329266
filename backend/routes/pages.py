"""The browser stand-ins for the WeChat mini-program (``/miniapp/``) and the
front-desk console (``/desk/``), served as plain files from ``miniapp_mock/``.

No build step at run time: the pages are HTML, CSS and ES modules committed as they
are. Served only while the ``SERVE_MINIAPP`` setting is on (a deployment that ships
the real mini-program turns it off and these paths answer 404). The strict CSP set
in backend/security.py applies to every file served here.

Caching, for phones on slow networks: each app's ``index.html`` is always revalidated
and points at its files under a versioned prefix, ``/m/<version>/...``, where the
version is derived from the files themselves. Those versioned files are cached for a
year (``immutable``): a repeat visit costs one conditional request for the HTML, and
any change to a file changes the version, so nobody runs a stale module. The module
graph keeps working unchanged because imports are relative (``../shared/api.js``
from ``/m/<v>/miniapp/app.js`` is ``/m/<v>/shared/api.js``).

Round trips, for the same phones: the HTML lists every module of its first screens
(``modulepreload``: the entry's static imports, followed through, and the first
pages, ``FIRST_SCREEN``) so they all load in one wave instead of one wave per level
of imports; with the demo sign-in on, the login picker's list is preloaded too. The
responses are compressed (backend/extensions.py ``init_compression``).
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import re

from flask import Blueprint, abort, current_app, redirect, request, send_from_directory, url_for

from backend.config import BASE_DIR

MOCK_DIR = BASE_DIR / "miniapp_mock"
APPS = {"miniapp": MOCK_DIR / "miniapp", "desk": MOCK_DIR / "desk", "shared": MOCK_DIR / "shared"}
# Module scripts are refused by browsers unless served with a JavaScript type, and
# nosniff is on: do not depend on the host's mime.types for these.
# (Flask adds "; charset=utf-8" to text types.)
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
}
YEAR = 365 * 24 * 3600
# The pages a visit most often starts on: their modules are preloaded with the shell's.
FIRST_SCREEN = {"miniapp": ("pages/login.js", "pages/home.js"),
                "desk": ("pages/login.js", "pages/tickets.js")}
# What the login picker asks first when the demo sign-in is on (routes/dev.py).
DEMO_USERS_URL = "/api/v1/dev/demo-users"
_STATIC_IMPORT = re.compile(r'^\s*(?:import|export)\b[^;"\']*?(?:\bfrom\s*)?["\'](\.{1,2}/[^"\']+)["\']', re.M)
_MODULE_ENTRY = re.compile(r'<script type="module" src="([^"]+)"')
_graphs: dict[tuple[str, str], tuple[str, ...]] = {}  # (app, version) → module paths
# relative href/src in the HTML (not "#fragment", not absolute, not "scheme:")
_RELATIVE_URL = re.compile(r'\b(href|src)="(?![#/]|[a-z][a-z0-9+.-]*:)([^"]+)"')

bp = Blueprint("pages", __name__)


@bp.before_request
def _only_when_enabled():
    if not current_app.config.get("SERVE_MINIAPP"):
        abort(404)


@bp.get("/")
def root():
    return redirect(url_for("pages.app_index", app="miniapp"))


@bp.get("/<any(miniapp, desk):app>")
def app_without_slash(app: str):
    return redirect(url_for("pages.app_index", app=app), code=308)


@bp.get("/<any(miniapp, desk):app>/")
def app_index(app: str):
    """The app's HTML with its files addressed under the current version."""
    version = asset_version()
    html = (APPS[app] / "index.html").read_text(encoding="utf-8")

    def versioned(match: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(app, match.group(2)))
        return f'{match.group(1)}="/m/{version}/{target}"'

    html = _RELATIVE_URL.sub(versioned, html)
    # before the entry script, so the browser asks for them all in its first wave
    anchor = "  <script type=\"module\"" if "<script type=\"module\"" in html else "</head>"
    html = html.replace(anchor, _preloads(app, version, html) + anchor, 1)
    response = current_app.response_class(html, mimetype="text/html")
    response.cache_control.no_cache = True
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/m/<version>/<any(miniapp, desk, shared):app>/<path:filename>")
def versioned_file(version: str, app: str, filename: str):
    """A file at a given version: cached for good when the version is current."""
    response = _send(app, filename)
    if version == asset_version():
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
        response.headers.pop("Expires", None)
    return response


@bp.get("/<any(miniapp, desk, shared):app>/<path:filename>")
def app_file(app: str, filename: str):
    """Unversioned addresses keep working (revalidated on every use)."""
    return _send(app, filename)


def module_graph(app: str, version: str) -> tuple[str, ...]:
    """The served paths (``miniapp/app.js``, ``shared/api.js``, ...) of the app's entry
    module and first pages and everything they import statically, in load order."""
    key = (app, version)
    if key not in _graphs:
        html = (APPS[app] / "index.html").read_text(encoding="utf-8")
        queue = [posixpath.normpath(posixpath.join(app, m)) for m in _MODULE_ENTRY.findall(html)]
        queue += [f"{app}/{page}" for page in FIRST_SCREEN.get(app, ())]
        seen: list[str] = []
        while queue:
            path = queue.pop(0)
            if path in seen or path.split("/", 1)[0] not in APPS:
                continue
            source = MOCK_DIR / path
            if not source.is_file():
                continue
            seen.append(path)
            text = source.read_text(encoding="utf-8")
            queue += [posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
                      for target in _STATIC_IMPORT.findall(text)]
        if len(_graphs) > 16:  # old versions of a long-running server
            _graphs.clear()
        _graphs[key] = tuple(seen)
    return _graphs[key]


def _preloads(app: str, version: str, html: str) -> str:
    links = [f'  <link rel="modulepreload" href="/m/{version}/{path}">\n'
             for path in module_graph(app, version) if f"/m/{version}/{path}" not in html]
    if app == "miniapp" and current_app.config.get("DEV_LOGIN"):
        # fetched as api.js fetches it (same-origin credentials), so the page's own
        # request is answered from this preload
        links.append(f'  <link rel="preload" href="{DEMO_USERS_URL}" as="fetch" crossorigin>\n')
    return "".join(links)


def asset_version() -> str:
    """A short digest of every served file's name, size and modification time: any
    edit (or a deployment of new files) gives a new version. A few dozen stat calls."""
    digest = hashlib.sha1()
    for root, dirs, files in os.walk(MOCK_DIR):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            stat = os.stat(path)
            digest.update(f"{os.path.relpath(path, MOCK_DIR)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]


def _send(app: str, filename: str):
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in TYPES:
        abort(404)
    # send_from_directory refuses paths that leave the folder (../) with a 404.
    response = send_from_directory(APPS[app], filename, mimetype=TYPES[suffix], max_age=0)
    # Revalidate every time (cheap 304s thanks to the ETag): unversioned names carry
    # no version, so a long cache would keep stale modules.
    response.cache_control.no_cache = True
    return response
