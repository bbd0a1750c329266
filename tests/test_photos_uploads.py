"""Ticket photos: every bad upload gets its error and leaves nothing behind; good ones
are re-encoded without metadata, turned upright, served only to people who may see
the ticket; processing survives Redis being down and is idempotent."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from backend.extensions import db
from backend.models import OutboxJob, PhotoState, Ticket, TicketPhoto
from tests.conftest import bind_owner, wait_for

pytestmark = [pytest.mark.usefixtures("wechat_api"), pytest.mark.local_storage]


def _files(app) -> list[Path]:
    root = Path(app.config["MEDIA_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        tickets = db.session.scalar(db.select(db.func.count()).select_from(Ticket))
        photos = db.session.scalar(db.select(db.func.count()).select_from(TicketPhoto))
        return tickets, photos


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# ----------------------------------------------------------------- bad uploads
def _claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF0 or SOF2) claiming another size than its
    scans hold data for."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = jpeg.find(marker)
        if at > 0:
            data = bytearray(jpeg)
            data[at + 5:at + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
            return bytes(data)
    raise AssertionError("no frame header")


def _png_cut(png: bytes, before_iend: int) -> bytes:
    """The PNG cut ``before_iend`` bytes before its IEND chunk (0: IEND missing)."""
    return png[:png.rfind(b"IEND") - 4 - before_iend]


BAD_UPLOADS = {
    # name: (photos factory, status, error code)
    "20000x20000 png": (lambda im: [(im.bomb_png(), "huge.png", "image/png")], 413,
                        "image_too_large"),
    "tiff renamed .jpg": (lambda im: [(im.tiff(), "photo.jpg", "image/jpeg")], 415,
                          "unsupported_image_type"),
    "svg renamed .jpg": (lambda im: [(im.svg(), "photo.jpg", "image/jpeg")], 415,
                         "unsupported_image_type"),
    "truncated jpeg": (lambda im: [im.jpeg()[:-4000]], 400, "image_corrupt"),
    "truncated progressive jpeg": (lambda im: [im.jpeg(progressive=True)[:-3000]], 400,
                                   "image_corrupt"),
    "truncated png": (lambda im: [(im.png()[:-5000], "a.png", "image/png")], 400,
                      "image_corrupt"),
    # every pixel row decodes, but the file ends before IEND / inside the last checksum
    "png without IEND": (lambda im: [(_png_cut(im.png(), 0), "a.png", "image/png")], 400,
                         "image_corrupt"),
    "png cut in a checksum": (lambda im: [(_png_cut(im.png(), 2), "a.png", "image/png")], 400,
                              "image_corrupt"),
    # headers that claim more than the scans hold (libjpeg fills the rest with grey)
    "jpeg claiming 60000x600": (lambda im: [_claiming(im.jpeg(), 60000, 600)], 400,
                                "image_corrupt"),
    "progressive jpeg claiming 60000x600": (
        lambda im: [_claiming(im.jpeg(progressive=True), 60000, 600)], 400, "image_corrupt"),
    "jpeg with restart markers claiming twice its height": (
        lambda im: [_claiming(im.encode("JPEG", (800, 600), restart_marker_rows=1), 800, 1200)],
        400, "image_corrupt"),
    "empty file": (lambda im: [b""], 400, "empty_file"),
    "10 photos": (lambda im: [im.jpeg(size=(64, 48))] * 10, 400, "validation_error"),
    "good then bad": (lambda im: [im.jpeg(), im.jpeg(), im.tiff()], 415,
                      "unsupported_image_type"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_uploads_get_their_error_and_leave_nothing_behind(app, owner, post_ticket, images,
                                                              case):
    factory, status, code = BAD_UPLOADS[case]
    response = post_ticket(owner("O-1"), photos=factory(images))
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert _counts(app) == (0, 0)
    assert _files(app) == []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxJob)) == 0


def test_jpegs_of_every_encoding_pass_and_none_may_claim_more_than_it_holds(images):
    """The scan-coverage check on the JPEG encodings phones and editors produce: each
    is accepted as it is, and refused with a header claiming more rows or columns."""
    from backend.errors import ValidationFailed
    from backend.services.photos import check_image

    picture = images.picture((801, 603), split=True)

    def encoded(image, fmt="JPEG", **params) -> bytes:
        out = io.BytesIO()
        image.save(out, fmt, **params)
        return out.getvalue()

    photo = images.picture((801, 603))
    white = Image.new("RGB", (1080, 2000), (255, 255, 255))  # a screenshot's blank page
    white.paste(photo, (0, 0))
    variants = {
        "baseline 4:2:0": encoded(picture), "baseline 4:4:4": encoded(picture, subsampling=0),
        "progressive": encoded(picture, progressive=True),
        "progressive 4:2:2": encoded(picture, progressive=True, subsampling=1),
        "optimised": encoded(photo, optimize=True), "grey": encoded(photo.convert("L")),
        "cmyk": encoded(photo.convert("CMYK")), "quality 100": encoded(photo, quality=100),
        "restart every block": encoded(photo, restart_marker_blocks=1),
        "progressive with restarts": encoded(photo, progressive=True, restart_marker_rows=2),
        "screenshot": encoded(white), "tiny": encoded(picture.resize((9, 7))),
        "multi-picture (MPO)": encoded(picture, "MPO", save_all=True,
                                       append_images=[picture.resize((200, 150))]),
        "with an EXIF thumbnail": images.jpeg(gps=True, comment=b"x\xff\xd9y"),
    }
    for name, jpeg in variants.items():
        checked = check_image(jpeg, 40_000_000)
        assert checked.format == "JPEG", name
        width, height = checked.width, checked.height
        for claim in ((width, height + 32), (width * 2, height)):
            with pytest.raises(ValidationFailed):
                check_image(_claiming(jpeg, *claim), 40_000_000)


def test_ten_photos_name_the_field_and_the_limit(owner, post_ticket, images):
    response = post_ticket(owner("O-1"), photos=[images.jpeg(size=(64, 48))] * 10)
    assert response.json["error"]["details"]["fields"]["photos"] == ["最多上传9张照片"]


def test_which_photo_failed_is_reported(owner, post_ticket, images):
    response = post_ticket(owner("O-1"), photos=[images.jpeg(), images.svg()])
    assert response.status_code == 415
    assert response.json["error"]["details"]["photo"] == 2
    assert response.json["error"]["message"].startswith("第 2 张照片")


def test_a_photo_over_the_size_limit_is_413(make_app, images):
    app = make_app(MAX_PHOTO_BYTES=50_000)
    client = app.test_client()
    headers = bind_owner(app, client)
    big = images.jpeg(size=(1200, 900), quality=95)
    assert len(big) > 50_000
    response = client.post("/api/v1/tickets", headers=headers, content_type="multipart/form-data",
                           data={"kind": "inquiry", "description": "大图",
                                 "photos": [(io.BytesIO(big), "big.jpg", "image/jpeg")]})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "photo_too_large"
    assert _counts(app) == (0, 0) and _files(app) == []


def test_a_pixel_count_between_the_limit_and_twice_it_is_refused_too(make_app, images,
                                                                     monkeypatch):
    """Pillow only warns between MAX_IMAGE_PIXELS and twice that; the warning is an
    error here."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after
    app = make_app(PHOTO_MAX_PIXELS=100_000)
    client = app.test_client()
    headers = bind_owner(app, client)
    response = client.post("/api/v1/tickets", headers=headers, content_type="multipart/form-data",
                           data={"kind": "inquiry", "description": "像素",
                                 "photos": [(io.BytesIO(images.jpeg(size=(400, 300))),
                                             "a.jpg", "image/jpeg")]})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "image_too_large"
    assert _counts(app) == (0, 0)


