"""Property rules: definitions per entity (beside the built-in fields), and the checks every
write of `properties` passes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import Select

from rapport.events.service import EventRecorder, changes_between
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.errors import NotFound, field_error
from rapport.kit.limits import properties_problem
from rapport.kit.normalize import clean, merge_properties
from rapport.models.properties import (
    PropertyDefinition,
    PropertyEntity,
    PropertyGroup,
    PropertyType,
)
from rapport.properties.repository import (
    PropertyRepository,
    PropertyValueRepository,
    ValueChange,
    key_taken,
)
from rapport.properties.schemas import (
    CHOICE_TYPES,
    KEY_LENGTH,
    PropertyCreate,
    PropertyOption,
    PropertyOut,
    PropertyUpdate,
)
from rapport.properties.system import SYSTEM_FIELDS, SystemField
from rapport.properties.values import InvalidValue, checked_value


class PropertyService:
    def __init__(self, context: Context) -> None:
        self.repo = PropertyRepository(context.session)
        self.events = EventRecorder(context)

    async def listed(
        self,
        entity: PropertyEntity | None,
        group: PropertyGroup | None,
        is_system: bool | None,
        include_archived: bool,
    ) -> list[PropertyOut]:
        """System fields first (per entity), then custom definitions."""
        shown: list[PropertyOut] = []
        if is_system is not False:
            for each, fields in SYSTEM_FIELDS.items():
                if entity in (None, each):
                    shown += [_system_out(each, f) for f in fields if group in (None, f.group)]
        if is_system is not True:
            defined = await self.repo.listed(entity, group, include_archived)
            shown += [property_out(d) for d in defined]
        return shown

    async def get(self, property_id: uuid.UUID) -> PropertyDefinition:
        definition = await self.repo.get(property_id)
        if definition is None:
            raise NotFound("Property not found")
        return definition

    async def create(self, data: PropertyCreate) -> PropertyDefinition:
        options = _options(data.type, data.options)
        label = clean(data.label)
        if label is None:
            raise field_error("label", "Cannot be blank")
        if any(f.key == data.key for f in SYSTEM_FIELDS[data.entity]):
            raise key_taken()
        holder = await self.repo.by_key(data.entity, data.key)
        if holder is not None:
            raise key_taken(holder.id)
        definition = self.repo.add(
            PropertyDefinition(
                entity=data.entity,
                key=data.key,
                label=label,
                type=data.type,
                group=data.group,
                description=clean(data.description),
                options=options,
                is_required=data.is_required,
            )
        )
        await self.repo.flush()
        self._emit("property.created", definition)
        return definition

    async def update(self, property_id: uuid.UUID, patch: PropertyUpdate) -> PropertyDefinition:
        definition = await self.get(property_id)
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        changes: dict[str, Any] = {}
        for field in ("label", "group", "is_required"):
            if field in sent:
                if getattr(patch, field) is None:
                    raise field_error(to_camel(field), "Cannot be null")
                changes[field] = getattr(patch, field)
        if "label" in changes:
            changes["label"] = clean(changes["label"])
            if changes["label"] is None:
                raise field_error("label", "Cannot be blank")
        if "description" in sent:
            changes["description"] = clean(patch.description)
        if "options" in sent:
            if patch.options is None:
                raise field_error("options", "Cannot be null")
            changes["options"] = _options(definition.type, patch.options)
        changes = {k: v for k, v in changes.items() if getattr(definition, k) != v}
        if not changes:
            return definition
        before = property_out(definition).model_dump(mode="json")
        for field, value in changes.items():
            setattr(definition, field, value)
        await self.repo.flush()
        self._emit("property.updated", definition, before)
        return definition

    async def archive(self, property_id: uuid.UUID) -> PropertyDefinition:
        """Archived: hidden from listings, takes no new values, keeps the stored ones."""
        definition = await self.get(property_id)
        if definition.archived_at is None:
            definition.archived_at = utcnow()
            await self.repo.flush()
            self._emit("property.archived", definition)
        return definition

    def _emit(
        self, event_type: str, definition: PropertyDefinition, before: dict[str, Any] | None = None
    ) -> None:
        record = property_out(definition).model_dump(mode="json")
        data: dict[str, Any] = {"record": record}
        if before is not None:
            data["changes"] = changes_between(before, record)
        self.events.record(event_type, "property", definition.id, data)


class PropertyRules:
    """Checks the `properties` of a write against the workspace's definitions (read once per
    entity by each instance: a batch of writes checks all its records against one reading)."""

    def __init__(self, context: Context) -> None:
        self.repo = PropertyRepository(context.session)
        self.values = PropertyValueRepository(context.session)
        settings = context.workspace_settings
        self.allow_free = bool(settings.get("allowFreeProperties"))
        self.phone_region: str | None = settings.get("defaultPhoneRegion")
        self._definitions: dict[PropertyEntity, dict[str, PropertyDefinition]] = {}

    async def _of_entity(self, entity: PropertyEntity) -> dict[str, PropertyDefinition]:
        if entity not in self._definitions:
            self._definitions[entity] = await self.repo.of_entity(entity)
        return self._definitions[entity]

    async def checked(
        self, entity: PropertyEntity, values: Mapping[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        """The values as stored. On create, None values are dropped and required properties
        must be present; on update, None removes a value (not allowed for required ones)."""
        if not values and not creating:
            return {}
        definitions = await self._of_entity(entity)
        stored: dict[str, Any] = {}
        for key, value in values.items():
            if creating and value is None:
                continue
            definition = definitions.get(key)
            field = f"properties.{key}"
            if definition is None and value is None:
                stored[key] = None  # removing a value is always allowed
            elif definition is None:
                if len(key) > KEY_LENGTH:
                    raise field_error(field, f"Property keys are at most {KEY_LENGTH} characters")
                if not self.allow_free:
                    raise field_error(
                        field,
                        "No such property; define it at /api/v1/properties (or allow free "
                        "properties in the workspace settings)",
                    )
                stored[key] = value
            elif value is None:
                if definition.is_required and definition.archived_at is None:
                    raise field_error(field, "Required; it cannot be removed")
                stored[key] = None
            elif definition.archived_at is not None:
                raise field_error(field, "The property is archived")
            else:
                try:
                    stored[key] = checked_value(definition, value, self.phone_region)
                except InvalidValue as exc:
                    raise field_error(field, f"{definition.type.value}: {exc}") from exc
        if creating:
            for definition in definitions.values():
                if (
                    definition.is_required
                    and definition.archived_at is None
                    and stored.get(definition.key) is None
                ):
                    raise field_error(f"properties.{definition.key}", "Required")
            _within_limits(stored)
        return stored

    async def store(
        self,
        entity: PropertyEntity,
        record_id: uuid.UUID,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
    ) -> None:
        """Keep the value index (`property_values`) in step with a record's properties."""
        await self.store_many(entity, [(record_id, before, after)])

    async def store_many(
        self,
        entity: PropertyEntity,
        records: Sequence[tuple[uuid.UUID, Mapping[str, Any], Mapping[str, Any]]],
    ) -> None:
        """`store` for many records (id, properties before, after) at once: one DELETE of the
        values that changed, their new rows written at commit."""
        changes = []
        for record_id, before, after in records:
            changed = {k: after.get(k) for k in {*before, *after} if before.get(k) != after.get(k)}
            if changed:
                stale = [key for key in changed if before.get(key) is not None]
                changes.append(ValueChange(record_id, changed, stale))
        if changes:
            await self.values.replace(entity, changes)

    async def forget(self, record_ids: uuid.UUID | Select[Any]) -> None:
        """Drop the indexed values of a record deleted for good (or of the records a select of
        ids returns: those about to be deleted in bulk)."""
        await self.values.drop(record_ids)

    async def merged(
        self, entity: PropertyEntity, current: Mapping[str, Any], patch: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """`patch` checked and merged into `current` key by key (a None value removes the key;
        a None patch removes every key)."""
        incoming = patch if patch is not None else dict.fromkeys(current)
        result = merge_properties(
            dict(current), await self.checked(entity, incoming, creating=False)
        )
        _within_limits(result)
        return result


def _within_limits(properties: Mapping[str, Any]) -> None:
    problem = properties_problem(properties)
    if problem is not None:
        raise field_error("properties", problem)


def _options(kind: PropertyType, options: list[PropertyOption]) -> list[dict[str, Any]]:
    """The options as stored: required (and unique) for SELECT and MULTI_SELECT, refused for
    the other types."""
    if kind not in CHOICE_TYPES:
        if options:
            raise field_error("options", "Only SELECT and MULTI_SELECT take options")
        return []
    if not options:
        raise field_error("options", "SELECT and MULTI_SELECT need at least one option")
    values = [o.value for o in options]
    if len(values) != len(set(values)):
        raise field_error("options", "Option values must be unique")
    return [o.model_dump() for o in options]


def property_out(definition: PropertyDefinition) -> PropertyOut:
    return PropertyOut(
        id=definition.id,
        entity=definition.entity,
        key=definition.key,
        label=definition.label,
        type=definition.type,
        group=definition.group,
        description=definition.description,
        options=[PropertyOption(**o) for o in definition.options],
        is_required=definition.is_required,
        is_system=False,
        archived=definition.archived_at is not None,
        created_at=definition.created_at,
        updated_at=definition.updated_at,
    )


def _system_out(entity: PropertyEntity, field: SystemField) -> PropertyOut:
    return PropertyOut(
        id=None,
        entity=entity,
        key=field.key,
        label=field.label,
        type=field.type,
        group=field.group,
        description=None,
        options=[PropertyOption(value=o, label=o) for o in field.options],
        is_required=False,
        is_system=True,
        archived=False,
        created_at=None,
        updated_at=None,
    )
