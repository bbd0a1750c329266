"""Checking an upload inside the request, before anything is stored.

The file is read with a size cap, opened with an allow-list of formats (JPEG, PNG,
WebP, HEIC) whatever its name or declared type, and refused above a pixel limit
(Pillow's bomb warning is an error too). Then, on the bytes that will be stored
(anything after the end of the image stripped: see ``structure``), the format's own
integrity check runs (``verify``: PNG chunk checksums up to IEND) and every row is
decoded on a fresh handle, so a truncated file is refused; a JPEG must also have
scan data for the whole size its header claims (``jpeg_scans_cover``).
"""
from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO, Iterable

import pillow_heif
from flask import current_app
from PIL import Image, ImageFile, UnidentifiedImageError

from backend.errors import AppError, TooLarge, UnsupportedMedia, ValidationFailed
from backend.services.photos.structure import JpegScan, image_end, jpeg_scans

pillow_heif.register_heif_opener()
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Process-wide, well below Pillow's default (~89 MP); each open sets the configured
# PHOTO_MAX_PIXELS (the same for every app of a process).
Image.MAX_IMAGE_PIXELS = 40_000_000

# What Image.open may try (anything else is 415, whatever the file is called).
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
# Pillow reports multi-picture JPEGs (phones with depth maps) as MPO: a JPEG.
FORMAT_ALIASES = {"MPO": "JPEG"}
MB = 1024 * 1024


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


def image_too_large(max_pixels: int, details: dict | None = None) -> TooLarge:
    return TooLarge(f"图片尺寸过大（最多 {max_pixels // 1_000_000} 百万像素），请压缩后再上传",
                    code="image_too_large", details=details or {})


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Open (header only) with the format allow-list and the pixel limit."""
    _bomb_warning_is_an_error()
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise image_too_large(max_pixels) from exc
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
        raise image_too_large(max_pixels)
    return image


def image_format(image: Image.Image) -> str:
    return FORMAT_ALIASES.get(image.format, image.format)


def check_image(data: bytes, max_pixels: int) -> CheckedImage:
    """Refuse anything that is not a complete image of an allowed type and size.

    The checks run on the bytes that will be stored (trailing data stripped): the
    container's own integrity check (``verify``: PNG chunk checksums up to IEND),
    then a decode of every pixel row on a fresh handle, and for JPEG a test that
    the scans really cover the size the header claims (``jpeg_scans_cover``)."""
    if not data:
        raise ValidationFailed("照片文件是空的", code="empty_file")
    with open_image(data, max_pixels) as image:
        fmt = image_format(image)
        width, height = image.size
    stripped = 0
    end = image_end(fmt, data)
    if end is not None and end < len(data):
        data, stripped = data[:end], len(data) - end
    with _refused_if_broken(max_pixels):
        with open_image(data, max_pixels) as image:
            image.verify()
        pixels = _check_decode(data, max_pixels)
        if fmt == "JPEG" and not jpeg_scans_cover(data, pixels, max_pixels):
            raise ValidationFailed("图片文件不完整或已损坏，请重新选择", code="image_corrupt")
    return CheckedImage(data, fmt, width, height, stripped_bytes=stripped)


@contextlib.contextmanager
def _refused_if_broken(max_pixels: int):
    """Any failure to decode untrusted bytes is the upload's fault: 400 (413 for a
    decompression bomb), never a 500."""
    try:
        yield
    except AppError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise image_too_large(max_pixels) from exc
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise ValidationFailed("图片文件不完整或已损坏，请重新选择", code="image_corrupt") from exc


def _check_decode(data: bytes, max_pixels: int) -> bytes:
    """Every row decoded (a truncated file fails: LOAD_TRUNCATED_IMAGES is off); the
    pixels as bytes. JPEG decodes at the smallest DCT scale (1/8): every byte of the
    scans is still entropy-decoded, at a fraction of the cost of a full decode."""
    with open_image(data, max_pixels) as image:
        if image_format(image) == "JPEG":
            width, height = image.size
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
        image.load()
        return image.tobytes()


def jpeg_scans_cover(data: bytes, pixels: bytes, max_pixels: int) -> bool:
    """Whether the JPEG's scans hold data for every block the header claims
    (``pixels``: ``data`` as ``_check_decode`` decoded it).

    libjpeg does not fail when a scan's data ends early: it warns and leaves the
    missing blocks empty (mid-grey), so a header claiming 60000×600 over the data of
    a small picture decodes "fine", and Pillow does not expose the warning. So the
    file is decoded again with each scan's data repeated at its end: a decoder that
    had every block it needed skips the repeat (bytes before a marker are skipped),
    one that ran short decodes the picture again into the missing blocks, and the
    pixels differ (unless the picture is one flat grey, when the missing part looks
    the same anyway).

    Only the scans of DC coefficients are decoded again: at the check's 1/8 scale
    only DC shows, and a progressive file's AC scans are most of its decoding time.
    Without its AC scans a progressive file decodes a little differently (libjpeg
    smooths DC-only blocks), so it is compared with itself decoded without the
    repeat."""
    scans = jpeg_scans(data)
    if not scans:
        return True
    repeated = _check_decode(_dc_scans(data, scans, repeat=True), max_pixels)
    if all(scan.has_dc for scan in scans):
        return repeated == pixels
    return repeated == _check_decode(_dc_scans(data, scans, repeat=False), max_pixels)


def _dc_scans(data: bytes, scans: list[JpegScan], *, repeat: bool) -> bytes:
    """``data`` with only its DC scans, each one's data repeated if ``repeat``."""
    parts, pos = [], 0
    for scan in scans:
        parts.append(data[pos:scan.header])  # tables between scans are kept
        pos = scan.end
        if not scan.has_dc:
            continue
        parts.append(data[scan.header:scan.end])
        if repeat:
            again = data[scan.start:scan.end]
            parts.append(again)
            if scan.restart_interval:
                # A decoder between restart intervals skips bytes up to the restart
                # marker it expects next: give it that marker, then the data again.
                parts += [bytes((0xFF, 0xD0 + scan.restarts % 8)), again]
    parts.append(data[pos:])
    return b"".join(parts)


def read_capped(upload: BinaryIO, max_bytes: int) -> bytes:
    stream = getattr(upload, "stream", upload)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"每张照片不能超过 {max_bytes // MB}MB", code="photo_too_large")
    return data


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
