"""notice tables (filled in by the notice work)."""
from __future__ import annotations
