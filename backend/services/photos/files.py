"""The stored files of ticket photos: storing checked uploads (deleted again if the
transaction does not commit), deleting files once a commit lets go of them, and
sweeping files no photo refers to."""
from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backend.extensions import db
from backend.models import PhotoStage, PhotoState, Ticket, TicketPhoto, utcnow
from backend.outbox import enqueue
from backend.services.photos.checks import CheckedImage
from backend.services.storage import get_storage, new_key

log = logging.getLogger(__name__)

SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".heic"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                 "HEIF": "image/heic"}


def add_photos(ticket: Ticket, uploader_id: int | None, images: list[CheckedImage],
               stage: PhotoStage) -> list[TicketPhoto]:
    """Store the originals under random names and record the photos (state
    ``processing``); a job per photo makes the variants after the commit. If the
    transaction does not commit, the stored files are deleted again."""
    storage = get_storage()
    photos = []
    stored: list[str] = []
    try:
        for image in images:
            key = new_key("tickets", SUFFIXES[image.format])
            storage.save(key, image.data, CONTENT_TYPES[image.format])
            stored.append(key)
            if image.stripped_bytes:
                log.info("photo %s: %d trailing byte(s) after the image stripped", key,
                         image.stripped_bytes)
            photo = TicketPhoto(ticket=ticket, uploader_id=uploader_id, stage=stage,
                                state=PhotoState.processing, original_key=key,
                                original_format=image.format, original_bytes=len(image.data))
            db.session.add(photo)
            photos.append(photo)
        db.session.flush()
    except BaseException:
        _delete_quietly(stored)
        raise
    db.session.info.setdefault("uncommitted_files", []).extend(stored)
    for photo in photos:
        enqueue("photos.process", photo.id)
    return photos


def _delete_quietly(keys: list[str]) -> None:
    if not keys:
        return
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - best effort; the file is orphaned, not exposed
            log.warning("could not delete uncommitted upload %s", key)


def delete_after_commit(keys: list[str]) -> None:
    """Delete these stored files once the transaction commits (a row no longer refers
    to them); kept if it does not."""
    db.session.info.setdefault("files_to_delete", []).extend(keys)


@event.listens_for(Session, "after_commit")
def _files_committed(session: Session) -> None:
    session.info.pop("uncommitted_files", None)
    _delete_quietly(session.info.pop("files_to_delete", None) or [])


@event.listens_for(Session, "after_transaction_end")
def _files_rolled_back(session: Session, transaction) -> None:
    # The outermost transaction ended without a commit (after_commit would have
    # taken the lists): the rows are gone, so are their files; files a committed
    # change would have let go of are still referred to.
    if transaction.parent is None and transaction.nested is False:
        session.info.pop("files_to_delete", None)
        keys = session.info.pop("uncommitted_files", None)
        if keys:
            _delete_quietly(keys)


def delete_files(photo: TicketPhoto) -> None:
    storage = get_storage()
    for key in (photo.original_key, photo.display_key, photo.thumb_key):
        if key:
            with contextlib.suppress(Exception):
                storage.delete(key)


def sweep_orphans(older_than: timedelta = timedelta(hours=1), dry_run: bool = False) -> dict:
    """Delete stored ticket files no photo refers to (left by a process that died
    between storing an upload and committing it). Files younger than ``older_than``
    are left alone: their request may still be running."""
    referenced: set[str] = set()
    for keys in db.session.execute(select(TicketPhoto.original_key, TicketPhoto.display_key,
                                          TicketPhoto.thumb_key)):
        referenced.update(k for k in keys if k)
    storage = get_storage()
    cutoff = utcnow() - older_than
    checked, removed = 0, []
    for key, modified in storage.list_keys("tickets"):
        checked += 1
        if key in referenced or modified > cutoff:
            continue
        if not dry_run:
            storage.delete(key)
        removed.append(key)
    return {"checked": checked, "removed": removed}
