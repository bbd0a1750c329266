"""Shared fixtures.

Databases: the suite runs on SQLite by default and on a real PostgreSQL with
``TEST_DB=postgresql`` (a throwaway server started here). Redis: ``redis_url`` starts a
throwaway redis-server (pytest-redis). With ``REQUIRE_SERVICES=1`` (CI) a missing
server fails the run instead of skipping.

No fixture keeps an app context open across requests: each request gets its own,
as in production (a shared context would share ``g`` and the DB session).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from backend import create_app
from backend.extensions import db
from tests.servers import ServiceMissing, create_pg_database, free_port, throwaway_postgres

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
TEST_DB = os.environ.get("TEST_DB", "sqlite")
SECRET = "test-secret-key-0123456789"


def missing_service(message: str):
    if REQUIRE_SERVICES:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# ----------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="session")
def postgres_server():
    try:
        with throwaway_postgres() as url:
            yield url
    except ServiceMissing as exc:
        missing_service(str(exc))


# ----------------------------------------------------------------- database
def migrate(url: str, tmp: Path) -> None:
    import flask_migrate

    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": str(tmp), "SECRET_KEY": SECRET})
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    """A migrated database for the session (schema built by the Alembic migrations)."""
    tmp = tmp_path_factory.mktemp("db")
    if TEST_DB == "postgresql":
        server = request.getfixturevalue("postgres_server")
        url = create_pg_database(server, "wuye_test")
    else:
        url = f"sqlite:///{tmp / 'test.db'}"
    migrate(url, tmp)
    return url


def wipe(url: str) -> None:
    from backend.models import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                              + " RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    engine.dispose()


# ----------------------------------------------------------------- app
class BufferedClient(FlaskClient):
    """Closes each response as a real server does, so work registered with
    ``response.call_on_close`` (inline jobs) runs."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def test_config(database_url: str, tmp_path: Path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": None,
        "INSTANCE_DIR": str(tmp_path),
        "MEDIA_DIR": str(tmp_path / "media"),
        "SECRET_KEY": SECRET,
        "RATELIMIT_ENABLED": False,
        "WECHAT_APPID": "wx0123456789abcdef",
        "WECHAT_SECRET": "test-app-secret",
        "WECHAT_TOKEN": "test-push-token",
        "WECHAT_TEMPLATE_TICKET": "tmpl-ticket",
        "WECHAT_TEMPLATE_FUND": "tmpl-fund",
        "WECHAT_TEMPLATE_NOTICE": "tmpl-notice",
    }
    config.update(overrides)
    return config


