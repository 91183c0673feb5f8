"""HTTP routes of exports."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Response
from fastapi.responses import FileResponse

from rapport.exports.deps import ExportsDownload, ExportsRead, ExportsRequest
from rapport.exports.repository import ExportRepository
from rapport.exports.schemas import ExportCreate, ExportOut
from rapport.exports.service import API_PATH
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router

router = api_router(tags=["Exports"])

ExportId = Annotated[uuid.UUID, Path(description="The export's id")]
Page = Annotated[PageRequest, Depends(Pagination(ExportRepository.sort_columns))]
_NOT_FOUND = {404: "No such export in this workspace"}
_FILE_EXAMPLES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "email,name,properties.city\r\n"
                'ada@example.com,"Lovelace, Ada",London\r\n',
            },
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "example": '{"email":"ada@example.com","name":"Lovelace, Ada",'
                '"properties":{"city":"London"}}\n',
            },
        },
    }
}


@router.post(
    "/exports",
    status_code=202,
    summary="Export the contacts, companies or leads a query matches (a job writes the file)",
    responses=documented_errors(
        {
            400: "`INVALID_QUERY`: the query does not parse or does not fit the entity's fields "
            "(`details[]` says where); nothing is queued",
            422: "`VALIDATION_FAILED`: an unknown column, one that is not the entity's own field "
            "or custom property, or one named twice (`details[].field` is `columns[i]`)",
        }
    ),
)
async def create_export(
    body: ExportCreate, exports: ExportsRequest, response: Response
) -> Envelope[ExportOut]:
    """Checks the query (`where` as text or `filter` as JSON; neither: every record) and the
    columns at once, then queues the export and answers 202 with it, `queued`; a job writes
    the file, reporting `rowsWritten` as it goes, and `GET /exports/{export_id}` gives its
    `downloadUrl` once `completed`. Deleted and merged contacts are never exported.

    CSV has a header row of the column names (custom properties as `properties.<key>`),
    RFC 4180 quoting, UTF-8, dates and times in ISO 8601 UTC, booleans `true`/`false`, and the
    items of a multi-valued property joined with `; `. JSON Lines has one object per record
    with the API's field names, custom properties under `properties`. Rows are in id
    (creation) order. Needs crm:read and crm:import; counted against the `import_export` rate
    limit (5 a minute by default)."""
    export = await exports.create(body)
    response.headers["Location"] = f"{API_PATH}/{export.id}"
    return Envelope(data=ExportOut.of(export, None))


@router.get("/exports", summary="List exports, newest first")
async def list_exports(exports: ExportsRead, page: Page) -> ListEnvelope[ExportOut]:
    """The workspace's exports, whoever requested them, with their status and, when
    completed, their download links. Needs crm:read and crm:import."""
    rows, meta = await exports.page(page)
    return ListEnvelope(data=[ExportOut.of(e, exports.download_url(e)) for e in rows], meta=meta)


@router.get(
    "/exports/{export_id}",
    summary="One export: its status, progress and download link",
    responses=documented_errors(_NOT_FOUND),
)
async def get_export(export_id: ExportId, exports: ExportsRead) -> Envelope[ExportOut]:
    """The export's status (queued, running, completed, failed, expired), the rows and bytes
    written so far, and once completed a `downloadUrl`: a signed link to the file that needs
    no credentials and works until `expiresAt` (24 hours after completion by default), after
    which the file is deleted. Needs crm:read and crm:import."""
    export = await exports.get(export_id)
    return Envelope(data=ExportOut.of(export, exports.download_url(export)))


@router.get(
    "/exports/{export_id}/download",
    summary="Download an export's file (with credentials, or through its signed link)",
    response_class=FileResponse,
    responses={
        **_FILE_EXAMPLES,
        **documented_errors(
            {
                **_NOT_FOUND,
                401: "Neither credentials nor a signed link (`UNAUTHENTICATED`)",
                429: "Too many requests (`RATE_LIMITED`): with credentials, the caller's `read` "
                "limit; through a signed link, the client address's",
                403: "`DOWNLOAD_LINK_INVALID`: the signed link was altered, is incomplete or is "
                "not for this export; `FORBIDDEN`: a scope is missing",
                409: "`EXPORT_NOT_READY`: still queued or running; `EXPORT_FAILED`: it failed",
                410: "`DOWNLOAD_LINK_EXPIRED`: the signed link's time is over; "
                "`EXPORT_EXPIRED`: the file has expired and was deleted",
            }
        ),
    },
    openapi_extra={"security": [{"bearerAuth": []}, {}]},
)
async def download_export(export_id: ExportId, exports: ExportsDownload) -> FileResponse:
    """The completed export's file, streamed, as an attachment (`text/csv; charset=utf-8` or
    `application/x-ndjson`). Either with credentials (crm:read and crm:import), or with no
    `Authorization` header through the export's `downloadUrl`, whose `tenantId`, `expires`
    and `signature` prove it was handed out by this server for this export; the link stops
    working at `expiresAt`."""
    download = await exports.download(export_id)
    return FileResponse(download.path, media_type=download.media_type, filename=download.filename)


@router.delete(
    "/exports/{export_id}",
    status_code=204,
    summary="Delete an export and its file",
    responses=documented_errors(_NOT_FOUND),
)
async def delete_export(export_id: ExportId, exports: ExportsRead) -> Response:
    """Deletes the export and its file at once; its links stop working. A job still writing
    it stops. Needs crm:read and crm:import."""
    await exports.delete(export_id)
    return Response(status_code=204)
