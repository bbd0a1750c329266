"""The ``s3`` storage backend: files in an S3-compatible bucket (Aliyun OSS, Tencent
COS, MinIO, AWS) through boto3, so every app server and worker sees the same files.

Chosen with ``STORAGE_BACKEND=s3``; settings ``S3_ENDPOINT_URL``, ``S3_BUCKET``,
``S3_REGION``, ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``, ``S3_ADDRESSING_STYLE``
(path | virtual). Objects are private; they are served through the app or by a
short-lived presigned URL (``STORAGE_SERVE``), see ``storage.send_stored``.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backend.services.storage import StorageError, check_key

REQUIRED_SETTINGS = ("S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    def __init__(self, config: dict):
        self.bucket = config["S3_BUCKET"]
        self.client = boto3.client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region_name=config.get("S3_REGION") or None,
            aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
            config=Config(
                s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "path"},
                signature_version="s3v4",
                # a slow bucket fails a request in seconds; the caller reports it
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 3},
            ),
        )

    def save(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data,
                                   ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot store {key}: {exc}") from exc

    def open(self, key: str) -> BinaryIO:
        """A stream of the object (FileNotFoundError when there is none)."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from exc
            raise StorageError(f"cannot read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def read(self, key: str) -> bytes:
        body = self.open(key)
        try:
            return body.read()
        finally:
            body.close()

    def head(self, key: str) -> dict | None:
        """Size and ETag of the object, or None when there is none."""
        try:
            meta = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise StorageError(f"cannot inspect {key}: {exc}") from exc
        return {"size": meta["ContentLength"], "etag": meta["ETag"].strip('"'),
                "content_type": meta.get("ContentType")}

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def local_path(self, key: str) -> Path | None:
        return None

    def list_keys(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=check_key(prefix) + "/"):
            for item in page.get("Contents", []):
                yield item["Key"], item["LastModified"]

    def presigned_url(self, key: str, *, expires: int, content_type: str,
                      download_name: str, as_attachment: bool) -> str:
        from urllib.parse import quote

        disposition = "attachment" if as_attachment else "inline"
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": check_key(key),
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition":
                        f"{disposition}; filename*=UTF-8''{quote(download_name)}"},
            ExpiresIn=expires,
        )
