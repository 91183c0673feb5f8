"""Wire shapes of imports."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from rapport.kit.schemas import InputModel, NestedInput, WireModel
from rapport.models.imports import DedupMode, Import, ImportStatus
from rapport.models.properties import PropertyType

MAX_TAGS = 20


class ImportOptions(InputModel):
    """How to read the file and what to do with its rows (the `options` part of the upload,
    as JSON)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mapping": {
                        "Email": "email",
                        "First Name": "givenName",
                        "Plan": "properties.plan",
                    },
                    "dedup": "update",
                    "tags": ["vip"],
                }
            ]
        }
    )

    mapping: dict[str, str] | None = Field(
        default=None,
        description="Column name -> field (`email`, `givenName`, `properties.<key>`...); "
        "columns left out are ignored. Without it, the mapping POST /imports/preview suggests",
    )
    dedup: DedupMode = Field(
        default=DedupMode.UPDATE,
        description="A row whose externalId (else email) a live contact has: `update` it with "
        "the row's non-empty cells, `skip` the row, or `create_new` (the row fails, as a "
        "create naming a taken email does)",
    )
    tags: list[str] = Field(
        default_factory=list,
        max_length=MAX_TAGS,
        description="Tags (ids or keys) put on every contact created or updated",
    )
    list_id: uuid.UUID | None = Field(
        default=None, description="A static contact list every contact created or updated joins"
    )
    encoding: str | None = Field(
        default=None,
        max_length=40,
        description="The file's encoding when not UTF-8 (with or without a byte-order mark), "
        "such as latin-1 or cp1252",
    )
    delimiter: str | None = Field(
        default=None,
        description="`,`, `;`, `|` or a tab; found from the first lines when left out",
    )


class PreviewOptions(NestedInput):
    encoding: str | None = Field(default=None, max_length=40)
    delimiter: str | None = None


class ImportField(WireModel):
    name: str = Field(examples=["properties.plan"])
    label: str = Field(examples=["Plan"])
    type: PropertyType
    required: bool


class ImportPreview(WireModel):
    encoding: str = Field(examples=["utf-8"])
    delimiter: str = Field(examples=[","])
    header: list[str] = Field(examples=[["Email", "First Name", "Plan"]])
    rows: list[list[str]] = Field(description="The first data rows, as read")
    suggested_mapping: dict[str, str] = Field(
        description="Column -> field, for the columns whose names look like a field",
        examples=[{"Email": "email", "First Name": "givenName"}],
    )
    fields: list[ImportField] = Field(description="Every field a column can fill")


class ImportOut(WireModel):
    id: uuid.UUID
    status: ImportStatus
    filename: str = Field(examples=["contacts.csv"])
    size_bytes: int
    encoding: str
    delimiter: str
    mapping: dict[str, str]
    dedup: DedupMode
    tag_ids: list[uuid.UUID]
    list_id: uuid.UUID | None
    rows_total: int = Field(description="Data rows in the file (blank lines aside)")
    rows_done: int = Field(description="Rows read and committed so far")
    created: int
    updated: int
    skipped: int = Field(
        description="Rows naming an existing contact with dedup skip, or changing nothing"
    )
    failed: int = Field(description="Rows in the error report")
    error: str | None = Field(description="Why the import stopped, when it failed")
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, record: Import) -> ImportOut:
        return cls(
            id=record.id,
            status=record.status,
            filename=record.filename,
            size_bytes=record.size_bytes,
            encoding=record.encoding,
            delimiter=record.delimiter,
            mapping=record.mapping,
            dedup=record.dedup,
            tag_ids=[uuid.UUID(t) for t in record.tag_ids],
            list_id=record.list_id,
            rows_total=record.rows_total,
            rows_done=record.rows_done,
            created=record.created_count,
            updated=record.updated_count,
            skipped=record.skipped_count,
            failed=record.failed_count,
            error=record.error,
            created_at=record.created_at,
            started_at=record.started_at,
            completed_at=record.completed_at,
        )
