"""Liveness and readiness."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from backend.extensions import db
from backend.jobs.queue import redis_connection

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    body = {"db": "ok", "queue": "redis" if current_app.config.get("REDIS_URL") else "inline"}
    status = 200
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - reported, not raised
        body["db"] = "down"
        status = 503
    if body["queue"] == "redis":
        try:
            redis_connection().ping()
            body["redis"] = "ok"
        except Exception:  # noqa: BLE001 - jobs wait in the outbox meanwhile
            body["redis"] = "down"
    return jsonify(body), status
