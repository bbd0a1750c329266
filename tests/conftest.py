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
    }
    config.update(overrides)
    return config


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app with config overrides: ``make_app(REDIS_URL=...)``."""
    apps = []

    def factory(**overrides):
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


@pytest.fixture
def app(make_app):
    return make_app()


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
            "LOG_LEVEL": "WARNING",
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
    """``staff("desk")`` → headers for a staff member with that role (created once)."""
    from backend.models import Role, User
    from backend.services.auth import hash_password
    from backend.services.permissions import grant_staff_role

    def _staff(role: str, username: str | None = None) -> dict:
        username = username or f"{role}-user"
        with client.application.app_context():
            user = db.session.scalar(db.select(User).filter_by(username=username))
            if user is None:
                user = User(username=username, name=f"{role}员工",
                            password_hash=hash_password("pw-" + username))
                db.session.add(user)
                db.session.flush()
            grant_staff_role(user, community["id"], Role(role))
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
