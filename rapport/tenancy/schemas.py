"""Wire shapes of workspaces."""

from __future__ import annotations

import uuid
from datetime import datetime

import phonenumbers
from pydantic import ConfigDict, Field, JsonValue, field_validator

from rapport.config import DEFAULT_RATE_LIMITS
from rapport.kit.cql.query import DEFAULT_COST_LIMIT
from rapport.kit.ratelimit import validate_limit
from rapport.kit.schemas import InputModel, NestedInput, WireModel


class WorkspaceSettings(WireModel):
    rate_limits: dict[str, str] = Field(
        default_factory=dict,
        description="Overrides per category (" + ", ".join(DEFAULT_RATE_LIMITS) + "), e.g. "
        '`{"read": "5000/minute"}`',
        examples=[{"read": "5000/minute", "write": "500/minute"}],
    )
    default_phone_region: str | None = Field(
        default=None,
        description="ISO 3166 region used to read phone numbers written without a country code",
        examples=["US"],
    )
    allow_free_properties: bool = Field(
        default=False,
        description="Accept `properties` keys that have no definition (by default they are "
        "refused with 422; define them at /properties)",
    )
    query_cost_limit: int | None = Field(
        default=None,
        description="The highest estimated cost of a query (`meta.estimatedCost`) the "
        "workspace runs; a costlier one is refused with 400 INVALID_QUERY. Null: the default, "
        f"{DEFAULT_COST_LIMIT}",
        examples=[None],
    )
    email_double_opt_in: bool = Field(
        default=False,
        description="Marketing email goes only to contacts who confirmed their subscription "
        "through the link of a confirmation email (double opt-in)",
    )


_CATEGORIES: list[JsonValue] = [*sorted(DEFAULT_RATE_LIMITS)]
_REGIONS: list[JsonValue] = [*sorted(phonenumbers.SUPPORTED_REGIONS), None]


class WorkspaceSettingsInput(NestedInput):
    rate_limits: dict[str, str] | None = Field(
        default=None,
        description="Requests allowed per category, like `100/minute`; replaces every "
        "override sent before (`null` removes them all)",
        json_schema_extra={"propertyNames": {"enum": _CATEGORIES}},
    )
    default_phone_region: str | None = Field(
        default=None,
        description="ISO 3166 region for phone numbers written without a country code (any case)",
        json_schema_extra={"enum": _REGIONS},
    )
    allow_free_properties: bool | None = Field(
        default=None,
        description="Accept `properties` keys that have no definition at /properties "
        "(`null` returns to the default, false)",
    )
    query_cost_limit: int | None = Field(
        default=None,
        ge=1,
        le=5_000,
        description="The highest estimated cost of a query the workspace runs (`null` "
        f"returns to the default, {DEFAULT_COST_LIMIT})",
    )
    email_double_opt_in: bool | None = Field(
        default=None,
        description="Whether marketing email needs a confirmed subscription (double opt-in; "
        "`null` returns to the default, false)",
    )

    @field_validator("rate_limits")
    @classmethod
    def _known_limits(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for category, spec in (value or {}).items():
            if category not in DEFAULT_RATE_LIMITS:
                raise ValueError(f"unknown category {category!r}")
            try:
                validate_limit(spec)
            except ValueError as exc:
                raise ValueError(
                    f"{category}: {spec!r} is not a limit like '100/minute' ({exc})"
                ) from exc
        return value

    @field_validator("default_phone_region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not a supported ISO 3166 region code")
        return value.upper() if value else value


class WorkspaceOut(WireModel):
    id: uuid.UUID
    name: str
    settings: WorkspaceSettings
    created_at: datetime
    updated_at: datetime


class WorkspaceUpdate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Acme Sales", "settings": {"defaultPhoneRegion": "US"}}]
        }
    )

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The new name; left out or null, the name stays",
        examples=["Acme Sales"],
    )
    settings: WorkspaceSettingsInput | None = Field(
        default=None,
        description="The settings to change; those left out stay, those sent as null return "
        "to their default",
    )
