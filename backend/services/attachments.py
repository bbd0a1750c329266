"""Attachments: files people upload for a record to refer to (a notice's images and
PDFs, a fund proposal's plan and quotations, a paper ballot's photo, a proxy's
授权委托书).

- ``check_files`` runs inside the request, before anything is stored (all or
  nothing): images go through the photo checks (allow-list, pixel limit, a complete
  decode) and are re-encoded to a JPEG in sRGB without metadata; PDFs are opened
  with pypdf and refused when encrypted, empty, over the page limit, or carrying
  active content (JavaScript, launch actions, embedded files).
- ``store_attachments`` stores the checked files under random keys and records the
  rows; if the transaction does not commit, the files are deleted again (the photo
  module's session hooks).
- ``attachment_response`` serves one file. The caller authorises first: who may see
  an attachment is decided by the record that refers to it.

How a feature uses them: the page uploads the files first with
``POST /api/v1/attachments`` (backend/routes/attachments.py: multipart ``files``,
optional ``community_id``; answers ``{"items": [AttachmentOut...]}`` with ids), then
sends the record with ``attachment_ids``. The feature keeps the ids in a table of
its own (a foreign key to ``attachment.id``; uploads nothing refers to are swept
after a day), loads them with ``get_attachments(community_id, ids)`` (refuses ids of
another community: ids come from clients), shows them with
``backend.routes.common.AttachmentOut`` (its ``url`` a route of the feature's own),
and serves them from that route with ``attachment_response`` after checking that
the caller may see the record. A record that must store a file itself (a server
that receives it in one request) can call ``check_files`` + ``store_attachments``.
"""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO, Iterable

from flask import Response, current_app
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlalchemy import Column, exists, select

from backend.errors import NotFound, TooLarge, UnsupportedMedia, ValidationFailed
from backend.extensions import db
from backend.models.attachment import Attachment
from backend.models.base import Base, utcnow
from backend.services.photos.checks import MB, check_image
from backend.services.photos.files import delete_after_commit
from backend.services.photos.variants import render_variants
from backend.services.storage import get_storage, new_key, send_stored

PDF = "application/pdf"
JPEG = "image/jpeg"
# Names of PDF dictionary entries that run something when the file is opened or
# clicked, or carry other files: a document for owners to read needs none of them.
ACTIVE_PDF_KEYS = ("/JavaScript", "/JS", "/Launch", "/EmbeddedFiles", "/EmbeddedFile",
                   "/RichMedia", "/XFA", "/SubmitForm", "/ImportData")
STORAGE_PREFIX = "attachments"


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check: the bytes to store and what they are."""

    data: bytes
    content_type: str
    name: str
    pages: int | None = None
    width: int | None = None
    height: int | None = None

    @property
    def suffix(self) -> str:
        return ".pdf" if self.content_type == PDF else ".jpg"


def _limits() -> dict:
    cfg = current_app.config
    return {"max_bytes": cfg["ATTACHMENT_MAX_BYTES"], "max_pages": cfg["ATTACHMENT_MAX_PAGES"],
            "image_px": cfg["ATTACHMENT_IMAGE_PX"], "max_pixels": cfg["PHOTO_MAX_PIXELS"]}


def shown_name(filename: str | None, fallback: str) -> str:
    """The uploader's file name reduced to something safe to display and to offer as
    a download name: no directories, no control characters, at most 120 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] != "C").strip(" .")
    name = re.sub(r"\s+", " ", name)
    return name[:120] or fallback


def _read_capped(upload: BinaryIO, max_bytes: int) -> bytes:
    stream = getattr(upload, "stream", upload)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"每个文件不能超过 {max_bytes // MB}MB", code="file_too_large",
                       details={"max_bytes": max_bytes})
    if not data:
        raise ValidationFailed("文件是空的", code="empty_file")
    return data


