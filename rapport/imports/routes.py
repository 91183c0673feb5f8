"""HTTP routes of imports."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO, Annotated, Any

from fastapi import Depends, File, Form, Path, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from rapport.imports.deps import ImportsRead, ImportsUpload
from rapport.imports.repository import ImportRepository
from rapport.imports.schemas import ImportOptions, ImportOut, ImportPreview, PreviewOptions
from rapport.imports.service import Upload
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import ErrorDetail, ValidationFailed, documented_errors, validation_details
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router

router = api_router(tags=["Imports"])

UPLOAD_PATH = re.compile(r"^/api/v1/imports(/preview)?$")
"""The paths taking a CSV file, whose bodies may be as large as `max_import_bytes`."""

ImportId = Annotated[uuid.UUID, Path(description="The import's id")]
Page = Annotated[PageRequest, Depends(Pagination(ImportRepository.sort_columns))]
_NOT_FOUND = {404: "No such import in this workspace"}
REPORT_IN_MEMORY = 1 << 20
_FILE = File(description="The CSV file: a header row naming the columns, then one contact per row")
_UPLOAD_ERRORS = documented_errors(
    {
        413: "The file is larger than the server's limit (`PAYLOAD_TOO_LARGE`)",
        422: "`VALIDATION_FAILED`: the file cannot be read (no header, a header naming a "
        "column twice, bytes that are not the encoding's), or `options` names an unknown "
        "column or field, leaves a required property or every identifying field unmapped, "
        "or names a tag or list that does not exist; `details[].field` says which",
    }
)


def _options(raw: str | None, model: type[Any]) -> Any:
    """The `options` part, read as JSON into `model` (422 naming `options.<field>`)."""
    try:
        return model.model_validate_json(raw or "{}")
    except ValidationError as exc:
        details = [
            ErrorDetail(field=f"options.{d.field}" if d.field else "options", message=d.message)
            for d in validation_details(exc.errors())
        ]
        summary = "; ".join(f"{d.field}: {d.message}" for d in details[:5])
        raise ValidationFailed(summary, details=details) from exc


def _upload(file: UploadFile) -> Upload:
    return Upload(file.filename or "upload.csv", file.file)


@router.post(
    "/imports/preview",
    summary="Read the first rows of a CSV file and suggest how its columns map to fields",
    responses=_UPLOAD_ERRORS,
)
async def preview_import(
    imports: ImportsRead,
    file: Annotated[UploadFile, _FILE],
    options: Annotated[
        str | None,
        Form(description='JSON: `{"encoding": "latin-1", "delimiter": ";"}`, both optional'),
    ] = None,
) -> Envelope[ImportPreview]:
    """Nothing is stored. Answers the file's encoding (UTF-8 unless declared; a byte-order
    mark is skipped) and separator (`,`, `;`, tab or `|`, found from the first lines unless
    declared), its header, its first 10 rows, every field a column can fill (the contact's
    own fields and its custom properties, with their types and whether required), and the
    mapping suggested from the column names (`Email`, `E-mail address`, `First name`,
    `Surname`, a property's key or label...). Send the whole file or its first part."""
    read = _options(options, PreviewOptions)
    return Envelope(data=await imports.preview(_upload(file), read.encoding, read.delimiter))


@router.post(
    "/imports",
    status_code=202,
    summary="Import contacts from a CSV file (a job reads it)",
    responses=_UPLOAD_ERRORS,
)
async def create_import(
    imports: ImportsUpload,
    response: Response,
    file: Annotated[UploadFile, _FILE],
    options: Annotated[
        str | None,
        Form(
            description="JSON, as the ImportOptions schema: `mapping` (column -> field; "
            "without it the suggested mapping), `dedup` (update, skip or create_new), `tags`, "
            "`listId`, `encoding`, `delimiter`"
        ),
    ] = None,
) -> Envelope[ImportOut]:
    """Checks the file and the options at once, counts the rows and answers 202 with the
    import, `queued`; a job then reads the file in chunks of 1,000 rows, each written as
    POST /contacts/batch would (same rules, same events: `contact.created` or
    `contact.updated` per row, webhooks and lists follow them) and committed with the
    import's progress, so `rowsDone` moves chunk by chunk and an interrupted import resumes
    after its last chunk. A row failing (a cell its field refuses, a broken row, an email
    already held with `dedup: create_new`, one an earlier row of the same chunk has) goes to
    the error report, `GET /imports/{import_id}/errors`; the other rows are imported. The
    tags and the list apply to every contact created or updated. An `import.completed` event
    ends it. Needs crm:write and crm:import; counted against the `import_export` rate limit
    (5 a minute by default). The upload may be as large as `RAPPORT_MAX_IMPORT_BYTES`."""
    record = await imports.create(_upload(file), _options(options, ImportOptions))
    response.headers["Location"] = f"/api/v1/imports/{record.id}"
    return Envelope(data=ImportOut.of(record))


@router.get("/imports", summary="List imports, newest first")
async def list_imports(imports: ImportsRead, page: Page) -> ListEnvelope[ImportOut]:
    """The workspace's imports with their progress and counts."""
    rows, meta = await imports.page(page)
    return ListEnvelope(data=[ImportOut.of(r) for r in rows], meta=meta)


@router.get(
    "/imports/{import_id}",
    summary="One import: its status, rows done and counts",
    responses=documented_errors(_NOT_FOUND),
)
async def get_import(import_id: ImportId, imports: ImportsRead) -> Envelope[ImportOut]:
    """`status` (queued, running, completed, failed), `rowsDone` of `rowsTotal`, and how many
    rows created, updated, skipped or failed contacts so far."""
    return Envelope(data=ImportOut.of(await imports.get(import_id)))


@router.get(
    "/imports/{import_id}/errors",
    summary="The error report of an import, as CSV (row, column, reason)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One line per problem: the row's number as a spreadsheet shows it "
            "(the header is row 1), the column at fault when there is one, and the reason",
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "row,column,reason\r\n7,Email,The email address is not valid.\r\n",
                }
            },
        },
        **documented_errors(_NOT_FOUND),
    },
)
async def import_errors(import_id: ImportId, imports: ImportsRead) -> StreamingResponse:
    """The report as it stands (it grows as the import goes), read in batches into a
    spooled file (on disk past a megabyte), so a report of any size is served without
    being held in memory."""
    spool = tempfile.SpooledTemporaryFile(max_size=REPORT_IN_MEMORY)  # noqa: SIM115
    try:
        await imports.write_report(import_id, spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return StreamingResponse(
        _chunks(spool),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'},
    )


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(65_536):
            yield chunk