def test_no_login_no_upload_parsing(client, community, images):
    response = client.post("/api/v1/tickets", content_type="multipart/form-data",
                           data={"kind": "inquiry", "description": "x",
                                 "photos": [(io.BytesIO(images.jpeg()), "a.jpg", "image/jpeg")]})
    assert response.status_code == 401


# ----------------------------------------------------------------- good uploads
def test_a_phone_photo_is_re_encoded_upright_without_metadata(app, client, owner, staff,
                                                              post_ticket, images):
    headers = owner("O-1")
    original = images.jpeg(size=(3000, 1500), orientation=6, gps=True,
                           comment=b"shot at home", split=True)
    source = _open(original)
    assert 0x8825 in source.getexif() and source.info.get("comment")  # the test is real
    response = post_ticket(headers, photos=[(original, "IMG_0001.JPG", "image/jpeg")])
    assert response.status_code == 201
    photo = response.json["photos"][0]
    assert photo["state"] == "processing" and photo["url"] is None and photo["thumb_url"] is None

    detail = client.get(f"/api/v1/tickets/{response.json['id']}", headers=headers).json
    photo = detail["photos"][0]
    assert photo["state"] == "ready"
    assert photo["stage"] == "report"
    display = client.get(photo["url"], headers=headers)
    assert display.status_code == 200
    assert display.headers["Content-Type"] == "image/jpeg"
    assert display.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in display.headers["Cache-Control"]
    assert "public" not in display.headers["Cache-Control"]
    image = _open(display.data)
    assert image.format == "JPEG"
    # orientation 6 applied to the pixels: the 3000x1500 landscape is a portrait,
    # long side 1280; the left (red) half is now on top
    assert image.size == (640, 1280)
    assert (photo["width"], photo["height"]) == (640, 1280)
    top, bottom = image.getpixel((320, 200)), image.getpixel((320, 1080))
    assert top[0] > 150 and top[2] < 100, top
    assert bottom[2] > 150 and bottom[0] < 100, bottom
    # nothing of the phone's metadata survives
    exif = image.getexif()
    assert 0x8825 not in exif and 0x0112 not in exif and 0x010F not in exif
    assert "comment" not in image.info
    assert b"shot at home" not in display.data and b"TestPhone" not in display.data

    thumb = client.get(photo["thumb_url"], headers=headers)
    assert thumb.status_code == 200 and thumb.headers["X-Content-Type-Options"] == "nosniff"
    small = _open(thumb.data)
    assert small.size == (160, 320)
    assert len(small.getexif()) == 0

    # staff of the community may look; nobody else
    assert client.get(photo["url"], headers=staff("engineer")).status_code == 200
    other = owner("O-2")
    for url in (photo["url"], photo["thumb_url"]):
        response = client.get(url, headers=other)
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("application/json")
    assert client.get(photo["url"]).status_code == 401

    # the original (with its GPS) is gone; only the variants remain, under random names
    files = _files(app)
    assert len(files) == 2
    assert all(f.name.endswith(("-display.jpg", "-thumb.jpg")) for f in files)
    assert not any("IMG_0001" in str(f) for f in files)
    static = Path(app.static_folder).resolve() if app.static_folder else None
    assert static is None or not any(static in f.resolve().parents for f in files)


