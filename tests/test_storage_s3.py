"""The s3 storage backend against a real S3-compatible server (moto's standalone
``moto_server`` process, started by the ``s3_server`` fixture): photos and attachments
land in the bucket and nowhere on disk, are served through the app or by a short-lived
presigned URL only to people who may see them, the orphan sweep sees the bucket, and
``flask storage-copy --to s3`` moves existing local files over, resumably."""
from __future__ import annotations

import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest

from backend.config import ConfigError
from backend import create_app
from backend.services.storage import LocalStorage, get_storage
from tests.conftest import test_config as _config

pytestmark = pytest.mark.usefixtures("wechat_api")


def _bucket(settings) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=settings["S3_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    listed = client.list_objects_v2(Bucket=settings["S3_BUCKET"]).get("Contents", [])
    return {item["Key"]: client.get_object(Bucket=settings["S3_BUCKET"], Key=item["Key"])
            ["Body"].read() for item in listed}


def _disk(app) -> list[Path]:
    root = Path(app.config["MEDIA_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def app(make_app, s3_settings):
    """The app of every fixture here (owner, post_ticket, client) keeps files in s3."""
    return make_app(**s3_settings)


@pytest.fixture
def s3_app(app):
    return app


def test_the_backend_stores_lists_and_deletes_objects(s3_app):
    with s3_app.app_context():
        storage = get_storage()
        storage.save("tickets/ab/one.jpg", b"first", "image/jpeg")
        storage.save("other/cd/two.pdf", b"second", "application/pdf")
        assert storage.read("tickets/ab/one.jpg") == b"first"
        assert storage.exists("tickets/ab/one.jpg") and not storage.exists("tickets/ab/none.jpg")
        listed = dict(storage.list_keys("tickets"))
        assert list(listed) == ["tickets/ab/one.jpg"]
        assert abs(listed["tickets/ab/one.jpg"] - datetime.now(timezone.utc)) < timedelta(minutes=1)
        with pytest.raises(FileNotFoundError):
            storage.read("tickets/ab/none.jpg")
        storage.delete("tickets/ab/one.jpg")
        assert not storage.exists("tickets/ab/one.jpg")


def test_photos_land_in_the_bucket_and_are_served_only_to_who_may_see_them(
        s3_app, s3_settings, owner, post_ticket, images):
    client = s3_app.test_client()
    headers = owner("O-1")
    ticket = post_ticket(headers, photos=[images.jpeg()]).json
    photo = ticket["photos"][0]
    stored = _bucket(s3_settings)
    assert sorted(key.rsplit("-", 1)[1] for key in stored) == ["display.jpg", "thumb.jpg"]
    assert not _disk(s3_app)
    url = f"/api/v1/tickets/{ticket['id']}/photos/{photo['id']}/display"
    served = client.get(url, headers=headers)
    assert served.status_code == 200 and served.data in stored.values()
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.mimetype == "image/jpeg"
    again = client.get(url, headers={**headers, "If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert client.get(url, headers=owner("O-2")).status_code == 404


def test_presigned_serving_redirects_the_authorised_caller_only(
        app, client, owner, post_ticket, images):
    app.config.update(STORAGE_SERVE="presigned", STORAGE_PRESIGNED_EXPIRES=60)
    headers = owner("O-1")
    ticket = post_ticket(headers, photos=[images.jpeg()]).json
    url = f"/api/v1/tickets/{ticket['id']}/photos/{ticket['photos'][0]['id']}/thumb"
    response = client.get(url, headers=headers)
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    location = response.headers["Location"]
    assert "X-Amz-Expires=60" in location and "X-Amz-Signature=" in location
    # (urllib: the wechat_api fixture's `responses` stands in for requests)
    with urllib.request.urlopen(location, timeout=10) as fetched:
        assert fetched.status == 200 and fetched.read()[:2] == b"\xff\xd8"
        assert fetched.headers["Content-Type"] == "image/jpeg"
    # another resident, or nobody signed in, gets no link at all
    assert client.get(url, headers=owner("O-2")).status_code == 404
    assert client.get(url).status_code == 401


def test_attachments_are_kept_in_the_bucket(s3_app, s3_settings, owner):
    client = s3_app.test_client()
    headers = owner("O-1")
    from tests.test_attachments import _pdf, _upload

    pdf = _pdf(pages=2)
    item = _upload(client, headers, (pdf, "方案.pdf")).json["items"][0]
    assert pdf in _bucket(s3_settings).values() and not _disk(s3_app)
    served = client.get(item["url"], headers=headers)
    assert served.status_code == 200 and served.data == pdf
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert client.get(item["url"], headers=owner("O-2")).status_code == 404


def test_storage_copy_moves_local_files_and_can_be_run_again(make_app, s3_settings, tmp_path):
    app = make_app(**s3_settings)
    local = LocalStorage(app.config["MEDIA_DIR"])
    files = {"tickets/ab/a.jpg": b"a" * 100, "tickets/cd/b.jpg": b"b" * 50,
             "attachments/ef/c.pdf": b"%PDF c"}
    for key, data in files.items():
        local.save(key, data, "application/octet-stream")
    (Path(app.config["MEDIA_DIR"]) / "tickets/ab/.upload-tmp").write_bytes(b"half")
    runner = app.test_cli_runner()

    first = runner.invoke(args=["storage-copy", "--to", "s3"])
    assert first.exit_code == 0, first.output
    assert "copied 3, skipped 0" in first.output
    assert _bucket(s3_settings) == files

    # an interrupted run leaves some copied: the next run copies only what is missing
    # or different, and says so
    boto3.client("s3", endpoint_url=s3_settings["S3_ENDPOINT_URL"], region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing",
                 ).delete_object(Bucket=s3_settings["S3_BUCKET"], Key="tickets/cd/b.jpg")
    local.save("attachments/ef/c.pdf", b"%PDF c, fixed", "application/pdf")
    second = runner.invoke(args=["storage-copy", "--to", "s3"])
    assert "copied 2, skipped 1" in second.output
    assert _bucket(s3_settings) == {**files, "attachments/ef/c.pdf": b"%PDF c, fixed"}
    with app.app_context():
        assert get_storage().read("attachments/ef/c.pdf") == b"%PDF c, fixed"
    assert "copied 0, skipped 3" in runner.invoke(args=["storage-copy", "--to", "s3"]).output


def test_storage_copy_reports_failures_and_exits_non_zero(make_app, s3_settings):
    app = make_app(**{**s3_settings, "S3_BUCKET": "no-such-bucket"})
    LocalStorage(app.config["MEDIA_DIR"]).save("tickets/ab/a.jpg", b"a", "image/jpeg")
    result = app.test_cli_runner().invoke(args=["storage-copy", "--to", "s3"])
    assert result.exit_code == 1 and "failed 1" in result.output


@pytest.mark.parametrize("missing", ["S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY_ID",
                                     "S3_SECRET_ACCESS_KEY"])
def test_production_refuses_s3_without_its_settings(database_url, tmp_path, s3_settings, missing):
    config = _config(database_url, tmp_path, **s3_settings, APP_ENV="production",
                         DEV_LOGIN=False, PAYMENT_DEV_STANDIN=False, TESTING=False)
    config[missing] = ""
    with pytest.raises(ConfigError, match=missing):
        create_app(config)
