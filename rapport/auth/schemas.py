"""Wire shapes of authentication and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field, field_validator

from rapport.auth.scopes import ALL_SCOPES, parse_scopes
from rapport.kit.schemas import InputModel, UtcDateTime, WireModel


class LoginRequest(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "alice.johnson@example.com", "password": "correct horse battery staple"}
            ]
        }
    )

    email: str = Field(
        max_length=320,
        description="The user's email address (any case)",
        examples=["ada@example.com"],
    )
    password: str = Field(min_length=1, max_length=1024, examples=["correct horse battery"])


class WorkspaceMembershipOut(WireModel):
    id: uuid.UUID
    name: str
    role: str


class UserOut(WireModel):
    id: uuid.UUID
    email: str
    name: str | None


class SessionOut(WireModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>` with `X-Tenant-Id`")
    token_type: str = "Bearer"
    expires_at: datetime
    user: UserOut
    workspaces: list[WorkspaceMembershipOut]


class WhoAmI(WireModel):
    tenant_id: uuid.UUID
    kind: str = Field(examples=["api_key"], description="api_key or user")
    api_key_id: uuid.UUID | None
    user_id: uuid.UUID | None
    scopes: list[str]


_SCOPES_DOC = "Any of: " + ", ".join(sorted(ALL_SCOPES))


class ApiKeyCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Zapier integration", "scopes": ["crm:read", "crm:write"]}]
        }
    )

    name: str = Field(
        min_length=1,
        max_length=200,
        description="A label to recognise the key by in lists",
        examples=["Zapier integration"],
    )
    scopes: list[str] = Field(
        min_length=1,
        max_length=len(ALL_SCOPES) * 2,
        description=_SCOPES_DOC,
        examples=[["crm:read", "crm:write"]],
    )
    expires_at: UtcDateTime | None = Field(
        default=None,
        description="Optional expiry (ISO 8601, stored as UTC); must be in the future. A key "
        "created with an expiring API key expires no later than that key.",
    )

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str]) -> list[str]:
        return parse_scopes(value)


class ApiKeyOut(WireModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="First characters of the key, to recognise it")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by_user_id: uuid.UUID | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret; shown once, never again", examples=["ak_3Jx..."])
