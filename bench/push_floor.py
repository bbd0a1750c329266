"""How far the WeChat push could go: the app with two stripped-down push handlers,
served by ``bench.bot`` beside the real one (never part of the product).

``/floor/parse`` does what every push must before anything is stored: both signature
checks, the timestamp window and the nonce guard (Redis), reading and decrypting the
body, parsing the XML, then a fixed text reply built and encrypted. ``/floor/insert``
adds one database write and its commit (the MsgId, into a table of its own)."""
from flask import Response, request
from sqlalchemy import text

from backend import create_app, wechat
from backend.extensions import db
from backend.routes import wechat_callback

REPLY = "您好，物业服务中心电话 0571-88888888。"

app = create_app()
with app.app_context():
    db.session.execute(text(
        "CREATE TABLE IF NOT EXISTS bench_push_floor (msg_key VARCHAR(100) PRIMARY KEY)"))
    db.session.commit()


def _reply(push) -> Response:
    xml = wechat.encrypt_reply(wechat.text_reply_xml(push, REPLY), request.args["nonce"],
                               request.args["timestamp"])
    return Response(xml, mimetype="application/xml")


@app.post("/floor/parse")
def parse_only():
    wechat_callback._check_request()
    return _reply(wechat_callback._read_push())


@app.post("/floor/insert")
def parse_and_insert():
    wechat_callback._check_request()
    push = wechat_callback._read_push()
    db.session.execute(text("INSERT INTO bench_push_floor (msg_key) VALUES (:key)"),
                       {"key": push.dedupe_key})
    db.session.commit()
    return _reply(push)
