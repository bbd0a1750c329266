"""Ticket photos: checking uploads inside the request, storing the originals, and
making the display and thumbnail variants (the ``photos.process`` job).

In the request (``check_upload``): the file is read with a size cap, opened with an
allow-list of formats (JPEG, PNG, WebP, HEIC) whatever its name or declared type,
refused above a pixel limit (Pillow's bomb warning is an error too), and decoded
completely — a truncated file is refused and nothing is stored. Bytes after the end
of the image (a JPEG's EOI marker, PNG's IEND chunk, the RIFF size of a WebP) are
accepted and stripped: phones append data there (Google and Samsung motion photos
put a video after the JPEG), and the stored original ends where the image ends.

In the job (``process_photo``): the pixels are decoded again (JPEG in draft mode at
the smallest scale that still covers the display size), resized with
``reducing_gap``, turned upright from the EXIF orientation and re-encoded as JPEG
with no EXIF (so no GPS) and no comments. The original is then deleted unless
``PHOTO_KEEP_ORIGINALS`` is set: it still carries the phone's metadata.
"""
from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO, Iterable

import pillow_heif
from flask import current_app
from PIL import Image, ImageFile, UnidentifiedImageError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from backend.errors import AppError, TooLarge, UnsupportedMedia, ValidationFailed
from backend.extensions import db
from backend.outbox import enqueue
from backend.models import PhotoStage, PhotoState, Ticket, TicketPhoto, utcnow
from backend.services.storage import get_storage, new_key

log = logging.getLogger(__name__)

pillow_heif.register_heif_opener()
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Process-wide, well below Pillow's default (~89 MP); each open sets the configured
# PHOTO_MAX_PIXELS (the same for every app of a process).
Image.MAX_IMAGE_PIXELS = 40_000_000

# What Image.open may try (anything else is 415, whatever the file is called).
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
# Pillow reports multi-picture JPEGs (phones with depth maps) as MPO: a JPEG.
FORMAT_ALIASES = {"MPO": "JPEG"}
SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".heic"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                 "HEIF": "image/heic"}
DISPLAY_QUALITY = 82
THUMB_QUALITY = 78
MB = 1024 * 1024

# EXIF orientation → the transpose that makes the pixels upright.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _bomb_warning_is_an_error() -> None:
    """Make Pillow's DecompressionBombWarning an exception. Checked on every open
    (cheap) because test runners and other code may reset the warning filters."""
    for action, _msg, category, _mod, _line in warnings.filters:
        if category is Image.DecompressionBombWarning:
            if action == "error":
                return
            break
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


_bomb_warning_is_an_error()


# ----------------------------------------------------------------- checking uploads
@dataclass(frozen=True)
class CheckedImage:
    """An upload that passed every check; ``data`` ends where the image ends."""

    data: bytes
    format: str
    width: int
    height: int
    stripped_bytes: int = 0


def _limits() -> dict:
    cfg = current_app.config
    return {"max_bytes": cfg["MAX_PHOTO_BYTES"], "max_pixels": cfg["PHOTO_MAX_PIXELS"],
            "max_count": cfg["MAX_PHOTOS"]}


