"""Attachments (the files notices, fund proposals, paper ballots and proxies refer
to): only real PDFs and images are kept, images lose their metadata, a refused
upload leaves nothing behind, and a file is only served to whom it may be shown."""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript

from backend.extensions import db
from backend.models.attachment import Attachment
from backend.services.attachments import referencing_columns, sweep_unreferenced


def _pdf(pages: int = 1, js: bool = False, password: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if js:
        writer.add_open_action(JavaScript("app.alert('hi');"))
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _files(app) -> list[Path]:
    root = Path(app.config["MEDIA_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Attachment))


def _upload(client, headers, *files, **form):
    data = {**form, "files": [(io.BytesIO(body), name) for body, name in files]}
    return client.post("/api/v1/attachments", headers=headers, data=data,
                       content_type="multipart/form-data")


@pytest.fixture
def resident(owner):
    return owner("O-1")


def test_a_pdf_and_a_photo_are_kept_and_the_photo_loses_its_metadata(app, client, resident,
                                                                      images):
    pdf = _pdf(pages=3)
    response = _upload(client, resident, (pdf, "维修方案.pdf"),
                       (images.jpeg(gps=True, comment="secret"), "quote.jpeg"))
    assert response.status_code == 201, response.json
    first, second = response.json["items"]
    assert (first["name"], first["content_type"], first["pages"]) == ("维修方案.pdf",
                                                                      "application/pdf", 3)
    assert first["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert (second["name"], second["content_type"]) == ("quote.jpg", "image/jpeg")

    served = client.get(first["url"], headers=resident)
    assert served.status_code == 200 and served.data == pdf
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    photo = client.get(second["url"], headers=resident)
    assert hashlib.sha256(photo.data).hexdigest() == second["sha256"]
    image = Image.open(io.BytesIO(photo.data))
    assert image.format == "JPEG" and not image.getexif() and "comment" not in image.info


@pytest.mark.parametrize("body, name, status, code", [
    (b"just some text\n", "photo.jpg", 415, "unsupported_file_type"),
    (b"%PDF-1.7\n garbage that is no pdf", "plan.pdf", 400, "pdf_corrupt"),
    (None, "script.pdf", 400, "pdf_active_content"),
    ("encrypted", "locked.pdf", 400, "pdf_encrypted"),
    (b"", "empty.pdf", 400, "empty_file"),
])
def test_a_bad_file_is_refused_with_its_reason_and_nothing_is_kept(app, client, resident,
                                                                   body, name, status, code):
    if body is None:
        body = _pdf(js=True)
    elif body == "encrypted":
        body = _pdf(password="123456")
    good = _pdf()
    response = _upload(client, resident, (good, "ok.pdf"), (body, name))
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["details"]["index"] == 2
    assert response.json["error"]["message"].startswith("第 2 个文件")
    assert _count(app) == 0 and _files(app) == []


def test_too_big_a_file_is_refused(make_app, login, community):
    app = make_app(ATTACHMENT_MAX_BYTES=1000)
    client = app.test_client()
    from tests.conftest import bind_owner
    headers = bind_owner(app, client)
    response = _upload(client, headers, (_pdf(pages=30), "big.pdf"))
    assert response.status_code == 413 and response.json["error"]["code"] == "file_too_large"
    assert _files(app) == []


def test_only_the_uploader_may_fetch_an_upload_no_record_refers_to(client, owner, resident):
    item = _upload(client, resident, (_pdf(), "a.pdf")).json["items"][0]
    other = owner("O-2")
    assert client.get(item["url"], headers=other).status_code == 404
    assert client.get(item["url"]).status_code == 401


def test_a_stranger_with_no_community_cannot_upload(client, login, community):
    response = _upload(client, login("nobody"), (_pdf(), "a.pdf"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "community_required"


@pytest.mark.local_storage
def test_uploads_no_record_refers_to_are_swept_after_a_day(app, client, resident):
    item = _upload(client, resident, (_pdf(), "a.pdf")).json["items"][0]
    assert len(_files(app)) == 1
    with app.app_context():
        assert sweep_unreferenced() == 0  # still young: its form may be on its way
        row = db.session.get(Attachment, item["id"])
        row.created_at -= timedelta(hours=25)
        db.session.commit()
        assert sweep_unreferenced() == 1
        db.session.commit()
    assert _count(app) == 0 and _files(app) == []


def test_referencing_columns_are_found_from_the_foreign_keys():
    # every record kind that refers to attachments is covered by the sweep
    assert all(col.foreign_keys for col in referencing_columns())
