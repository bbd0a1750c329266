"""The application factory."""
from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from backend.config import finalise, from_environment
from backend.appclass import App


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults → environment → ``config`` overrides.

    Nothing here connects to the database or Redis; connections open on first use.
    """
    settings = from_environment()
    settings.update(config or {})
    settings = finalise(settings)

    app = App(__name__, instance_path=settings["INSTANCE_DIR"], instance_relative_config=False)
    from backend.routes.common import RowIdConverter

    app.url_map.converters["id"] = RowIdConverter  # <id:ticket_id>: a row id
    app.config.update(settings)
    if settings["PROXY_FIX_HOPS"]:
        # the client's address as the configured proxies saw it (rate limits key on it)
        hops = settings["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    logging.basicConfig(level=app.config["LOG_LEVEL"],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from backend import auth, db_setup, errors, security
    from backend.extensions import (db, init_compression, init_limiter_errors, limiter, migrate,
                                    new_api)

    db.init_app(app)
    db_setup.init_app(app)
    migrate.init_app(app, db, directory=str(settings.get("MIGRATIONS_DIR") or _migrations_dir()),
                     render_as_batch=True, compare_type=True)
    limiter.init_app(app)
    init_compression(app)
    api = new_api(app)
    errors.register_error_handlers(app)
    init_limiter_errors(app)
    security.init_app(app)
    auth.init_app(app)

    from backend import jobs
    from backend.jobs import queue

    jobs.load_job_modules()
    queue.init_app(app)

    from backend import routes

    routes.register(app, api)

    from backend import cli

    cli.register(app)
    return app


def _migrations_dir():
    from backend.config import BASE_DIR

    return BASE_DIR / "migrations"