def test_photo_urls_do_not_leak_across_tickets(client, owner, post_ticket, images):
    """A photo id from one ticket cannot be fetched through another visible ticket."""
    headers = owner("O-3")
    first = post_ticket(headers, photos=[images.jpeg()]).json
    second = post_ticket(headers).json
    photo_id = first["photos"][0]["id"]
    response = client.get(f"/api/v1/tickets/{second['id']}/photos/{photo_id}/display",
                          headers=headers)
    assert response.status_code == 404
    assert client.get(f"/api/v1/tickets/{first['id']}/photos/{photo_id}/original",
                      headers=headers).status_code == 404


@pytest.mark.parametrize("kind", ["png_alpha", "png_palette", "png_grey16", "webp", "heic",
                                  "cmyk_jpeg"])
def test_other_formats_become_jpeg_variants(client, owner, post_ticket, images, kind):
    image = images.picture((1600, 1200))
    out = io.BytesIO()
    if kind == "png_alpha":
        rgba = image.convert("RGBA")
        rgba.putalpha(Image.linear_gradient("L").resize((1600, 1200)))
        rgba.save(out, "PNG")
        upload = (out.getvalue(), "a.png", "image/png")
    elif kind == "png_palette":
        image.convert("P").save(out, "PNG")
        upload = (out.getvalue(), "a.png", "image/png")
    elif kind == "png_grey16":
        Image.linear_gradient("L").resize((1600, 1200)).convert("I;16").save(out, "PNG")
        upload = (out.getvalue(), "a.png", "image/png")
    elif kind == "webp":
        upload = (images.webp((1600, 1200)), "a.webp", "image/webp")
    elif kind == "heic":
        upload = (images.heic((1600, 1200)), "a.heic", "image/heic")
    else:
        image.convert("CMYK").save(out, "JPEG")
        upload = (out.getvalue(), "a.jpg", "image/jpeg")
    headers = owner("O-1")
    response = post_ticket(headers, photos=[upload])
    assert response.status_code == 201, response.json
    detail = client.get(f"/api/v1/tickets/{response.json['id']}", headers=headers).json
    photo = detail["photos"][0]
    assert photo["state"] == "ready"
    display = _open(client.get(photo["url"], headers=headers).data)
    assert display.format == "JPEG" and display.size == (1280, 960)
    assert display.mode in ("RGB", "L")
    if kind == "png_grey16":  # scaled to 8 bits, not clipped to white
        assert display.convert("L").getextrema()[0] < 50


