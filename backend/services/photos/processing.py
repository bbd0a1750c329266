"""Processing one photo (the ``photos.process`` job, backend/jobs/photos.py, commits):
the variants are made from the stored original and recorded on the photo; the
original is then deleted unless ``PHOTO_KEEP_ORIGINALS`` is set (it still carries
the phone's metadata)."""
from __future__ import annotations

from flask import current_app

from backend.errors import AppError
from backend.extensions import db
from backend.models import PhotoState, TicketPhoto, utcnow
from backend.services.photos.files import delete_after_commit
from backend.services.photos.variants import render_variants
from backend.services.storage import get_storage


class PhotoFailed(Exception):
    """The photo can never be processed (the job records it and does not retry)."""


def process_photo(photo_id: int) -> str:
    """Make the display and thumbnail variants of one photo and record them on its
    row (the caller commits; the original is deleted after that commit unless
    ``PHOTO_KEEP_ORIGINALS``). Idempotent: a photo that is no longer ``processing``
    is left alone, and variant names derive from the original's, so a retry after a
    crash overwrites rather than duplicates. ``PhotoFailed`` when it can never be
    processed: the row is marked failed (commit that too)."""
    photo = db.session.get(TicketPhoto, photo_id)
    if photo is None:
        return "missing"
    if photo.state != PhotoState.processing:
        return "already-done"
    cfg = current_app.config
    storage = get_storage()
    original_key = photo.original_key
    try:
        original = storage.read(original_key)
    except FileNotFoundError:
        db.session.refresh(photo)
        if photo.state != PhotoState.processing:  # another run just finished it
            return "already-done"
        return _fail(photo, "original missing")
    try:
        display, thumb = render_variants(original, display_px=cfg["PHOTO_DISPLAY_PX"],
                                         thumb_px=cfg["PHOTO_THUMB_PX"],
                                         max_pixels=cfg["PHOTO_MAX_PIXELS"])
    except AppError as exc:
        return _fail(photo, f"{exc.code}: {exc}")
    base = original_key.rsplit(".", 1)[0]
    display_key, thumb_key = f"{base}-display.jpg", f"{base}-thumb.jpg"
    storage.save(display_key, display.data, "image/jpeg")
    storage.save(thumb_key, thumb.data, "image/jpeg")
    photo.display_key, photo.thumb_key = display_key, thumb_key
    photo.width, photo.height = display.width, display.height
    photo.state = PhotoState.ready
    photo.processed_at = utcnow()
    photo.error = None
    if not cfg.get("PHOTO_KEEP_ORIGINALS"):
        photo.original_key = None
        delete_after_commit([original_key])
    return "done"


def _fail(photo: TicketPhoto, reason: str) -> str:
    photo.state = PhotoState.failed
    photo.error = reason[:200]
    photo.processed_at = utcnow()
    raise PhotoFailed(reason)