def _image_too_large(max_pixels: int, details: dict | None = None) -> TooLarge:
    return TooLarge(f"图片尺寸过大（最多 {max_pixels // 1_000_000} 百万像素），请压缩后再上传",
                    code="image_too_large", details=details or {})


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Open (header only) with the format allow-list and the pixel limit."""
    _bomb_warning_is_an_error()
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _image_too_large(max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia("只支持 JPEG、PNG、WebP 或 HEIC 格式的照片",
                               code="unsupported_image_type") from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure on untrusted bytes
        raise ValidationFailed("图片文件已损坏，无法识别", code="image_corrupt") from exc
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise ValidationFailed("图片文件已损坏，无法识别", code="image_corrupt")
    if width * height > max_pixels:
        image.close()
        raise _image_too_large(max_pixels)
    return image


def image_format(image: Image.Image) -> str:
    return FORMAT_ALIASES.get(image.format, image.format)


def check_image(data: bytes, max_pixels: int) -> CheckedImage:
    """Refuse anything that is not a complete image of an allowed type and size."""
    if not data:
        raise ValidationFailed("照片文件是空的", code="empty_file")
    image = open_image(data, max_pixels)
    fmt = image_format(image)
    width, height = image.size
    try:
        if fmt == "JPEG":
            # The smallest DCT scale: every byte of the scan is still decoded, so a
            # truncated file fails, at a fraction of the cost of a full decode.
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _image_too_large(max_pixels) from exc
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise ValidationFailed("图片文件不完整或已损坏，请重新选择", code="image_corrupt") from exc
    finally:
        image.close()
    end = image_end(fmt, data)
    if end is not None and end < len(data):
        return CheckedImage(data[:end], fmt, width, height, stripped_bytes=len(data) - end)
    return CheckedImage(data, fmt, width, height)


def read_capped(upload: BinaryIO, max_bytes: int) -> bytes:
    stream = getattr(upload, "stream", upload)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"每张照片不能超过 {max_bytes // MB}MB", code="photo_too_large")
    return data


# ----------------------------------------------------------------- where an image ends
def image_end(fmt: str, data: bytes) -> int | None:
    """Offset just past the image in ``data`` (anything after it is trailing data),
    or None when the structure is not understood (then nothing is stripped)."""
    finder = {"JPEG": jpeg_end, "PNG": png_end, "WEBP": webp_end}.get(fmt)
    return finder(data) if finder else None


def jpeg_end(data: bytes) -> int | None:
    """Walk the JPEG's segments (skipping their payloads, so EXIF thumbnails with
    their own EOI are not mistaken for the end) and entropy-coded scans to EOI."""
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    pos = 2
    while pos < n:
        if data[pos] != 0xFF:
            return None
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return None
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return pos
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no payload
            continue
        if pos + 2 > n:
            return None
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2:
            return None
        pos += length
        if marker == 0xDA:  # start of scan: skip entropy-coded data
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    return None
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    pos += 2  # stuffed byte or restart marker
                elif following == 0xFF:
                    pos += 1
                else:
                    break  # a real marker: back to the segment walk
    return None


def png_end(data: bytes) -> int | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos, n = 8, len(data)
    while pos + 8 <= n:
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos if pos <= n else None
    return None


def webp_end(data: bytes) -> int | None:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    end = 8 + int.from_bytes(data[4:8], "little")
    end += end % 2  # RIFF chunks are padded to even length
    return end if end <= len(data) else None


# ----------------------------------------------------------------- storing uploads
def check_uploads(uploads: Iterable[BinaryIO], *, max_count: int | None = None) -> list[CheckedImage]:
    """Read and check every upload before anything is stored (all or nothing)."""
    limits = _limits()
    uploads = list(uploads)
    max_count = limits["max_count"] if max_count is None else max_count
    if len(uploads) > max_count:
        raise ValidationFailed(f"最多上传 {max_count} 张照片", code="too_many_photos",
                               details={"fields": {"photos": [f"最多上传 {max_count} 张照片"]},
                                        "count": len(uploads), "max": max_count})
    checked = []
    for index, upload in enumerate(uploads, start=1):
        try:
            data = read_capped(upload, limits["max_bytes"])
            checked.append(check_image(data, limits["max_pixels"]))
        except AppError as exc:
            exc.details = {**exc.details, "photo": index,
                           "filename": getattr(upload, "filename", None) or ""}
            exc.message = f"第 {index} 张照片：{exc.message}"
            raise
    return checked


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


# ----------------------------------------------------------------- variants
@dataclass(frozen=True)
class Variant:
    data: bytes
    width: int
    height: int


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF: leave the pixels as they are
        return 1
    return value if isinstance(value, int) else 1


def _normalised(image: Image.Image) -> Image.Image:
    """Decoded pixels in a mode that resizes and encodes well (L, RGB or RGBA)."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L"):
        image.load()
        return image
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode in ("LA", "PA", "La", "RGBa"):
        return image.convert("RGBA")
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit greyscale: scale to 8 bits instead of clipping to white
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, ...


def _fit(image: Image.Image, box: int,
         resample: Image.Resampling = Image.Resampling.BICUBIC) -> Image.Image:
    width, height = image.size
    if max(width, height) <= box:
        return image
    if width >= height:
        size = (box, max(1, round(height * box / width)))
    else:
        size = (max(1, round(width * box / height)), box)
    # reducing_gap: a cheap integer box reduction first (when the factor allows),
    # then the resampling filter for the rest
    return image.resize(size, resample, reducing_gap=2.0)


def _flattened(image: Image.Image) -> Image.Image:
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image


def _encode(image: Image.Image, quality: int, icc_profile: bytes | None) -> Variant:
    # Nothing of the source's metadata travels: resize/transpose copy ``info``
    # (comments, EXIF), so it is cleared; only the colour profile is kept.
    image.info = {}
    out = io.BytesIO()
    params = {"quality": quality}
    if icc_profile:
        params["icc_profile"] = icc_profile
    image.save(out, "JPEG", **params)
    return Variant(out.getvalue(), image.width, image.height)


def render_variants(data: bytes, *, display_px: int = 1280, thumb_px: int = 320,
                    max_pixels: int = 40_000_000) -> tuple[Variant, Variant]:
    """(display, thumbnail) JPEGs re-encoded from the pixels of ``data``."""
    image = open_image(data, max_pixels)
    with image:
        orientation = _orientation(image)
        icc_profile = image.info.get("icc_profile")
        width, height = image.size
        if image_format(image) == "JPEG" and max(width, height) > display_px:
            # Decode at the smallest DCT scale whose result still covers the display
            # size (a 12 MP photo decodes at 1/2: a quarter of the pixels).
            scale = display_px / max(width, height)
            image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
        try:
            pixels = _normalised(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _image_too_large(max_pixels) from exc
        except Exception as exc:  # noqa: BLE001
            raise ValidationFailed("图片文件不完整或已损坏", code="image_corrupt") from exc
    # After draft mode the display step is a modest downscale (< 2x for phone
    # photos): the Hamming filter (antialiased, support 1) is as sharp as needed and
    # a third cheaper than bicubic. The thumbnail is made from the display variant.
    display = _fit(pixels, display_px, Image.Resampling.HAMMING)
    thumb = _fit(display, thumb_px)
    display, thumb = _flattened(display), _flattened(thumb)
    if display.mode not in ("RGB", "L"):
        display, thumb = display.convert("RGB"), thumb.convert("RGB")
    transpose = _ORIENTATION.get(orientation)
    if transpose is not None:
        # after resizing: turning 1280 px is cheaper than turning 12 MP
        display, thumb = display.transpose(transpose), thumb.transpose(transpose)
    return (_encode(display, DISPLAY_QUALITY, icc_profile),
            _encode(thumb, THUMB_QUALITY, icc_profile))


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
