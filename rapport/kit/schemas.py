"""Base wire models: camelCase on the wire, snake_case in Python, unknown input fields refused."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        from_attributes=True,
    )


class InputModel(WireModel):
    """A request body. Unknown fields are an error, not silently dropped.

    `tenantId` / `entityId` may be sent by clients written against the references; the
    authenticator checks they match the credential, and services ignore them.
    """

    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID | None = Field(
        default=None, exclude=True, description="Must match the key"
    )
    entity_id: uuid.UUID | None = Field(default=None, exclude=True, description="Alias of tenantId")
