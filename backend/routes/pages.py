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

Round trips, for the same phones (each request costs one on a mobile network, and
a browser opens only six connections at once): the phone app's HTML carries its
first screen, the login page, rendered by the server (templates/pages/
miniapp_login.html: with the demo sign-in on, the picker's residents), so it shows
with the HTML alone (its style sheets are inside it too, ``INLINE_STYLES``, allowed
by their hashes in that response's CSP); pages/login.js makes it live once the
modules are in. Both
apps' HTML carries the labels (``GET /api/v1/labels``) as an inline JSON block that
shared/labels.js reads instead of asking, and lists every module of its first
screens (``modulepreload``: the entry's static imports, followed through, then the
first pages, ``FIRST_SCREEN``) so they load in one wave instead of one wave per
level of imports. The responses are compressed (backend/extensions.py
``init_compression``).
"""
from __future__ import annotations

import base64
import hashlib
import os
import posixpath
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from jinja2.utils import htmlsafe_json_dumps

from backend.config import BASE_DIR
from backend.routes.dev import demo_accounts, demo_login_on
from backend.routes.labels import LabelsOut, catalogue
from backend.rules.labels import ROLE_LABELS
from backend.security import CSP

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
# Apps whose style sheets go inside the HTML: the phone shows its first screen with
# the HTML alone (~8 KB more, compressed, instead of two more requests on a slow
# network); the desk, on office networks, keeps them as cached files.
INLINE_STYLES = {"miniapp"}
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)">')
# Where the server-rendered first screen goes, and the id shared/labels.js reads.
VIEW = '<main class="view" id="view" tabindex="-1"></main>'
LABELS_ID = "labels-data"
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

    styles = _inline_styles(app, html) if app in INLINE_STYLES else {}
    for link, css in styles.items():
        html = html.replace(link, f"<style>{css}</style>", 1)
    html = _RELATIVE_URL.sub(versioned, html)
    # before the entry script, so the browser asks for them all in its first wave
    anchor = "  <script type=\"module\"" if "<script type=\"module\"" in html else "</head>"
    html = html.replace(anchor, _preloads(app, version, html) + _labels() + anchor, 1)
    if app == "miniapp":
        html = html.replace(VIEW, VIEW.replace("></main>", f">{_login_screen()}</main>"), 1)
    response = current_app.response_class(html, mimetype="text/html")
    response.cache_control.no_cache = True
    if styles:  # the strict CSP, allowing exactly these style elements
        allowed = " ".join(f"'sha256-{_digest(css)}'" for css in styles.values())
        response.headers["Content-Security-Policy"] = CSP.replace(
            "style-src 'self'", f"style-src 'self' {allowed}", 1)
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
    module and first pages and everything they import statically: the entry's first,
    then each first page's, in the order the browser should ask for them (it asks for
    at most six at once on HTTP/1.1)."""
    key = (app, version)
    if key not in _graphs:
        html = (APPS[app] / "index.html").read_text(encoding="utf-8")
        roots = [posixpath.normpath(posixpath.join(app, m)) for m in _MODULE_ENTRY.findall(html)]
        roots += [f"{app}/{page}" for page in FIRST_SCREEN.get(app, ())]
        seen: list[str] = []
        for root in roots:
            queue = [root]
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
    # the entry script too: a module script is asked for with a lower priority than
    # preloads, so without its own preload it would wait behind all of them
    return "".join(f'  <link rel="modulepreload" href="/m/{version}/{path}">\n'
                   for path in module_graph(app, version)
                   if f'rel="modulepreload" href="/m/{version}/{path}"' not in html)


def _inline_styles(app: str, html: str) -> dict[str, str]:
    """The HTML's style sheet links (as written in index.html) and each sheet's text."""
    styles = {}
    for match in _STYLESHEET.finditer(html):
        path = MOCK_DIR / posixpath.normpath(posixpath.join(app, match.group(1)))
        # as the HTML parser will see it (it turns CR LF into LF), so the hash matches
        styles[match.group(0)] = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    return styles


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _labels() -> str:
    """The labels as ``GET /api/v1/labels`` answers them, in a JSON data block (not
    run as a script, so the CSP has nothing to allow)."""
    data = htmlsafe_json_dumps(LabelsOut().dump(catalogue()))
    return f'  <script type="application/json" id="{LABELS_ID}">{data}</script>\n'


def _login_screen() -> str:
    """The login page, with the demo residents to pick from while the demo sign-in is
    on (the same list as ``GET /api/v1/dev/demo-users``); without it, only the hint
    to open the mini-program in WeChat."""
    demo = demo_accounts() if demo_login_on() else None
    return render_template("pages/miniapp_login.html", demo=demo, role_labels=ROLE_LABELS)


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
