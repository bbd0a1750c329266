"""Nothing per process that several servers must share: rate limits and the WeChat
push's nonce guard kept in Redis fail closed (503) in production when it is
unreachable instead of counting per process or deciding from another store, two
app instances on one Redis share their limits, and the bot's rules come only from
the package in production."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import xmltodict
from redis import Redis

import backend
from backend.config import ConfigError, check_production, from_environment
from backend.extensions import db
from backend.models import WechatNonce
from tests.conftest import test_config as _config
from tests.servers import free_port
from tests.test_wechat_callback import AES_KEY, WeChat, resident_messages, text_xml

PRODUCTION = {"APP_ENV": "production", "DEV_LOGIN": False,
              "SECRET_KEY": "prod-Secret-0123456789-abcdefghijklmnopqrstuvwxyz"}


class StoppableRedis:
    """A redis-server of the test's own, stopped and started again on the same port
    (the session's server stays up for the other tests)."""

    def __init__(self, exe: str, workdir: Path):
        self.exe, self.workdir, self.port = exe, workdir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def own_redis(redis_server, tmp_path):
    server = StoppableRedis(redis_server["exe"], tmp_path)
    server.start()
    yield server
    server.stop()


def _nonce_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(WechatNonce))


def test_production_push_with_redis_down_answers_503_then_the_retry_is_recorded_once(
        make_app, community, own_redis, caplog):
    """Signed, AES-encrypted pushes as WeChat sends them, to a production app whose
    REDIS_URL points at a server stopped during the test."""
    app = make_app(**PRODUCTION, REDIS_URL=own_redis.url, WECHAT_AES_KEY=AES_KEY)
    assert app.config["WECHAT_NONCE_FAIL_CLOSED"] is True
    wx = WeChat(app.test_client())
    assert wx.post(text_xml("你好", msg_id=7001), aes=True).status_code == 200

    own_redis.stop()
    caplog.set_level(logging.ERROR, logger="backend.services.chat.nonces")
    first = wx.post(text_xml("楼道灯坏了，谁来修", msg_id=7002), aes=True)
    assert first.status_code == 503  # WeChat takes it as no answer and retries
    assert first.json["error"]["code"] == "unavailable"
    assert "Redis (REDIS_URL) unreachable" in caplog.text and "503" in caplog.text
    # decided by nobody: nothing recorded, not even a nonce in the table
    assert [m.text for m in resident_messages(app)] == ["你好"]
    assert _nonce_rows(app) == 0
    # every push is refused while Redis is away (no skipping to the database after
    # the first failure): a second nonce and WeChat's retry of the first alike
    assert wx.post(text_xml("再问一次", msg_id=7003), aes=True).status_code == 503
    assert wx.resend(first).status_code == 503

    own_redis.start()
    retry = wx.resend(first)  # WeChat's next retry, byte for byte
    assert retry.status_code == 200 and wx.answer(retry, aes=True)
    assert wx.resend(first).status_code == 200  # once more: the MsgId answers it
    texts = [m.text for m in resident_messages(app)]
    assert texts == ["你好", "楼道灯坏了，谁来修"]
    assert _nonce_rows(app) == 0  # production keeps nonces in Redis only


def test_production_with_redis_down_refuses_a_replay_it_cannot_check(
        make_app, community, own_redis):
    """A nonce held in Redis is not in the table: with Redis down the push is not
    decided from the table, so a captured signature with another body stays out."""
    app = make_app(**PRODUCTION, REDIS_URL=own_redis.url, WECHAT_AES_KEY=AES_KEY)
    wx = WeChat(app.test_client())
    seen = wx.post(text_xml("物业电话是多少", msg_id=7101), aes=True)
    assert seen.status_code == 200
    own_redis.stop()
    params = seen.params
    envelope = wx.crypto.encrypt_message(text_xml("人工", msg_id=7102), params["nonce"],
                                         params["timestamp"])
    forged = wx.client.post("/wechat/callback", content_type="text/xml", data=envelope,
                            query_string=dict(params, msg_signature=xmltodict.parse(envelope)
                                              ["xml"]["MsgSignature"]))
    assert forged.status_code == 503
    assert [m.text for m in resident_messages(app)] == ["物业电话是多少"]
    # WeChat's server check goes through the guard too
    check = wx.client.get("/wechat/callback", query_string=dict(wx.params(), echostr="e-1"))
    assert check.status_code == 503


