"""Route modules, one per resource. Each exposes ``blp`` (a flask-smorest Blueprint,
documented in the OpenAPI spec) and/or ``bp`` (a plain Flask blueprint: pages,
media, the WeChat callback). Modules are found automatically."""
from __future__ import annotations

import importlib
import pkgutil

from backend.routes import messages

messages.apply()  # before any route module declares a schema

SKIP = {"common", "messages"}


def register(app, api) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "blp"):
            api.register_blueprint(module.blp)
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