def _has_active_content(value, seen: set[int], depth: int = 0) -> bool:
    """Whether a PDF object (followed through references, each once) holds one of
    ``ACTIVE_PDF_KEYS`` or a JavaScript action."""
    if depth > 60:
        return True  # absurd nesting: not a document we want to pass on
    ref = getattr(value, "indirect_reference", None)
    if ref is not None:
        marker = (ref.idnum, ref.generation)
        if marker in seen:
            return False
        seen.add(marker)
    if hasattr(value, "get_object"):
        value = value.get_object()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ACTIVE_PDF_KEYS:
                return True
            if key == "/S" and item in ("/JavaScript", "/Launch", "/SubmitForm", "/ImportData"):
                return True
            if key in ("/Parent", "/P"):  # back-pointers up the page tree
                continue
            if _has_active_content(item, seen, depth + 1):
                return True
    elif isinstance(value, list):
        return any(_has_active_content(item, seen, depth + 1) for item in value)
    return False


def check_pdf(data: bytes, name: str, max_pages: int) -> CheckedFile:
    """A readable, unencrypted PDF of 1..max_pages pages without active content."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ValidationFailed("不支持加密的 PDF，请上传未加密的文件", code="pdf_encrypted")
        pages = len(reader.pages)
        if pages < 1:
            raise ValidationFailed("PDF 文件没有页面", code="pdf_empty")
        if pages > max_pages:
            raise ValidationFailed(f"PDF 最多 {max_pages} 页", code="pdf_too_many_pages",
                                   details={"pages": pages, "max": max_pages})
        active = _has_active_content(reader.trailer["/Root"], set())
        if not active:
            for page in reader.pages:
                if _has_active_content(page, set()):
                    active = True
                    break
    except ValidationFailed:
        raise
    except (PdfReadError, Exception) as exc:  # noqa: BLE001 - any parser failure on untrusted bytes
        raise ValidationFailed("PDF 文件已损坏，无法打开", code="pdf_corrupt") from exc
    if active:
        raise ValidationFailed("PDF 含有脚本或嵌入文件，请另存为普通 PDF 后上传",
                               code="pdf_active_content")
    return CheckedFile(data, PDF, name, pages=pages)


def check_one(upload, *, allow_pdf: bool = True) -> CheckedFile:
    """Check one upload (a werkzeug ``FileStorage`` or a binary stream) by its bytes,
    whatever its name or declared type says."""
    limits = _limits()
    data = _read_capped(upload, limits["max_bytes"])
    filename = getattr(upload, "filename", None)
    if data.startswith(b"%PDF-"):
        if not allow_pdf:
            raise UnsupportedMedia("这里只能上传照片（JPEG、PNG、WebP 或 HEIC）",
                                   code="unsupported_file_type")
        return check_pdf(data, shown_name(filename, "document.pdf"), limits["max_pages"])
    try:
        check_image(data, limits["max_pixels"])
    except UnsupportedMedia as exc:
        message = ("只支持 PDF 或 JPEG、PNG、WebP、HEIC 格式的图片" if allow_pdf
                   else "这里只能上传照片（JPEG、PNG、WebP 或 HEIC）")
        raise UnsupportedMedia(message, code="unsupported_file_type") from exc
    # Stored re-encoded: no EXIF/GPS, upright, sRGB; readable (a scanned form at
    # ATTACHMENT_IMAGE_PX on its long side keeps small print legible).
    image, _thumb = render_variants(data, display_px=limits["image_px"], thumb_px=64,
                                    max_pixels=limits["max_pixels"])
    name = shown_name(filename, "image.jpg")
    name = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name) + ".jpg"
    return CheckedFile(image.data, JPEG, name, width=image.width, height=image.height)


def check_files(uploads: Iterable, *, max_count: int, allow_pdf: bool = True,
                field: str = "files") -> list[CheckedFile]:
    """Check every upload before anything is stored; the first bad one is refused
    with its position (``details.index``, from 1) and nothing is kept."""
    uploads = list(uploads)
    if len(uploads) > max_count:
        raise ValidationFailed(f"最多上传 {max_count} 个文件", code="too_many_files",
                               details={"fields": {field: [f"最多上传 {max_count} 个文件"]},
                                        "count": len(uploads), "max": max_count})
    checked = []
    for index, upload in enumerate(uploads, start=1):
        try:
            checked.append(check_one(upload, allow_pdf=allow_pdf))
        except (ValidationFailed, UnsupportedMedia, TooLarge) as exc:
            exc.details = {**(exc.details or {}), "index": index}
            if len(uploads) > 1:
                exc.message = f"第 {index} 个文件：{exc.message}"
            raise
    return checked


def store_attachments(community_id: int, uploader_id: int | None,
                      checked: list[CheckedFile]) -> list[Attachment]:
    """Store checked files under random keys and add their rows (flushed: ids are
    set). Files of a transaction that does not commit are deleted again."""
    storage = get_storage()
    rows, stored = [], []
    try:
        for item in checked:
            key = new_key(STORAGE_PREFIX, item.suffix)
            storage.save(key, item.data, item.content_type)
            stored.append(key)
            row = Attachment(community_id=community_id, key=key, content_type=item.content_type,
                             byte_size=len(item.data), sha256=hashlib.sha256(item.data).hexdigest(),
                             name=item.name, pages=item.pages, width=item.width,
                             height=item.height, uploaded_by_id=uploader_id)
            db.session.add(row)
            rows.append(row)
        db.session.flush()
    except BaseException:
        for key in stored:
            try:
                storage.delete(key)
            except Exception:  # noqa: BLE001 - best effort; an orphan is never served
                pass
        raise
    db.session.info.setdefault("uncommitted_files", []).extend(stored)
    return rows


def get_attachments(community_id: int, ids: Iterable[int]) -> list[Attachment]:
    """The attachments with these ids, in the given order, all of this community
    (an id of another community, or none at all, is a 400: ids come from clients)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    rows = {a.id: a for a in db.session.scalars(
        select(Attachment).where(Attachment.id.in_(wanted),
                                    Attachment.community_id == community_id))}
    missing = [i for i in wanted if i not in rows]
    if missing:
        raise ValidationFailed("附件不存在或不属于本小区", code="unknown_attachment",
                               details={"ids": missing})
    return [rows[i] for i in wanted]


