"""Uploading attachments: ``POST /api/v1/attachments`` stores checked files and
returns their ids, which a notice, a fund proposal, a paper ballot or a proxy then
refers to. The record decides who may see the file and serves it; before any record
refers to it, only the uploader may fetch it (a preview)."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from backend.auth import current_user, login_required
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db, limiter
from backend.models.attachment import Attachment
from backend.routes.common import (
    BEARER,
    AttachmentOut,
    Blueprint,
    FileUpload,
    RowId,
    chosen_files,
    per_user,
)
from backend.services import attachments as attachment_service
from backend.services.permissions import community_ids_with

MAX_FILES = 5

blp = Blueprint("attachments", __name__, url_prefix="/api/v1/attachments", description="附件上传")


def _upload_limit() -> str:
    return current_app.config["RATELIMIT_TICKETS"]


class AttachmentForm(Schema):
    community_id = RowId(load_default=None, metadata={
        "description": "the community the files are for (default: the caller's only one)"})
    files = fields.List(FileUpload(), required=True,
                        validate=validate.Length(min=1, max=MAX_FILES,
                                                 error=f"每次上传 1-{MAX_FILES} 个文件"))


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentOut), required=True)


def _community_for(user, community_id: int | None) -> int:
    """A community the caller belongs to (staff role, committee or a current
    binding): the chosen one, or the only one."""
    ids = community_ids_with(user, "desk", "engineer", "manager", "admin", "committee", "owner",
                             "family", "tenant")
    if community_id is not None:
        if community_id not in ids:
            raise NotFound("找不到该小区", code="community_not_found")
        return community_id
    if len(ids) != 1:
        raise ValidationFailed("请选择小区", code="community_required",
                               details={"fields": {"community_id": ["请选择小区"]}})
    return next(iter(ids))


def _out(attachment: Attachment, url: str | None) -> dict:
    return {"id": attachment.id, "name": attachment.name, "content_type": attachment.content_type,
            "byte_size": attachment.byte_size, "pages": attachment.pages,
            "sha256": attachment.sha256, "url": url}


@blp.route("", methods=["POST"])
@login_required  # before the body is read
@limiter.limit(_upload_limit, key_func=per_user)
@blp.arguments(AttachmentForm(), location="form", content_type="multipart/form-data")
@blp.response(201, AttachmentList)
@blp.alt_response(413, description="a file over ATTACHMENT_MAX_BYTES, or too many pixels")
@blp.alt_response(415, description="neither a PDF nor a JPEG, PNG, WebP or HEIC image")
@blp.doc(security=BEARER)
def upload(form):
    """Upload 1-5 files (PDF, or images, which are stored re-encoded without
    metadata). Refer to the returned ids from the record they belong to; files no
    record refers to are deleted after a day."""
    user = current_user()
    community_id = _community_for(user, form["community_id"])
    checked = attachment_service.check_files(chosen_files(form["files"]), max_count=MAX_FILES)
    if not checked:
        raise ValidationFailed(
            "请选择文件", code="no_file", details={"fields": {"files": ["请选择文件"]}})
    rows = attachment_service.store_attachments(community_id, user.id, checked)
    return {"items": [_out(a, f"{blp.url_prefix}/{a.id}") for a in rows]}


@blp.route("/<id:attachment_id>", methods=["GET"])
@login_required
@blp.alt_response(404, description="no such file, or one the caller did not upload")
@blp.doc(security=BEARER, responses={"200": {"description": "the file"}})
def uploaded_file(attachment_id):
    """The caller's own upload (a preview before a record refers to it)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.uploaded_by_id != current_user().id:
        raise NotFound("找不到该文件", code="file_not_found")
    return attachment_service.attachment_response(attachment)
