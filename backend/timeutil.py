"""Time helpers: UTC stored, Asia/Shanghai shown."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local(dt: datetime) -> datetime:
    return dt.astimezone(LOCAL_TZ)


def local_iso(dt: datetime) -> str:
    """ISO 8601 with the Asia/Shanghai offset, as the API shows times."""
    return local(dt).isoformat(timespec="seconds")


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def local_text(dt: datetime) -> str:
    """How a person reads it: 2026-11-21 14:05."""
    return local(dt).strftime("%Y-%m-%d %H:%M")
