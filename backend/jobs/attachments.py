"""Deleting uploads that no record came to refer to (see services/attachments.py)."""
from __future__ import annotations

import logging

from backend.extensions import db
from backend.jobs.registry import periodic
from backend.services.attachments import sweep_unreferenced

log = logging.getLogger(__name__)


@periodic("attachments.sweep", every_seconds=3600)
def sweep() -> None:
    removed = sweep_unreferenced()
    db.session.commit()
    if removed:
        log.info("attachments sweep: %d unreferenced upload(s) deleted", removed)
