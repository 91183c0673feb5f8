"""HTTP routes of property definitions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.session import api_router
from rapport.models.properties import PropertyEntity, PropertyGroup
from rapport.properties.deps import PropertiesAdmin, PropertiesRead
from rapport.properties.schemas import PropertyCreate, PropertyOut, PropertyUpdate
from rapport.properties.service import property_out

router = api_router(prefix="/properties", tags=["Properties"])

_NOT_FOUND = documented_errors({404: "No such property in this workspace"})


@router.get("", summary="Built-in fields and custom properties, per entity")
async def list_properties(
    properties: PropertiesRead,
    entity: PropertyEntity | None = None,
    group: PropertyGroup | None = None,
    is_system: Annotated[
        bool | None, Query(alias="isSystem", description="Only built-in (or only custom) ones")
    ] = None,
    include_archived: Annotated[bool, Query(alias="includeArchived")] = False,
) -> ListEnvelope[PropertyOut]:
    shown = await properties.listed(entity, group, is_system, include_archived)
    return ListEnvelope.whole(shown)


@router.post(
    "",
    status_code=201,
    summary="Define a custom property",
    responses=documented_errors(
        {409: "The entity has a property (or built-in field) with this key (PROPERTY_KEY_EXISTS)"}
    ),
)
async def create_property(
    body: PropertyCreate, properties: PropertiesAdmin
) -> Envelope[PropertyOut]:
    return Envelope(data=property_out(await properties.create(body)))


@router.get("/{property_id}", summary="One custom property", responses=_NOT_FOUND)
async def get_property(property_id: uuid.UUID, properties: PropertiesRead) -> Envelope[PropertyOut]:
    return Envelope(data=property_out(await properties.get(property_id)))


@router.patch(
    "/{property_id}",
    summary="Change a property's label, group, description, options or required flag",
    responses=_NOT_FOUND,
)
async def update_property(
    property_id: uuid.UUID, body: PropertyUpdate, properties: PropertiesAdmin
) -> Envelope[PropertyOut]:
    return Envelope(data=property_out(await properties.update(property_id, body)))


@router.delete(
    "/{property_id}",
    summary="Archive a property: hidden, takes no new values, keeps stored ones",
    responses=_NOT_FOUND,
)
async def archive_property(
    property_id: uuid.UUID, properties: PropertiesAdmin
) -> Envelope[PropertyOut]:
    return Envelope(data=property_out(await properties.archive(property_id)))
