"""Wire shapes of exports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from rapport.events.schemas import ActorOut
from rapport.exports.columns import MAX_COLUMNS
from rapport.kit.schemas import InputModel, WireModel
from rapport.models.exports import Export, ExportEntity, ExportFormat, ExportStatus

_COLUMNS_DOC = (
    "Field names as `GET /fields` lists them (any case): the entity's own fields and its custom "
    "properties (by key or `properties.<key>`), in file order; relations cannot be columns. "
    "Left out: every own field of the entity"
)
_ID = "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"


class ExportCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entity": "contact",
                    "where": "lifecycleStage = CUSTOMER AND createdAt within last 365 days",
                    "columns": ["email", "name", "lifecycleStage", "city", "createdAt"],
                    "format": "csv",
                }
            ]
        }
    )

    entity: ExportEntity = Field(description="What to export: contact, company or lead (any case)")
    where: str | None = Field(
        default=None,
        max_length=20_000,
        description="The records to export, as a query in text (docs/query-language.md); "
        "neither where nor filter: every record",
        examples=["lifecycleStage = CUSTOMER"],
    )
    filter: dict[str, Any] | None = Field(
        default=None, description="The same, as the query language's JSON"
    )
    columns: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=MAX_COLUMNS, description=_COLUMNS_DOC
    )
    format: ExportFormat = Field(
        default=ExportFormat.CSV, description="csv (with a header row) or jsonl (JSON Lines)"
    )


class ExportOut(WireModel):
    id: uuid.UUID = Field(examples=[_ID])
    entity: ExportEntity
    format: ExportFormat
    where: str | None = Field(
        description="The query, if sent as text", examples=["status = ACTIVE"]
    )
    filter: dict[str, Any] | None = Field(
        description="The query, if sent as JSON", examples=[{"logic": "AND", "conditions": []}]
    )
    columns: list[str] = Field(
        description="The file's columns, custom properties as `properties.<key>`",
        examples=[["email", "name", "properties.city"]],
    )
    status: ExportStatus = Field(
        description="queued, running, completed (the file can be downloaded until `expiresAt`), "
        "failed (`error` says why) or expired (the file was deleted)"
    )
    rows_written: int = Field(description="Records written so far (updated as the job runs)")
    bytes_written: int = Field(description="Size of the file so far, in bytes")
    error: str | None = Field(description="Why it failed", examples=["INVALID_QUERY: ..."])
    requested_by: ActorOut
    created_at: datetime
    started_at: datetime | None = Field(examples=["2026-12-07T09:30:01Z"])
    completed_at: datetime | None = Field(examples=["2026-12-07T09:30:09Z"])
    expires_at: datetime | None = Field(
        description="When the file and its download links expire", examples=["2026-12-08T09:30:09Z"]
    )
    download_url: str | None = Field(
        description="When completed: a signed link to the file that works without credentials "
        "until `expiresAt` (relative to the API's origin, as `Location` headers are)",
        examples=[
            f"/api/v1/exports/{_ID}/download?tenantId=01935a4e-0000-7000-8000-000000000001"
            "&expires=1796722209&signature=3q2-7wAAAAA"
        ],
    )

    @classmethod
    def of(cls, export: Export, download_url: str | None) -> ExportOut:
        return cls(
            id=export.id,
            entity=export.entity,
            format=export.format,
            where=export.query_where,
            filter=export.query_filter,
            columns=list(export.columns),
            status=export.status,
            rows_written=export.rows_written,
            bytes_written=export.bytes_written,
            error=export.error,
            requested_by=ActorOut(type=export.requested_by_type, id=export.requested_by_id),
            created_at=export.created_at,
            started_at=export.started_at,
            completed_at=export.completed_at,
            expires_at=export.expires_at,
            download_url=download_url,
        )
