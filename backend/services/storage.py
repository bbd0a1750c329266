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

from flask import current_app

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
BACKENDS: dict[str, Callable[[dict], Storage]] = {
    "local": lambda config: LocalStorage(config["MEDIA_DIR"]),
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