def delete_attachment(attachment: Attachment) -> None:
    """Delete the row now and its file once the transaction commits."""
    delete_after_commit([attachment.key])
    db.session.delete(attachment)


def attachment_response(attachment: Attachment, *, download: bool = False) -> Response:
    """The stored file, for a caller already authorised to see it. Private to the
    caller (``Cache-Control: private``), never sniffed; a PDF is sandboxed (no
    script runs in a viewer that honours CSP), and ``download`` asks the browser
    to save instead of showing it."""
    try:
        response = send_stored(attachment.key, attachment.content_type, attachment.name,
                               "private, max-age=3600", as_attachment=download)
    except FileNotFoundError as exc:
        raise NotFound("找不到该文件", code="file_not_found") from exc
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def referencing_columns() -> list[Column]:
    """Every column of every table that refers to an attachment (found from the
    foreign keys, so a new kind of record needs no change here)."""
    return [fk.parent for table in Base.metadata.sorted_tables for fk in table.foreign_keys
            if fk.column.table.name == Attachment.__tablename__]


def sweep_unreferenced(older_than: timedelta = timedelta(hours=24), batch: int = 500) -> int:
    """Delete uploads no record refers to once they are ``older_than`` (the form
    they were uploaded for was never sent). The caller commits."""
    query = select(Attachment).where(Attachment.created_at < utcnow() - older_than)
    for column in referencing_columns():
        query = query.where(~exists().where(column == Attachment.id))
    rows = list(db.session.scalars(query.order_by(Attachment.id).limit(batch)))
    for row in rows:
        delete_attachment(row)
    return len(rows)