def test_development_with_redis_down_still_falls_back_to_the_database(make_app, community):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", WECHAT_AES_KEY=AES_KEY)
    assert app.config["WECHAT_NONCE_FAIL_CLOSED"] is False
    wx = WeChat(app.test_client())
    response = wx.post(text_xml("物业电话是多少", msg_id=7201), aes=True)
    assert response.status_code == 200 and wx.answer(response, aes=True)
    assert _nonce_rows(app) == 1


def test_limits_are_shared_between_servers_and_fail_closed_in_production_without_redis(
        make_app, database_url, tmp_path, redis_url):
    """Another process stands for a second server (Flask-Limiter's storage belongs to
    the process). With the same REDIS_URL it sees this app's hits, so a client gets
    no more than the limit through a balancer; a production app whose Redis is
    stopped (nothing listens on the port) refuses the limited request instead of
    counting it in the process."""
    settings = dict(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
    first = make_app(REDIS_URL=redis_url, **settings)
    assert first.config["RATELIMIT_STORAGE_URI"] == redis_url
    client = first.test_client()
    hits = [client.post("/api/v1/auth/staff-login", json=BAD_LOGIN).status_code
            for _ in range(3)]
    assert 429 not in hits
    second, down = _in_another_process(
        _config(database_url, tmp_path, REDIS_URL=redis_url, **settings),
        _config(database_url, tmp_path, **PRODUCTION, **settings,
                REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))
    assert second["status"] == 429, second
    assert down["status"] == 503 and down["retry_after"] == "30"
    assert down["body"]["error"]["message"] == "系统繁忙，请稍后再试"
    assert "rate limit storage unreachable" in down["log"]


def _in_another_process(*configs: dict, timeout: float = 120) -> list[dict]:
    """One staff sign-in by an app built from each config, each in a fresh process
    (started together): status, body, Retry-After and what the process logged."""
    root = Path(backend.__file__).parent.parent
    procs = []
    for config in configs:
        script = textwrap.dedent(f"""
            import json
            from backend import create_app
            app = create_app(json.loads({json.dumps(json.dumps(config))}))
            r = app.test_client().post("/api/v1/auth/staff-login", json={BAD_LOGIN!r})
            print(json.dumps([r.status_code, r.json, r.headers.get("Retry-After")]))
        """)
        procs.append(subprocess.Popen([sys.executable, "-c", script], cwd=root, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-2000:]
        status, body, retry_after = json.loads(out.strip().splitlines()[-1])
        results.append(dict(status=status, body=body, retry_after=retry_after, log=err))
    return results


BAD_LOGIN = {"username": "nobody", "password": "wrong-password"}


def test_with_redis_production_keeps_shared_state_only_in_redis():
    from backend.config import finalise

    redis = {"REDIS_URL": "redis://10.0.0.5:6379/0", "DATABASE_URL": "postgresql://db/wuye"}
    production = finalise({**from_environment(redis), **PRODUCTION})
    assert production["RATELIMIT_STORAGE_URI"] == "redis://10.0.0.5:6379/0"
    assert production["RATELIMIT_SWALLOW_ERRORS"] is False
    assert production["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is False
    assert production["WECHAT_NONCE_FAIL_CLOSED"] is True
    # development keeps serving while Redis is away
    development = finalise(from_environment(redis))
    assert development["RATELIMIT_SWALLOW_ERRORS"] is True
    assert development["WECHAT_NONCE_FAIL_CLOSED"] is False


def test_production_refuses_a_rules_file_path():
    """The bot's rules are deployed with the code (backend/bot/rules.yaml in the
    package), so every server answers alike and nobody edits them on one machine."""
    assert (Path(backend.__file__).parent / "bot" / "rules.yaml").is_file()
    config = {**from_environment({"APP_ENV": "production"}), "BOT_RULES_PATH": "/srv/rules.yaml"}
    with pytest.raises(ConfigError, match="BOT_RULES_PATH must not be set in production"):
        check_production(config)
