"""Development helpers for the browser mock: who can the demo log in as.

Only while ``DEV_LOGIN`` is on (never in production, where the setting is refused):
the mini-program mock's login picker lists the demo residents (signing in with the
``dev:<openid>`` code) and the desk console lists the demo staff accounts. Otherwise
the endpoint answers 404, as if it did not exist.
"""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields
from sqlalchemy import select

from backend.errors import NotFound
from backend.extensions import db
from backend.models import User
from backend.routes.common import Blueprint
from backend.seed import DEMO_RESIDENTS, STAFF
from backend.services.permissions import roles_of

blp = Blueprint("dev", __name__, url_prefix="/api/v1/dev",
                description="开发演示（仅开发模式）")


class DemoResident(Schema):
    openid = fields.String(required=True)
    name = fields.String(required=True)
    rooms = fields.List(fields.String(), required=True, metadata={"description": "room labels"})
    roles = fields.List(fields.String(), required=True)


class DemoStaff(Schema):
    username = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    demo_password = fields.String(required=True,
                                  metadata={"description": "the password seed-demo set"})


class DemoUsersOut(Schema):
    residents = fields.List(fields.Nested(DemoResident), required=True)
    staff = fields.List(fields.Nested(DemoStaff), required=True)


@blp.route("/demo-users", methods=["GET"])
@blp.public
@blp.response(200, DemoUsersOut)
def demo_users():
    """Demo residents and staff from ``flask seed-demo`` (404 unless DEV_LOGIN is on).

    Lists only the accounts that exist (an unseeded database gives empty lists)."""
    if not demo_login_on():
        raise NotFound()
    return demo_accounts()


def demo_login_on() -> bool:
    """Whether the demo sign-in is offered (never in production)."""
    return bool(current_app.config.get("DEV_LOGIN")) and current_app.config["APP_ENV"] != "production"


def demo_accounts() -> dict:
    """The demo accounts that exist, as ``GET /api/v1/dev/demo-users`` lists them (the
    phone app's first screen shows the residents too, routes/pages.py)."""
    openids = [openid for openid, _ in DEMO_RESIDENTS]
    by_openid = {u.openid: u for u in db.session.scalars(select(User).where(User.openid.in_(openids)))}
    residents = []
    for openid in openids:
        user = by_openid.get(openid)
        if user is None:
            continue
        residents.append({
            "openid": openid, "name": user.name,
            "rooms": sorted(b.room.label for b in user.bindings), "roles": roles_of(user),
        })
    usernames = [username for username, _, _ in STAFF]
    by_username = {u.username: u for u in db.session.scalars(
        select(User).where(User.username.in_(usernames)))}
    staff = []
    for username in usernames:
        user = by_username.get(username)
        if user is None:
            continue
        staff.append({"username": username, "name": user.name, "roles": roles_of(user),
                      # seed-demo's convention (backend/seed.py _seed_staff)
                      "demo_password": username.rstrip("0123456789")})
    return {"residents": residents, "staff": staff}
