"""Photo processing: the display and thumbnail variants of an uploaded ticket photo
(see backend/services/photos/ for the pipeline). The job commits what the service
recorded: the variants, or the photo marked failed."""
from __future__ import annotations

from backend.extensions import db
from backend.jobs.registry import PermanentJobError, job
from backend.services import photos


@job("photos.process", queue="default", timeout=120, retries=3, intervals=(10, 60, 300))
def process_ticket_photo(photo_id: int) -> None:
    """Idempotent: a photo that is already processed is left alone."""
    try:
        photos.process_photo(photo_id)
    except photos.PhotoFailed as exc:
        db.session.commit()  # the photo stays marked failed
        # A file that cannot be decoded will not decode on a retry either.
        raise PermanentJobError(str(exc)) from exc
    db.session.commit()
