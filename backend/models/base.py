"""Declarative base, naming convention and column types shared by every table."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import DateTime, MetaData, Numeric, type_coerce
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, UserDefinedType

from backend.timeutil import local_iso, utcnow  # noqa: F401 (models use utcnow)

MAX_ROW_ID = 2**31 - 1  # INTEGER primary keys on PostgreSQL: larger ids name no row

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as UTC on every backend.

    SQLite has no time zone type; values come back naive and are read as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class LocalIsoText(UserDefinedType):
    """A UTCDateTime column read as the API shows it, 2026-11-21T18:05:00+08:00
    (``timeutil.local_iso``): select ``local_iso_text(column)``.

    Lists show four times per item. The conversion is a pure function of the stored
    value (SQLite's text, PostgreSQL's timestamptz), so it is memoised per process:
    a page seen again costs a dictionary lookup per time instead of a parse and a
    time zone conversion. A test holds it equal to ``local_iso`` on both databases."""

    cache_ok = True

    def get_col_spec(self, **kw):  # a read-side type: never in DDL
        return "VARCHAR"

    def result_processor(self, dialect, coltype):
        return _local_iso_of_stored


@lru_cache(maxsize=32768)
def _local_iso_of_stored(value):
    if value is None:
        return None
    if isinstance(value, str):  # SQLite stores naive UTC text
        value = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return local_iso(value)


def local_iso_text(column):
    """``column`` (a UTCDateTime) as local ISO text in result rows."""
    return type_coerce(column, LocalIsoText())


class Money(TypeDecorator):
    """Yuan as an exact Decimal with two places (never float)."""

    impl = Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal("0.01"))

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value).quantize(Decimal("0.01"))


class Area(Money):
    """Square metres, exact Decimal with two places."""

    impl = Numeric(12, 2, asdecimal=True)
    cache_ok = True


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum_cls, name: str):
    """An enum stored as its string value, with a CHECK constraint on every backend."""
    from sqlalchemy import Enum

    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )
