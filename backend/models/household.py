"""household tables (filled in by the household work)."""
from __future__ import annotations
