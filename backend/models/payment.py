"""payment tables (filled in by the payment work)."""
from __future__ import annotations
