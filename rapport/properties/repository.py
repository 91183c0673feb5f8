"""Every query on property definitions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import Select, delete

from rapport.kit.deferred import insert_at_commit, write_pending
from rapport.kit.errors import AppError, taken
from rapport.kit.repository import Repository
from rapport.kit.tenant_guard import workspace_of
from rapport.models.properties import (
    PropertyDefinition,
    PropertyEntity,
    PropertyGroup,
    PropertyValue,
)


def key_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "A property with this key exists for this entity", "PROPERTY_KEY_EXISTS", "key", existing_id
    )


class PropertyRepository(Repository[PropertyDefinition]):
    model = PropertyDefinition
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_property_definitions_key": key_taken,
        "property_definitions.tenant_id, property_definitions.entity": key_taken,
    }

    async def listed(
        self,
        entity: PropertyEntity | None,
        group: PropertyGroup | None,
        include_archived: bool,
    ) -> list[PropertyDefinition]:
        """A workspace defines tens of properties, not thousands: listed whole."""
        stmt = self.select().order_by(PropertyDefinition.entity, PropertyDefinition.key)
        if entity is not None:
            stmt = stmt.where(PropertyDefinition.entity == entity)
        if group is not None:
            stmt = stmt.where(PropertyDefinition.group == group)
        if not include_archived:
            stmt = stmt.where(PropertyDefinition.archived_at.is_(None))
        return list((await self.session.execute(stmt)).scalars())

    async def by_key(self, entity: PropertyEntity, key: str) -> PropertyDefinition | None:
        return await self.first(PropertyDefinition.entity == entity, PropertyDefinition.key == key)

    async def of_entity(self, entity: PropertyEntity) -> dict[str, PropertyDefinition]:
        result = await self.session.execute(
            self.select().where(PropertyDefinition.entity == entity)
        )
        return {d.key: d for d in result.scalars()}


def value_rows(key: str, value: Any) -> list[dict[str, Any]]:
    """The indexed rows of one value: one per list item; nested objects are not indexed."""
    rows = []
    for ordinal, item in enumerate(value if isinstance(value, list) else [value]):
        if isinstance(item, int | float):  # booleans too, as 0 and 1
            rows.append({"key": key, "ordinal": ordinal, "number_value": float(item)})
        elif isinstance(item, str):
            rows.append({"key": key, "ordinal": ordinal, "text_value": item[:500]})
    return rows


class PropertyValueRepository(Repository[PropertyValue]):
    model = PropertyValue

    async def replace(
        self,
        entity: PropertyEntity,
        record_id: uuid.UUID,
        values: Mapping[str, Any],
        stale: list[str],
    ) -> None:
        """The indexed values of these keys of the record become `values` (None: none); the
        `stale` keys had values before (none for a new record: nothing to delete)."""
        if stale:
            await write_pending(self.session)
            await self.session.execute(
                delete(PropertyValue).where(
                    PropertyValue.record_id == record_id, PropertyValue.key.in_(stale)
                )
            )
        rows = [
            {
                "tenant_id": workspace_of(self.session),
                "entity": entity,
                "record_id": record_id,
                "text_value": None,
                "number_value": None,
                **row,
            }
            for key, value in values.items()
            if value is not None
            for row in value_rows(key, value)
        ]
        for row in rows:
            insert_at_commit(self.session, PropertyValue, row)

    async def drop(self, record_ids: uuid.UUID | Select[Any]) -> None:
        """Drop every value of one record, or of the records a select of ids returns."""
        matching = (
            PropertyValue.record_id.in_(record_ids)
            if isinstance(record_ids, Select)
            else PropertyValue.record_id == record_ids
        )
        await write_pending(self.session)
        await self.session.execute(delete(PropertyValue).where(matching))
