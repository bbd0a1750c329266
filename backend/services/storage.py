"""Where uploaded files live: a small backend interface and a registry of backends
keyed by name (``STORAGE_BACKEND``; "local" by default, so that object storage can be
added later without touching callers).

Keys are random, generated here (never taken from a client's file name), and the
local backend keeps files under ``MEDIA_DIR`` — outside any static folder: nothing is
served from storage except through an authorising route.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Protocol

from flask import Response, current_app, redirect, send_file

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*(\.[a-z0-9]{1,5})?$")


class StorageError(Exception):
    """The backend could not store or read a file (callers may retry)."""


class Storage(Protocol):
    def save(self, key: str, data: bytes, content_type: str) -> None: ...

    def read(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for efficient serving, or None (remote backends)."""

    def list_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """(key, last modified) of every stored file under ``prefix``."""


def new_key(prefix: str, suffix: str = "") -> str:
    """A random, unguessable key: ``prefix/ab/<token><suffix>`` (sharded directories)."""
    token = secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")
    return f"{prefix}/{token[:2]}/{token}{suffix}"


def check_key(key: str) -> str:
    if not key or len(key) > 200 or ".." in key or not _KEY_RE.match(key):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Files in a local directory, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key escapes the media directory: {key!r}")
        return path

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o640)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise StorageError(f"cannot store {key}: {exc}") from exc

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def list_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        base = self.root / check_key(prefix)
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and _KEY_RE.match(key):  # skips temp files of writes in flight
                yield key, datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


# Registry: name → factory(config) (as CTFd's UPLOADERS). An object-storage backend
# registers here and is chosen with STORAGE_BACKEND.
def _s3(config: dict) -> Storage:
    from backend.services.storage_s3 import S3Storage  # boto3 only when chosen

    return S3Storage(config)


BACKENDS: dict[str, Callable[[dict], Storage]] = {
    "local": lambda config: LocalStorage(config["MEDIA_DIR"]),
    "s3": _s3,
}


def get_storage() -> Storage:
    """The app's storage backend (built once per app)."""
    app = current_app._get_current_object()
    storage = app.extensions.get("wuye_storage")
    if storage is None:
        name = app.config.get("STORAGE_BACKEND") or "local"
        if name not in BACKENDS:
            raise RuntimeError(f"unknown STORAGE_BACKEND {name!r}; known: {sorted(BACKENDS)}")
        storage = BACKENDS[name](app.config)
        app.extensions["wuye_storage"] = storage
    return storage


def send_stored(key: str, mimetype: str, download_name: str, cache_control: str, *,
                as_attachment: bool = False) -> Response:
    """The response serving stored file ``key`` — for a caller the route has ALREADY
    authorised. Every file-serving route uses this one function.

    ``STORAGE_SERVE=app`` (default): the bytes go through the app (a local file by
    path, an object streamed from the bucket), conditional (ETag), never sniffed.
    ``STORAGE_SERVE=presigned`` with a backend that can sign URLs (s3): a 302 to a
    URL valid for ``STORAGE_PRESIGNED_EXPIRES`` seconds, itself never cached, so the
    link is handed only to this caller and expires soon.
    Raises FileNotFoundError when there is no such file (the route says so in Chinese).
    """
    storage = get_storage()
    config = current_app.config
    if config.get("STORAGE_SERVE") == "presigned" and hasattr(storage, "presigned_url"):
        if not storage.exists(key):
            raise FileNotFoundError(key)
        url = storage.presigned_url(key, expires=int(config["STORAGE_PRESIGNED_EXPIRES"]),
                                    content_type=mimetype, download_name=download_name,
                                    as_attachment=as_attachment)
        response = redirect(url, code=302)
        response.headers["Cache-Control"] = "no-store"
    else:
        path = storage.local_path(key)
        if path is not None:
            if not path.is_file():
                raise FileNotFoundError(key)
            response = send_file(path, mimetype=mimetype, conditional=True, etag=True,
                                 max_age=None, as_attachment=as_attachment,
                                 download_name=download_name)
        else:
            head = storage.head(key)
            if head is None:
                raise FileNotFoundError(key)
            # the object's ETag answers If-None-Match without reading the body
            response = send_file(storage.open(key), mimetype=mimetype, conditional=True,
                                 etag=head["etag"], max_age=None, as_attachment=as_attachment,
                                 download_name=download_name)
            response.content_length = head["size"]
        response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Authorization")
    return response


def copy_local_to(target, root: str | os.PathLike, *, progress=None) -> dict[str, int]:
    """Copy every file under the local media directory ``root`` to ``target`` (an s3
    backend) under the same key. Idempotent and resumable: a key already there with the
    same size and ETag (MD5 of a single-part upload) is skipped, each object is written
    whole (an interrupted run leaves no partial object), so running it again finishes
    the job. Returns counts: copied, skipped, failed."""
    import hashlib
    import mimetypes

    source = LocalStorage(root)
    counts = {"copied": 0, "skipped": 0, "failed": 0}
    if not source.root.is_dir():
        return counts
    for path in sorted(source.root.rglob("*")):
        key = path.relative_to(source.root).as_posix()
        if not path.is_file() or not _KEY_RE.match(key):
            continue  # temp files of writes in flight
        data = path.read_bytes()
        head = target.head(key)
        if (head is not None and head["size"] == len(data)
                and head["etag"] == hashlib.md5(data, usedforsecurity=False).hexdigest()):
            counts["skipped"] += 1
            continue
        try:
            target.save(key, data, mimetypes.guess_type(key)[0] or "application/octet-stream")
        except StorageError:
            counts["failed"] += 1
            continue
        counts["copied"] += 1
        if progress is not None:
            progress(key)
    return counts
