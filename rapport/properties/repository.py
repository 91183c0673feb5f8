"""Every query on property definitions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Select, delete, tuple_

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


@dataclass(frozen=True)
class ValueChange:
    """The keys of one record whose values changed: their new values, and those of them that
    had values before."""

    record_id: uuid.UUID
    values: Mapping[str, Any]
    stale: list[str]


# (record, key) pairs per DELETE: two bound values each, well within SQLite's limit.
_PAIRS_PER_DELETE = 5000


class PropertyValueRepository(Repository[PropertyValue]):
    model = PropertyValue

    async def replace(self, entity: PropertyEntity, changes: Sequence[ValueChange]) -> None:
        """For each record, the indexed values of the keys changed become its new `values`
        (None: none); the `stale` keys had values before (none for a new record: nothing to
        delete), removed in one statement per chunk of records."""
        stale = [(c.record_id, key) for c in changes for key in c.stale]
        if stale:
            await write_pending(self.session)
        for start in range(0, len(stale), _PAIRS_PER_DELETE):
            pairs = stale[start : start + _PAIRS_PER_DELETE]
            await self.session.execute(
                delete(PropertyValue)
                .where(
                    PropertyValue.record_id.in_({record_id for record_id, _ in pairs}),
                    tuple_(PropertyValue.record_id, PropertyValue.key).in_(pairs),
                )
                .execution_options(synchronize_session=False)
            )
        tenant_id = workspace_of(self.session)
        for change in changes:
            for key, value in change.values.items():
                if value is None:
                    continue
                for row in value_rows(key, value):
                    insert_at_commit(
                        self.session,
                        PropertyValue,
                        {
                            "tenant_id": tenant_id,
                            "entity": entity,
                            "record_id": change.record_id,
                            "text_value": None,
                            "number_value": None,
                            **row,
                        },
                    )

    async def drop(self, record_ids: uuid.UUID | Select[Any]) -> None:
        """Drop every value of one record, or of the records a select of ids returns."""
        matching = (
            PropertyValue.record_id.in_(record_ids)
            if isinstance(record_ids, Select)
            else PropertyValue.record_id == record_ids
        )
        await write_pending(self.session)
        await self.session.execute(delete(PropertyValue).where(matching))
