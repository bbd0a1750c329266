"""attachment tables (filled in by the attachment work)."""
from __future__ import annotations