def _linear_rgb_profile(description: bytes) -> bytes:
    """A valid ICC v2 display profile: sRGB primaries with a linear (gamma 1.0) tone
    curve, so mid-grey 128 in it is sRGB 188; ``description`` is its desc text."""
    import struct

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(description) + 1) + description + b"\0"
            + b"\0" * 78)  # no Unicode or ScriptCode description
    linear = b"curv\0\0\0\0" + struct.pack(">I", 1) + b"\x01\x00\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)), (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
            (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)), (b"rTRC", linear), (b"gTRC", linear),
            (b"bTRC", linear), (b"cprt", b"text\0\0\0\0test\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    header = (struct.pack(">I", offset + len(body)) + b"\0" * 4 + bytes((2, 0x10, 0, 0))
              + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28
              + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


def test_colour_profiles_are_applied_to_the_pixels_and_never_served(app, client, owner,
                                                                    post_ticket, images):
    """An uploader chooses a profile's bytes: the variants are converted to sRGB and
    carry no profile. A valid profile is applied (linear grey 128 shows as sRGB 188);
    a 9 MB one full of script is not even parsed."""
    script = b"<script>alert(1)</script>"
    grey = Image.new("RGB", (1600, 1200), (128, 128, 128))
    valid, huge = io.BytesIO(), io.BytesIO()
    grey.save(valid, "PNG", icc_profile=_linear_rgb_profile(script))
    grey.save(huge, "JPEG", quality=95, icc_profile=script * (9 * 1024 * 1024 // len(script)))
    assert len(huge.getvalue()) > 9_000_000
    assert Image.open(io.BytesIO(valid.getvalue())).info["icc_profile"]  # the test is real
    headers = owner("O-1")
    response = post_ticket(headers, photos=[(valid.getvalue(), "p3.png", "image/png"),
                                            (huge.getvalue(), "huge.jpg", "image/jpeg")])
    assert response.status_code == 201, response.json
    photos = client.get(f"/api/v1/tickets/{response.json['id']}", headers=headers).json["photos"]
    assert [p["state"] for p in photos] == ["ready", "ready"]
    shown = []
    for photo in photos:
        for url in (photo["url"], photo["thumb_url"]):
            data = client.get(url, headers=headers).data
            assert script not in data and b"<script" not in data
            image = _open(data)
            assert "icc_profile" not in image.info
            shown.append(image.convert("L").getpixel((image.width // 2, image.height // 2)))
    converted, as_is = shown[:2], shown[2:]
    assert all(abs(value - 188) <= 3 for value in converted), shown
    assert all(abs(value - 128) <= 3 for value in as_is), shown
    assert all(script not in f.read_bytes() for f in _files(app))


def test_trailing_bytes_after_the_jpeg_are_accepted_and_stripped(make_app, images):
    """Motion photos append a video after the JPEG's end marker: accepted, and the
    stored original ends at the marker (the variants never carry it either)."""
    app = make_app(PHOTO_KEEP_ORIGINALS=True)
    client = app.test_client()
    headers = bind_owner(app, client)
    jpeg = images.jpeg(size=(900, 600))
    trailer = b"PK\x03\x04" + os.urandom(5000) + b"<script>alert(1)</script>"
    response = client.post("/api/v1/tickets", headers=headers, content_type="multipart/form-data",
                           data={"kind": "inquiry", "description": "附带视频的照片",
                                 "photos": [(io.BytesIO(jpeg + trailer), "motion.jpg",
                                             "image/jpeg")]})
    assert response.status_code == 201, response.json
    with app.app_context():
        photo = db.session.scalar(db.select(TicketPhoto))
        assert photo.state == PhotoState.ready
        assert photo.original_bytes == len(jpeg)
        stored = (Path(app.config["MEDIA_DIR"]) / photo.original_key).read_bytes()
        display = (Path(app.config["MEDIA_DIR"]) / photo.display_key).read_bytes()
    assert stored == jpeg
    assert b"PK\x03\x04" not in display and b"<script>" not in display


def test_end_of_image_detection():
    from backend.services.photos import jpeg_end, png_end, webp_end
    from tests.conftest import ImageFactory

    factory = ImageFactory()
    for jpeg in (factory.jpeg(gps=True, comment=b"x\xff\xd9y"),
                 factory.jpeg(progressive=True)):
        assert jpeg_end(jpeg) == len(jpeg)
        assert jpeg_end(jpeg + b"\xff\xd9trailer") == len(jpeg)
        assert jpeg_end(jpeg[:-10]) is None  # no end: nothing is cut
    png = factory.png()
    assert png_end(png + b"junk") == len(png) and png_end(png[:-20]) is None
    webp = factory.webp()
    assert webp_end(webp + b"junk") == len(webp)
    assert jpeg_end(b"not a jpeg") is None and png_end(b"") is None and webp_end(b"RIFF") is None


# ----------------------------------------------------------------- processing
def test_processing_twice_changes_nothing_the_second_time(app, client, owner, post_ticket,
                                                          images):
    from backend.jobs.queue import run_outbox_job
    from backend.services.photos import process_photo

    headers = owner("O-1")
    post_ticket(headers, photos=[images.jpeg()])
    before = {f: f.read_bytes() for f in _files(app)}
    with app.app_context():
        photo = db.session.scalar(db.select(TicketPhoto))
        state = (photo.state, photo.display_key, photo.thumb_key, photo.processed_at)
        assert process_photo(photo.id) == "already-done"
        job = db.session.scalar(db.select(OutboxJob).filter_by(name="photos.process"))
        assert run_outbox_job(job.id, _inline=True) == "already-done"
    with app.app_context():
        photo = db.session.scalar(db.select(TicketPhoto))
        assert (photo.state, photo.display_key, photo.thumb_key, photo.processed_at) == state
        assert db.session.get(OutboxJob, job.id).attempts == 1
    assert {f: f.read_bytes() for f in _files(app)} == before


def test_a_photo_that_cannot_be_decoded_later_fails_without_retrying(make_app, images):
    """The original is checked in the request; if storage hands back something else
    at processing time the photo is marked failed, once."""
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # keep the job from running
    client = app.test_client()
    headers = bind_owner(app, client)
    response = client.post("/api/v1/tickets", headers=headers, content_type="multipart/form-data",
                           data={"kind": "inquiry", "description": "坏掉的存储",
                                 "photos": [(io.BytesIO(images.jpeg()), "a.jpg", "image/jpeg")]})
    assert response.status_code == 201
    with app.app_context():
        photo = db.session.scalar(db.select(TicketPhoto))
        (Path(app.config["MEDIA_DIR"]) / photo.original_key).write_bytes(b"garbage")
        job_id = db.session.scalar(db.select(OutboxJob.id).filter_by(name="photos.process"))
        from backend.jobs.queue import run_outbox_job

        assert run_outbox_job(job_id, _inline=True) == "permanent-failure"
    with app.app_context():
        photo = db.session.scalar(db.select(TicketPhoto))
        job = db.session.get(OutboxJob, job_id)
        assert photo.state == PhotoState.failed and job.failed and job.attempts == 1
    detail = client.get(f"/api/v1/tickets/{response.json['id']}", headers=headers).json
    assert detail["photos"][0]["state"] == "failed" and detail["photos"][0]["url"] is None


def test_photo_is_409_while_processing(make_app, images):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    headers = bind_owner(app, client)
    ticket = client.post("/api/v1/tickets", headers=headers, content_type="multipart/form-data",
                         data={"kind": "inquiry", "description": "处理中",
                               "photos": [(io.BytesIO(images.jpeg()), "a.jpg", "image/jpeg")]}).json
    photo_id = ticket["photos"][0]["id"]
    response = client.get(f"/api/v1/tickets/{ticket['id']}/photos/{photo_id}/display",
                          headers=headers)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "photo_processing"


@pytest.mark.services
def test_a_ticket_created_while_redis_is_down_gets_its_photos_processed_when_it_is_back(
        make_app, redis_url, rq_worker, images):
    down = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    client = down.test_client()
    headers = bind_owner(down, client)
    response = client.post("/api/v1/tickets", headers=headers, content_type="multipart/form-data",
                           data={"kind": "common_repair", "description": "Redis 宕机时报修",
                                 "photos": [(io.BytesIO(images.jpeg()), "a.jpg", "image/jpeg"),
                                            (io.BytesIO(images.png()), "b.png", "image/png")]})
    assert response.status_code == 201  # accepted although Redis is down
    ticket_id = response.json["id"]
    assert [p["state"] for p in response.json["photos"]] == ["processing", "processing"]
    with down.app_context():
        jobs = db.session.scalars(db.select(OutboxJob).filter_by(name="photos.process")).all()
        assert len(jobs) == 2 and all(j.enqueued_at is None for j in jobs)

    rq_worker()  # Redis is back: a real worker relays the outbox and runs the jobs

    def processed():
        # the photos turn ready inside the job; its outbox row is marked done after
        with down.app_context():
            states = db.session.scalars(db.select(TicketPhoto.state)).all()
            jobs = db.session.scalars(db.select(OutboxJob).filter_by(name="photos.process")).all()
            return (all(s == PhotoState.ready for s in states)
                    and all(j.done_at is not None for j in jobs))

    wait_for(processed, timeout=40)
    with down.app_context():
        jobs = db.session.scalars(db.select(OutboxJob).filter_by(name="photos.process")).all()
        assert all(j.attempts == 1 for j in jobs)
    detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).json
    for photo in detail["photos"]:
        assert client.get(photo["thumb_url"], headers=headers).status_code == 200


# ----------------------------------------------------------------- more photos later
def test_engineer_attaches_after_photos_and_the_reporter_adds_to_the_report(
        app, client, owner, staff, post_ticket, images):
    from backend.models import User

    resident = owner("O-1")
    desk, engineer = staff("desk"), staff("engineer")
    ticket = post_ticket(resident, photos=[images.jpeg()] * 8).json
    tid = ticket["id"]
    small = images.jpeg(size=(64, 48))

    def upload(headers, count, **form):
        return client.post(f"/api/v1/tickets/{tid}/photos", headers=headers,
                           content_type="multipart/form-data",
                           data={**form, "photos": [(io.BytesIO(small), "p.jpg", "image/jpeg")
                                                    for _ in range(count)]})

    added = upload(resident, 1)
    assert added.status_code == 201 and added.json["items"][0]["stage"] == "report"
    too_many = upload(resident, 1)  # 9 already
    assert too_many.status_code == 400 and too_many.json["error"]["code"] == "too_many_photos"
    # an engineer not on the job may not add photos; staff may not pose as the reporter
    assert upload(engineer, 1).status_code == 403
    assert upload(desk, 1, stage="report").status_code == 403
    assert upload(owner("O-2"), 1).status_code == 404
    with app.app_context():
        engineer_id = db.session.scalar(db.select(User.id).filter_by(username="engineer-user"))
    for action, body in (("accept", {}), ("assign", {"assignee_id": engineer_id}),
                         ("start", {})):
        response = client.post(f"/api/v1/tickets/{tid}/actions",
                               headers=engineer if action == "start" else desk,
                               json={"action": action, **body})
        assert response.status_code == 200
    after = upload(engineer, 2)
    assert after.status_code == 201 and {p["stage"] for p in after.json["items"]} == {"after"}
    client.post(f"/api/v1/tickets/{tid}/actions", headers=engineer, json={"action": "resolve"})
    detail = client.get(f"/api/v1/tickets/{tid}", headers=resident).json
    assert [p["stage"] for p in detail["photos"]].count("after") == 2
    assert all(p["state"] == "ready" for p in detail["photos"])
    assert "photos_added" in [e["type"] for e in detail["events"]]
    bad = upload(engineer, 1)
    assert bad.status_code == 201  # still possible on a resolved ticket
    client.post(f"/api/v1/tickets/{tid}/rating", headers=resident, json={"score": 5})
    assert upload(engineer, 1).status_code == 409  # closed
    assert upload(resident, 0).status_code == 400


def test_oversize_body_is_413_under_gunicorn(database_url, tmp_path, make_app):
    """Content-Length over MAX_CONTENT_LENGTH is refused before the body is read."""
    import http.client

    from backend.models import User
    from backend.services.auth import issue_token
    from tests.conftest import SECRET
    from tests.servers import gunicorn_server

    app = make_app()
    with app.app_context():
        user = User(openid="gunicorn-user", name="测试")
        db.session.add(user)
        db.session.commit()
        token = issue_token(user)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "INSTANCE_DIR": str(tmp_path),
           "MEDIA_DIR": str(tmp_path / "media"), "REDIS_URL": ""}
    with gunicorn_server(env=env, workers=1) as (host, port):
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.putrequest("POST", "/api/v1/tickets")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", "multipart/form-data; boundary=xyz")
        conn.putheader("Content-Length", str(200 * 1024 * 1024))
        conn.endheaders()
        conn.send(b"--xyz\r\n")
        response = conn.getresponse()
        body = response.read()
        conn.close()
    assert response.status == 413
    assert b'"too_large"' in body


def test_stored_uploads_are_removed_when_the_transaction_does_not_commit(app, owner, images):
    """Originals are written before the commit; a rollback takes them away again."""
    from backend.models import User
    from backend.services.tickets import report_ticket

    owner("O-1")
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(openid="openid-O-1"))
        report_ticket(user, kind="common_repair", description="不会保存",
                      uploads=[io.BytesIO(images.jpeg()), io.BytesIO(images.png())])
        assert len(_files(app)) == 2  # stored, not yet committed
        db.session.rollback()
    assert _files(app) == []
    assert _counts(app) == (0, 0)


def test_a_text_field_named_photos_is_400_not_500(client, owner, community):
    response = client.post("/api/v1/tickets", headers=owner("O-1"),
                           content_type="multipart/form-data",
                           data={"kind": "inquiry", "description": "x", "photos": "not-a-file"})
    assert response.status_code == 400
    assert "photos" in response.json["error"]["details"]["fields"]


def test_an_empty_file_input_from_a_browser_form_means_no_photo(client, owner, community):
    response = client.post("/api/v1/tickets", headers=owner("O-1"),
                           content_type="multipart/form-data",
                           data={"kind": "inquiry", "description": "没有选照片",
                                 "photos": [(io.BytesIO(b""), "", "application/octet-stream")]})
    assert response.status_code == 201 and response.json["photos"] == []


def test_sweep_removes_only_old_files_nobody_refers_to(app, owner, post_ticket, images):
    import time

    post_ticket(owner("O-1"), photos=[images.jpeg()])
    kept = _files(app)
    assert len(kept) == 2
    media = Path(app.config["MEDIA_DIR"])
    old = media / "tickets" / "zz" / "orphanOld.jpg"
    fresh = media / "tickets" / "zz" / "orphanNew.jpg"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    for path in kept:  # referenced files are kept however old they are
        os.utime(path, (two_hours_ago, two_hours_ago))

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["sweep-photos", "--dry-run"])
    assert dry.exit_code == 0 and "would delete tickets/zz/orphanOld.jpg" in dry.output
    assert old.exists()
    done = runner.invoke(args=["sweep-photos"])
    assert done.exit_code == 0, done.output
    assert "deleted 1" in done.output
    assert not old.exists() and fresh.exists()
    assert all(path.exists() for path in kept)
