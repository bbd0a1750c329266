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

    response = current_app.response_class(_RELATIVE_URL.sub(versioned, html), mimetype="text/html")
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