# STORAGE_BACKEND=s3 chooses the backend of the suite's apps (make_app adds a bucket of
# the fixture's server); taken out of the environment so that no app or subprocess
# reads it without the bucket's settings.
TEST_STORAGE = os.environ.pop("STORAGE_BACKEND", "local")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "local_storage: the test looks at MEDIA_DIR itself, so it keeps the local "
        "backend when the suite runs with STORAGE_BACKEND=s3")


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server process (moto's standalone ``moto_server``), once
    per session: its endpoint URL."""
    import urllib.request

    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1",
                             "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def new_bucket(endpoint: str) -> dict:
    """Settings of the s3 backend on a new, empty bucket of the server at ``endpoint``."""
    import uuid

    settings = {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": endpoint,
                "S3_BUCKET": f"test-{uuid.uuid4().hex[:16]}", "S3_REGION": "us-east-1",
                "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing",
                "S3_ADDRESSING_STYLE": "path"}
    s3_client(endpoint).create_bucket(Bucket=settings["S3_BUCKET"])
    return settings


@pytest.fixture
def s3_settings(s3_server):
    """Settings of the s3 backend on a fresh, empty bucket of the fixture's server."""
    return new_bucket(s3_server)


@pytest.fixture
def make_app(database_url, tmp_path, request):
    """Build an app with config overrides: ``make_app(REDIS_URL=...)``. With
    STORAGE_BACKEND=s3 in the environment, files go to a bucket of the fixture's S3
    server unless the test chooses a backend itself."""
    apps = []

    def factory(**overrides):
        if (TEST_STORAGE == "s3" and "STORAGE_BACKEND" not in overrides
                and request.node.get_closest_marker("local_storage") is None):
            overrides = {**request.getfixturevalue("s3_settings"), **overrides}
        app = create_app(test_config(database_url, tmp_path, **overrides))
        app.test_client_class = BufferedClient
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    wipe(database_url)


@pytest.fixture(scope="session")
def shared_app(request, database_url, tmp_path_factory):
    """The default app, built once per session: building one costs about 0.1 s
    (flask-smorest documents every route), which over 1,500 tests and two passes is
    minutes of CI. ``app`` hands it to each test from an empty database and an empty
    file store, with its settings as built; ``make_app`` still builds a fresh app for
    tests that need their own settings."""
    overrides = {}
    if TEST_STORAGE == "s3":
        overrides = new_bucket(request.getfixturevalue("s3_server"))
    app = create_app(test_config(database_url, tmp_path_factory.mktemp("app"), **overrides))
    app.test_client_class = BufferedClient
    return app


def empty_file_store(app) -> None:
    if app.config.get("STORAGE_BACKEND") == "s3":
        bucket = app.config["S3_BUCKET"]
        client = s3_client(app.config["S3_ENDPOINT_URL"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
    shutil.rmtree(app.config["MEDIA_DIR"], ignore_errors=True)


@pytest.fixture
def app(request, make_app):
    if request.node.get_closest_marker("local_storage") is not None and TEST_STORAGE == "s3":
        yield make_app()
        return
    app = request.getfixturevalue("shared_app")
    settings = dict(app.config)
    yield app
    # make_app's teardown (after this) empties the database
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    app.config.clear()
    app.config.update(settings)
    empty_file_store(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """``with ctx():`` runs code in a fresh app context (for direct DB access)."""
    return app.app_context


# ----------------------------------------------------------------- Redis
@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A throwaway redis-server (maxmemory-policy noeviction, as production)."""
    exe = shutil.which("redis-server")
    if not exe:
        missing_service("redis-server not installed")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir),
                             "--maxmemory-policy", "noeviction"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis

    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:  # noqa: BLE001
            time.sleep(0.05)
    yield {"url": url, "port": port, "exe": exe, "dir": workdir, "proc": proc}
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def redis_url(redis_server):
    from redis import Redis

    Redis.from_url(redis_server["url"]).flushall()
    return redis_server["url"]


@pytest.fixture
def rq_worker(database_url, tmp_path, redis_url):
    """Start a real ``flask worker`` process (rq, with scheduler) against the test DB
    and Redis. Returns a function that starts it; it is stopped after the test."""
    procs = []

    def start(**env_overrides):
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
            "INSTANCE_DIR": str(tmp_path), "MEDIA_DIR": str(tmp_path / "media"),
            "WECHAT_APPID": "wx0123456789abcdef", "WECHAT_SECRET": "test-app-secret",
            "WECHAT_TEMPLATE_TICKET": "tmpl-ticket", "WECHAT_TEMPLATE_FUND": "tmpl-fund",
            "LOG_LEVEL": os.environ.get("WORKER_LOG_LEVEL", "WARNING"),
        })
        env.update(env_overrides)
        root = Path(__file__).resolve().parent.parent
        log = open(tmp_path / f"worker{len(procs)}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=root, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    """Poll until ``predicate()`` is truthy (for work done by another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


# ----------------------------------------------------------------- factories
DEMO_LEDGER = """building,unit,number,area_m2,owner_ref,owner_name,phone,kind
1,1,101,98.50,O-1,张三,13900000001,residential_lift
1,1,102,120.30,O-2,李四,13900000002,residential_lift
1,1,201,98.50,O-3,王五,13900000003,residential_lift
1,1,202,120.30,O-3,王五,13900000003,residential_lift
2,1,101,76.40,O-4,赵六,13900000004,residential
2,1,102,76.40,,,,residential
2,1,201,76.40,,,,residential
S,1,S01,65.00,O-5,钱七,13900000005,shop
"""


@pytest.fixture
def community(app):
    """A small community from a ledger: 8 rooms, 5 owners (王五 holds two rooms),
    two unsold rooms; fees 2.80 (lift), 1.50 (walk-up), 3.00 (shop)."""
    from backend.services.community import get_or_create_community, set_fee
    from backend.services.ledger import import_ledger

    with app.app_context():
        c, _ = get_or_create_community("测试小区")
        import_ledger(c, DEMO_LEDGER)
        set_fee(c, "residential_lift", "2.80")
        set_fee(c, "residential", "1.50")
        set_fee(c, "shop", "3.00")
        db.session.commit()
        return {"id": c.id, "name": c.name}


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def login(client):
    """``login("openid")`` → headers for a resident signed in with a dev code."""

    def _login(openid: str) -> dict:
        response = client.post("/api/v1/auth/wx-login", json={"code": f"dev:{openid}"})
        assert response.status_code == 200, response.json
        return auth(response.json["token"])

    return _login


@pytest.fixture
def owner(client, login, community):
    """``owner("O-1")`` → headers for the owner of record with that ref, bound to all
    their rooms through the API (as a real owner would do)."""
    from backend.models import OwnerOfRecord

    def _owner(ref: str) -> dict:
        with client.application.app_context():
            record = db.session.scalar(db.select(OwnerOfRecord).filter_by(owner_ref=ref))
            rooms = [(r.building.name, r.unit.name, r.number) for r in record.rooms]
            name, phone = record.name, record.phone
        headers = login(f"openid-{ref}")
        for building, unit, number in rooms:
            response = client.post("/api/v1/me/rooms", headers=headers, json={
                "building": building, "unit": unit, "number": number,
                "owner_name": name, "phone": phone})
            assert response.status_code == 201, response.json
        return headers

    return _owner


@pytest.fixture
def staff(client, community):
    """``staff("desk")`` → headers for a staff member with that role (created once), in
    the test community or ``community`` (a dict with its id)."""
    from backend.models import Role, User
    from backend.services.auth import hash_password
    from backend.services.permissions import grant_staff_role

    def _staff(role: str, username: str | None = None, community_of=None) -> dict:
        username = username or f"{role}-user"
        where = community_of or community
        with client.application.app_context():
            user = db.session.scalar(db.select(User).filter_by(username=username))
            if user is None:
                user = User(username=username, name=f"{role}员工",
                            password_hash=hash_password("pw-" + username))
                db.session.add(user)
                db.session.flush()
            grant_staff_role(user, where["id"], Role(role))
            db.session.commit()
        response = client.post("/api/v1/auth/staff-login",
                               json={"username": username, "password": "pw-" + username})
        assert response.status_code == 200, response.json
        return auth(response.json["token"])

    return _staff


@pytest.fixture
def committee(owner, client):
    """``committee("O-1")`` → headers for an owner who is a committee member."""
    from backend.models import OwnerOfRecord

    def _committee(ref: str) -> dict:
        with client.application.app_context():
            record = db.session.scalar(db.select(OwnerOfRecord).filter_by(owner_ref=ref))
            record.is_committee = True
            db.session.commit()
        return owner(ref)

    return _committee


# --- fund fixtures ---
@pytest.fixture
def fund_proposal(client, committee):
    """``fund_proposal(**fields)`` → a proposal drafted (and by default opened) by
    committee member O-1: the lift of building 1 under the objection rule, closing in
    8 days (the shortest window is 7). ``headers=`` drafts as someone else,
    ``open=False`` leaves it a draft."""
    from datetime import datetime, timedelta, timezone

    def _make(headers=None, open=True, **fields):
        headers = headers or committee("O-1")
        body = {
            "title": "1栋电梯更换", "description": "两部电梯整体更换",
            "amount_yuan": "120000.00", "scope": {"buildings": ["1"]}, "rule": "objection",
            "closes_at": (datetime.now(timezone.utc) + timedelta(days=8)).isoformat(),
        }
        body.update(fields)
        response = client.post("/api/v1/fund-proposals", json=body, headers=headers)
        assert response.status_code == 201, response.json
        if not open:
            return response.json
        # published (公示) a notice period ago, voting opens now (tests/fund_helpers.py)
        from tests.fund_helpers import start_published

        start_published(client.application, response.json["id"], token=headers["Authorization"])
        opened = client.get(f"/api/v1/fund-proposals/{response.json['id']}", headers=headers)
        assert opened.status_code == 200, opened.json
        return opened.json

    return _make


@pytest.fixture
def rooms_by_label(app, community):
    """{"1-1-101": id, ...} for the rooms of the ``community`` fixture."""
    from backend.models import Building, Room, Unit

    with app.app_context():
        rows = db.session.execute(
            db.select(Building.name, Unit.name, Room.number, Room.id)
            .join(Unit, Room.unit_id == Unit.id).join(Building, Room.building_id == Building.id)
            .where(Room.community_id == community["id"])).all()
        return {f"{b}-{u}-{n}": rid for b, u, n, rid in rows}


# --- tickets fixtures ---
WX_TOKEN_URL = "https://api.weixin.qq.com/cgi-bin/token"
WX_SUBSCRIBE_URL = "https://api.weixin.qq.com/cgi-bin/message/subscribe/send"


@pytest.fixture
def wechat_api():
    """WeChat's HTTP API stood in for at the HTTP boundary (``responses``): the access
    token and subscribe messages succeed unless a test replaces them
    (``wechat_api.replace(responses.POST, WX_SUBSCRIBE_URL, json=...)``)."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(WX_TOKEN_URL, json={"access_token": "ACCESS", "expires_in": 7200})
        mock.post(WX_SUBSCRIBE_URL, json={"errcode": 0, "errmsg": "ok"})
        yield mock


def subscribe_messages(mock) -> list[dict]:
    """The subscribe messages sent through a ``wechat_api`` mock, as JSON bodies."""
    import json

    return [json.loads(c.request.body) for c in mock.calls
            if c.request.url.startswith(WX_SUBSCRIBE_URL)]


class ImageFactory:
    """Test images as bytes, made with Pillow (no files in the repository)."""

    @staticmethod
    def picture(size=(800, 600), split=False):
        """A noisy picture (compresses like a photo); with ``split`` the left half is
        red and the right half blue (to check orientation)."""
        from PIL import Image

        width, height = size
        image = Image.effect_noise(size, 30).convert("RGB")
        if split:
            image = Image.new("RGB", size, (220, 20, 20))
            image.paste((20, 20, 220), (width // 2, 0, width, height))
        return image

    def jpeg(self, size=(800, 600), orientation=None, gps=False, comment=None, split=False,
             progressive=False, quality=90) -> bytes:
        import io

        from PIL import Image

        image = self.picture(size, split)
        exif = Image.Exif()
        if orientation:
            exif[0x0112] = orientation
        if gps:
            exif[0x8825] = {1: "N", 2: (30.0, 15.0, 36.0), 3: "E", 4: (120.0, 9.0, 54.0)}
        exif[0x010F] = "TestPhone"
        params = {"quality": quality, "exif": exif.tobytes(), "progressive": progressive}
        if comment:
            params["comment"] = comment
        out = io.BytesIO()
        image.save(out, "JPEG", **params)
        return out.getvalue()

    def encode(self, fmt: str, size=(640, 480), mode="RGB", **params) -> bytes:
        import io

        image = self.picture(size).convert(mode)
        out = io.BytesIO()
        image.save(out, fmt, **params)
        return out.getvalue()

    def png(self, size=(640, 480), mode="RGB") -> bytes:
        return self.encode("PNG", size, mode)

    def webp(self, size=(640, 480)) -> bytes:
        return self.encode("WEBP", size, quality=80)

    def tiff(self, size=(320, 240)) -> bytes:
        return self.encode("TIFF", size)

    def heic(self, size=(640, 480)) -> bytes:
        import pillow_heif

        pillow_heif.register_heif_opener()
        return self.encode("HEIF", size, quality=80)

    @staticmethod
    def svg() -> bytes:
        return (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
                b'height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>')

    @staticmethod
    def bomb_png(width=20000, height=20000) -> bytes:
        """A genuine, tiny 20000×20000 one-bit PNG (about 50 KB; 400 million pixels)."""
        import struct
        import zlib

        def chunk(kind: bytes, data: bytes) -> bytes:
            return (struct.pack(">I", len(data)) + kind + data
                    + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

        row = b"\x00" + b"\x00" * ((width + 7) // 8)
        compressor = zlib.compressobj(9)
        body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
        header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
                + chunk(b"IEND", b""))


@pytest.fixture
def images():
    return ImageFactory()


@pytest.fixture
def post_ticket(client):
    """``post_ticket(headers, photos=[bytes | (bytes, name, type)], kind=..., ...)`` →
    the response of a multipart ``POST /api/v1/tickets``."""
    import io

    def _post(headers, photos=(), **fields):
        data = {"kind": "common_repair", "description": "1栋1单元3楼楼道灯不亮",
                "location": "1栋1单元3楼"}
        for key, value in fields.items():
            data[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        files = []
        for index, photo in enumerate(photos):
            if isinstance(photo, bytes):
                photo = (photo, f"photo{index}.jpg", "image/jpeg")
            content, name, ctype = photo
            files.append((io.BytesIO(content), name, ctype))
        if files:
            data["photos"] = files
        return client.post("/api/v1/tickets", headers=headers, data=data,
                           content_type="multipart/form-data")

    return _post


@pytest.fixture
def room_id(client):
    """``room_id(headers, "1-1-101")`` → the id of one of the caller's bound rooms."""

    def _room(headers, label: str) -> int:
        building, unit, number = label.split("-")
        rooms = client.get("/api/v1/me", headers=headers).json["rooms"]
        for room in rooms:
            if (room["building"], room["unit"], room["number"]) == (building, unit, number):
                return room["id"]
        raise AssertionError(f"{label} is not bound: {rooms}")

    return _room


def bind_owner(app, client, openid: str = "owner-1-1-101") -> dict:
    """For tests that build their own app (``make_app(...)``): the small ledger
    imported, and auth headers of 张三 bound to 1-1-101 through the API."""
    from backend.services.community import get_or_create_community
    from backend.services.ledger import import_ledger

    with app.app_context():
        community, created = get_or_create_community("测试小区")
        if created:
            import_ledger(community, DEMO_LEDGER)
        db.session.commit()
    token = client.post("/api/v1/auth/wx-login", json={"code": f"dev:{openid}"}).json["token"]
    headers = auth(token)
    response = client.post("/api/v1/me/rooms", headers=headers, json={
        "building": "1", "unit": "1", "number": "101", "owner_name": "张三",
        "phone": "13900000001"})
    assert response.status_code == 201, response.json
    return headers


def import_into(app, community, ledger: str | None = None, bills: list[str] = ()) -> None:
    """Import a ledger and/or bill lines into the ``community`` fixture's community, as
    the property company's CLI would, and commit."""
    from backend.models import Community
    from backend.services.ledger import import_bills, import_ledger

    with app.app_context():
        target = db.session.get(Community, community["id"])
        if ledger:
            import_ledger(target, ledger)
        if bills:
            header = "building,unit,number,period,amount_yuan,paid_yuan,due_date"
            import_bills(target, "\n".join([header, *bills]) + "\n")
        db.session.commit()
