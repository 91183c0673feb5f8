"""HTTP routes of property definitions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Query

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.session import api_router
from rapport.models.properties import PropertyEntity, PropertyGroup
from rapport.properties.deps import PropertiesAdmin, PropertiesRead
from rapport.properties.schemas import PropertyCreate, PropertyOut, PropertyUpdate
from rapport.properties.service import property_out

router = api_router(prefix="/properties", tags=["Properties"])

_NOT_FOUND = documented_errors({404: "No such property in this workspace"})

PropertyId = Annotated[
    uuid.UUID,
    Path(
        description="The custom property's id (built-in fields have none)",
        examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"],
    ),
]


@router.get("", summary="Built-in fields and custom properties, per entity")
async def list_properties(
    properties: PropertiesRead,
    entity: Annotated[
        PropertyEntity | None,
        Query(description="Only those of this kind of record (all kinds when left out)"),
    ] = None,
    group: Annotated[PropertyGroup | None, Query(description="Only those in this group")] = None,
    is_system: Annotated[
        bool | None, Query(alias="isSystem", description="Only built-in (or only custom) ones")
    ] = None,
    include_archived: Annotated[
        bool,
        Query(
            alias="includeArchived",
            description="Also list archived custom properties (left out by default)",
        ),
    ] = False,
) -> ListEnvelope[PropertyOut]:
    """What a contact, company or membership (CONTACT_COMPANY) can hold: the built-in fields
    (`isSystem: true`, no id, stored as top-level fields of the record), then the custom
    properties (stored under their key in the record's `properties`), in one list without
    paging. Archived custom properties are left out unless `includeArchived=true`."""
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
    """Defines a custom property of contacts, companies or memberships; needs the
    `crm:admin` scope. From then on every write of a record's `properties` checks the value
    under this key against the type (a SELECT value must be one of the options, a
    MULTI_SELECT value a list of them); SELECT and MULTI_SELECT need at least one option,
    the other types take none. The key must be unused for the entity, by custom properties
    (archived ones included) and built-in fields alike: 409 `PROPERTY_KEY_EXISTS` otherwise.
    A required property must be given when a record is created."""
    return Envelope(data=property_out(await properties.create(body)))


@router.get("/{property_id}", summary="One custom property", responses=_NOT_FOUND)
async def get_property(
    property_id: PropertyId, properties: PropertiesRead
) -> Envelope[PropertyOut]:
    """The custom property with this id, archived or not. Built-in fields have no id: they
    are only listed, by `GET /properties`."""
    return Envelope(data=property_out(await properties.get(property_id)))


@router.patch(
    "/{property_id}",
    summary="Change a property's label, group, description, options or required flag",
    responses=_NOT_FOUND,
)
async def update_property(
    property_id: PropertyId, body: PropertyUpdate, properties: PropertiesAdmin
) -> Envelope[PropertyOut]:
    """Changes the fields sent; needs the `crm:admin` scope. The key, entity and type cannot
    change. New `options` replace the list (only SELECT and MULTI_SELECT have options, at
    least one): values already stored are not checked again, so records may keep a value no
    longer among the options. A required property is enforced when a record is created and
    when its value is removed; existing records without a value are left as they are."""
    return Envelope(data=property_out(await properties.update(property_id, body)))


@router.delete(
    "/{property_id}",
    summary="Archive a property: hidden, takes no new values, keeps stored ones",
    responses=_NOT_FOUND,
)
async def archive_property(
    property_id: PropertyId, properties: PropertiesAdmin
) -> Envelope[PropertyOut]:
    """Archives the custom property and answers with it (`archived: true`); needs the
    `crm:admin` scope. An archived property is left out of `GET /properties` unless
    `includeArchived=true`, refuses new values (422; removing a value with `null` is still
    allowed) and is no longer required, but the values records hold stay. Its key stays
    taken. Archiving twice changes nothing; there is no way back through the API."""
    return Envelope(data=property_out(await properties.archive(property_id)))
