"""Definitions of the custom properties of contacts, companies and memberships."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, Choice, IdMixin, TimestampMixin, enum_type
from rapport.kit.tenant_guard import TenantOwned


class PropertyEntity(Choice):
    CONTACT = "CONTACT"
    COMPANY = "COMPANY"
    CONTACT_COMPANY = "CONTACT_COMPANY"
    LEAD = "LEAD"


class PropertyType(Choice):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    DATETIME = "DATETIME"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    URL = "URL"
    SELECT = "SELECT"
    MULTI_SELECT = "MULTI_SELECT"
    CURRENCY = "CURRENCY"
    TEXTAREA = "TEXTAREA"


class PropertyGroup(Choice):
    BASIC = "BASIC"
    CONTACT_INFO = "CONTACT_INFO"
    SOCIAL = "SOCIAL"
    COMPANY_INFO = "COMPANY_INFO"
    CUSTOM = "CUSTOM"


class PropertyDefinition(TenantOwned, IdMixin, TimestampMixin, Base):
    """A custom property: values live in the record's `properties` under `key` and are checked
    against `type` (and `options`) on every write. Archived ones keep their values but take no
    new ones."""

    __tablename__ = "property_definitions"
    __table_args__ = (
        Index("uq_property_definitions_key", "tenant_id", "entity", "key", unique=True),
    )

    entity: Mapped[PropertyEntity] = mapped_column(enum_type(PropertyEntity))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[PropertyType] = mapped_column(enum_type(PropertyType))
    group: Mapped[PropertyGroup] = mapped_column(
        enum_type(PropertyGroup), default=PropertyGroup.CUSTOM
    )
    description: Mapped[str | None] = mapped_column(String(1000))
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    is_required: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None]


class PropertyValue(TenantOwned, Base):
    """Every value of every property (custom or free) of contacts, companies and memberships,
    typed and indexed so that the query language filters and sorts on any key without a
    table scan; the record's `properties` JSON stays what reads return.

    Why a value table: with 1M contacts (bench/property_storage.py, bench/README.md) the JSON
    column alone scans (100x to 1000x slower than an indexed column); an expression index per
    key is as fast but needs DDL whenever any workspace defines a key, and every such index is
    written on every write of every workspace. This table has two indexes for every key of
    every workspace, and costs a few small rows per write.

    Text-like values (text, email, phone, URL, options, ISO dates) go in `text_value` (the
    first 500 characters: enough to filter and sort, small enough for any index), numbers and
    booleans (0/1) in `number_value`; a list (MULTI_SELECT) has one row per item (`ordinal`).
    """

    __tablename__ = "property_values"
    __table_args__ = (
        # Led by the workspace, as the guard's condition is: a lookup of one record's values
        # then matches three columns of the key, and SQLite's planner, without statistics,
        # takes it over the indexes that match `tenant_id` alone (and walk the workspace).
        PrimaryKeyConstraint("tenant_id", "record_id", "key", "ordinal"),
        Index("ix_property_values_text", "tenant_id", "entity", "key", "text_value", "record_id"),
        Index(
            "ix_property_values_number", "tenant_id", "entity", "key", "number_value", "record_id"
        ),
    )

    record_id: Mapped[uuid.UUID]
    key: Mapped[str] = mapped_column(String(64))
    ordinal: Mapped[int] = mapped_column(default=0)
    entity: Mapped[PropertyEntity] = mapped_column(enum_type(PropertyEntity))
    text_value: Mapped[str | None] = mapped_column(String(500))
    number_value: Mapped[float | None] = mapped_column(Float(precision=53))
