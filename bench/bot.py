"""The bot and the WeChat push.

1. In-process, one core: questions through the bot's rules per second (normalise and
   match: the pure part, target ≥ 5,000/s), and whole answers per second (matching
   plus the answer built from the demo community's data in SQLite), for reference.
2. Under gunicorn (2 workers, rate limits off: RATELIMIT_ENABLED=false), as a ratio
   to the hello-world Flask app served the same way in the same run (target ≥ 0.5):
   ``POST /api/v1/bot/ask`` with an owner's token and a mix of questions (loaded by
   wrk; one fee question before/after a change, trees side by side: bench.http), and
   AES-encrypted pushes to ``/wechat/callback`` (each signed once: fresh nonce,
   timestamp and MsgId, so sent by bench.common.http_load), with p99 latency against
   WeChat's 5 s deadline; and, for reference, what a push costs before it stores
   anything (bench/push_floor.py).

Run: .venv/bin/python -m bench.bot
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import (
    WRK_CONNECTIONS,
    Request,
    app_for,
    free_port,
    gunicorn_server,
    http_load,
    json_request,
    medians,
    prepare_database,
    report_ratio,
    round_ratios,
    serve,
    wrk,
    wrk_binary,
    wx_login,
)

ROOT = Path(__file__).resolve().parent.parent
DURATION = 20  # seconds of throughput runs per server, split over the rounds
ROUNDS = 5
CONCURRENCY = 8  # clients sending the pushes
PUSHES = 2500
TOKEN, APPID = "bench-push-token", "wxbench0000000001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
# A mix of what owners ask, weighted towards the data-backed answers.
QUESTIONS = ["物业费多少钱", "我欠费了吗", "怎么交物业费", "收费标准是多少", "物业电话是多少",
             "维修资金余额多少", "最近有什么需要表决的", "我的报修处理了吗", "养狗有什么规定",
             "水龙头坏了", "你好", "今天下雨吗"]
WECHAT_QUESTIONS = ["物业电话是多少", "怎么交物业费", "养狗有什么规定", "装修时间有规定吗",
                    "垃圾怎么分类", "收费标准是多少", "怎么开发票", "车位怎么租"]


def questions() -> list[str]:
    import yaml

    texts = list(QUESTIONS)
    for path in (ROOT.parent / "shared" / "bot" / "dev_questions.yaml",
                 ROOT / "tests" / "bot_heldout.yaml"):
        if path.exists():
            texts += [item["text"] for item in yaml.safe_load(path.read_text(encoding="utf-8"))]
    return texts


def in_process(env: dict) -> None:
    try:
        from backend.services.bot_answers import asker_for, reply, rulebook
    except ImportError:  # before the answers moved out of backend.bot
        from backend.bot import asker_for, reply, rulebook
    from backend.extensions import db
    from backend.models import User

    texts = questions()
    app = app_for(env)
    with app.app_context():
        matcher = rulebook().matcher
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < 3.0:
            for text in texts:
                matcher.match(text)
            n += len(texts)
        match_rate = n / (time.perf_counter() - started)

        user = db.session.scalar(db.select(User).filter_by(openid="demo-wang"))
        asker = asker_for(user)
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < 5.0:
            for text in texts:
                reply(user, text, asker)
            n += len(texts)
            db.session.rollback()  # fresh reads each round, as separate requests would see
        answer_rate = n / (time.perf_counter() - started)
    print(f"in-process, one core ({len(texts)} distinct questions):")
    print(f"  bot rules: normalise + match  {match_rate:10.0f} /s   target ≥ 5000/s: "
          f"{'OK' if match_rate >= 5000 else 'MISSED'}")
    print(f"  whole answers incl. SQLite    {answer_rate:10.0f} /s   (matching plus the answer "
          f"built from the asker's data)")


def seed(env: dict) -> None:
    from backend.extensions import db
    from backend.seed import seed_demo

    app = app_for(env)
    with app.app_context():
        seed_demo()
        db.session.commit()


def push_requests(count: int, first_msg_id: int = 10_000_000) -> list[Request]:
    """Encrypted pushes as WeChat sends them, each with its own nonce and MsgId."""
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import WeChatSigner
    from urllib.parse import urlencode

    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    out = []
    for i in range(count):
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
        openid = f"o-bench-{i % 200:03d}"
        xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
               f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{timestamp}</CreateTime>"
               f"<MsgType><![CDATA[text]]></MsgType>"
               f"<Content><![CDATA[{WECHAT_QUESTIONS[i % len(WECHAT_QUESTIONS)]}]]></Content>"
               f"<MsgId>{first_msg_id + i}</MsgId></xml>")
        envelope = crypto.encrypt_message(xml, nonce, timestamp)
        signer = WeChatSigner()
        signer.add_data(TOKEN, timestamp, nonce)
        msg_signer = WeChatSigner()
        msg_signer.add_data(TOKEN, timestamp, nonce,
                            envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0])
        query = urlencode({"signature": signer.signature, "timestamp": timestamp, "nonce": nonce,
                           "openid": openid, "encrypt_type": "aes",
                           "msg_signature": msg_signer.signature})
        out.append(Request("POST", f"/wechat/callback?{query}", envelope.encode(),
                           {"Content-Type": "text/xml"}))
    return out


@contextlib.contextmanager
def throwaway_redis():
    exe = shutil.which("redis-server")
    if not exe:
        yield None
        return
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="wuye-bench-redis-")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    wrk_binary()
    env = prepare_database()
    seed(env)
    in_process(env)

    hello = Request("POST", "/", b"{}", {"Content-Type": "application/json"})
    runs: dict[str, list] = {}
    with contextlib.ExitStack() as stack:
        base_server = stack.enter_context(serve("bench.hello:app", ready_path="/"))
        app_server = stack.enter_context(serve(env=env))
        token = wx_login(*app_server, "demo-wang")
        asks = [json_request("POST", "/api/v1/bot/ask", {"text": q}, token) for q in QUESTIONS]
        me = json_request("GET", "/api/v1/me", None, token)
        targets = (("hello", base_server, hello), ("ask", app_server, asks),
                   ("me", app_server, me))
        for _, server, requests in targets:  # warm-up, not counted
            wrk(*server, requests, 1)
        # rounds alternate between the servers, so that drift on a shared machine
        # affects both alike; wrk sends the questions in turn on each connection
        for _ in range(ROUNDS):
            for name, server, requests in targets:
                runs.setdefault(name, []).append(wrk(*server, requests, DURATION // ROUNDS,
                                                     label=name))
    base, ask, floor = (medians(runs[name]) for name in ("hello", "ask", "me"))
    print(f"wrk, {WRK_CONNECTIONS} connections; medians of {ROUNDS} rounds; non-2xx 0")
    for label, figures in (("hello-world POST / (throughput)", base),
                           ("POST /api/v1/bot/ask (question mix)", ask),
                           ("GET /api/v1/me (reference)", floor)):
        print(f"{label:<40} {figures.rps:9.1f} req/s  p50 {figures.p50_ms:7.2f} ms  "
              f"p99 {figures.p99_ms:7.2f} ms")
    print("  " + report_ratio("bot/ask vs hello-world", ask.rps, base.rps, "≥ 0.5")
          + f"; rounds {round_ratios(runs['ask'], runs['hello'])}")
    # the cheapest signed-in request (token check and the user's rooms), for reference
    print("  " + report_ratio("GET /me vs hello-world", floor.rps, base.rps, "reference"))

    with throwaway_redis() as redis_url:
        server_env = dict(env, WECHAT_TOKEN=TOKEN, WECHAT_AES_KEY=AES_KEY, WECHAT_APPID=APPID,
                          WECHAT_SECRET="bench")
        if redis_url:
            server_env["REDIS_URL"] = redis_url
        with contextlib.ExitStack() as stack:
            base_server = stack.enter_context(gunicorn_server("bench.hello:app", ready_path="/"))
            app_server = stack.enter_context(gunicorn_server(env=server_env))
            floor_server = stack.enter_context(gunicorn_server("bench.push_floor:app",
                                                               env=server_env))
            batches = []  # each push is signed once: fresh ones for every round
            for round_ in range(ROUNDS):
                runs.setdefault("hello once", []).append(http_load(
                    *base_server, [hello] * PUSHES, concurrency=CONCURRENCY))
                pushes = push_requests(PUSHES, first_msg_id=10_000_000 + round_ * PUSHES)
                batches.append(http_load(*app_server, pushes,
                                         concurrency=CONCURRENCY, warmup=0, keep_bodies=True))
                for step, path in enumerate(("/floor/parse", "/floor/insert"), start=1):
                    floor = push_requests(PUSHES, first_msg_id=(10_000_000 + step * 1_000_000
                                                                + round_ * PUSHES))
                    for request in floor:
                        request.path = request.path.replace("/wechat/callback", path)
                    runs.setdefault(path, []).append(http_load(
                        *floor_server, floor, concurrency=CONCURRENCY, warmup=0))
    bad = sum(1 for result in batches for _, status, body in result.per_request
              if status != 200 or b"<Encrypt>" not in body)
    base_once, result = _median(runs["hello once"]), _median(batches)
    worst = max(batches, key=lambda r: r.pct(99))
    print(base_once.line(f"hello-world POST / ({PUSHES} requests)"))
    print(result.line(f"/wechat/callback AES ({PUSHES} pushes)"))
    print(f"  nonce guard: {'Redis' if redis_url else 'database'}; pushes without an encrypted "
          f"passive reply: {bad} of {PUSHES * ROUNDS}")
    print("  " + report_ratio("callback vs hello-world", result.rps, base_once.rps, "≥ 0.5")
          + f"; rounds {round_ratios(batches, runs['hello once'])}")
    print(f"  worst p99 {worst.pct(99):.1f} ms against WeChat's 5000 ms deadline: "
          f"{'OK' if worst.pct(99) < 1000 else 'MISSED'}")
    # how far a push could go (bench/push_floor.py): the checks, decryption, parsing and
    # an encrypted fixed reply, with no database work; then with one insert and commit
    for path, label in (("/floor/parse", "floor: checks + decrypt + parse + reply"),
                        ("/floor/insert", "floor: the same + one insert + commit")):
        floor = _median(runs[path])
        errors = sum(r.errors for r in runs[path])
        print(f"  {label}: {floor.rps:.1f} req/s → ratio {floor.rps / base_once.rps:.2f}; "
              f"rounds {round_ratios(runs[path], runs['hello once'])}; errors {errors}")


def _median(results: list):
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


if __name__ == "__main__":
    main()
