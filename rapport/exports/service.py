"""Export rules: a request is checked at once (the query compiles for the entity, every column
is one of its fields) and queued as a job; the job streams the matching records into a file,
reporting its progress, and completes in the job's own transaction; the file is served to the
workspace's callers and to holders of a signed link until it expires."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.companies.service import CompanyService
from rapport.config import Settings
from rapport.contacts.service import ContactService
from rapport.exports.columns import Selection, select_columns
from rapport.exports.files import ExportFiles
from rapport.exports.repository import ExportRepository
from rapport.exports.schemas import ExportCreate
from rapport.exports.writer import (
    EXTENSIONS,
    MEDIA_TYPES,
    Progress,
    Written,
    write_copied,
    write_rows,
)
from rapport.kit.context import Context
from rapport.kit.cql.fields import Catalog
from rapport.kit.cql.query import compiled_for, parse_query
from rapport.kit.crypto import Signer
from rapport.kit.db import Database
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, Conflict, Forbidden, NotFound
from rapport.kit.pagination import PageRequest
from rapport.models.exports import Export, ExportEntity, ExportFormat, ExportStatus
from rapport.sales.leads import LeadService
from rapport.worker.queue import enqueue

RUN_TASK = "exports.run"
ERROR_LIMIT = 2000
EXPIRED_PER_RUN = 1000
API_PATH = "/api/v1/exports"

log = logging.getLogger("rapport.exports")


class Gone(AppError):
    status_code = 410
    code = "EXPORT_EXPIRED"


def link_signer(secret_key: str) -> Signer:
    return Signer(secret_key, "export download links")


def _link_message(tenant_id: uuid.UUID, export_id: uuid.UUID, expires: int) -> str:
    return f"{tenant_id}:{export_id}:{expires}"


def check_link(
    secret_key: str,
    tenant_id: uuid.UUID,
    export_id: uuid.UUID,
    expires: int,
    signature: str,
    now: datetime,
) -> None:
    """Refuse a download link that was not signed by this server for this export of this
    workspace (403 DOWNLOAD_LINK_INVALID) or whose time is over (410
    DOWNLOAD_LINK_EXPIRED)."""
    message = _link_message(tenant_id, export_id, expires)
    if not link_signer(secret_key).verify(message, signature):
        raise Forbidden(
            "This download link is not valid: it was altered or is not for this export",
            code="DOWNLOAD_LINK_INVALID",
        )
    if expires <= now.timestamp():
        raise Gone("This download link has expired", code="DOWNLOAD_LINK_EXPIRED")


@dataclass(frozen=True)
class Plan:
    """An export ready to run: its columns and the statements reading them (typed values
    for JSON Lines, the text of each field for CSV)."""

    selection: Selection
    statement: Select[Any]
    text_statement: Select[Any]


@dataclass(frozen=True)
class Download:
    path: Path
    media_type: str
    filename: str


class ExportDeleted(Exception):
    """The export was deleted while its job wrote it."""


class ExportService:
    def __init__(self, context: Context, settings: Settings) -> None:
        self.context = context
        self.settings = settings
        self.repo = ExportRepository(context.session)
        self.files = ExportFiles(settings.data_dir)

    # --- what an export reads ----------------------------------------------------------------

    async def _catalog(self, entity: ExportEntity) -> Catalog:
        if entity == ExportEntity.CONTACT:
            return await ContactService(self.context).query_catalog()
        if entity == ExportEntity.COMPANY:
            return await CompanyService(self.context).query_catalog()
        return await LeadService(self.context).query_catalog()

    async def plan(
        self,
        entity: ExportEntity,
        where: str | None,
        filter_doc: Any | None,
        columns: list[str] | None,
    ) -> Plan:
        """The query compiled for the entity (InvalidQuery, 400) and the columns checked
        against its fields (ValidationFailed, 422), before anything is stored or read."""
        catalog = await self._catalog(entity)
        compiled = compiled_for(self.context, catalog, parse_query(where, filter_doc))
        selection = select_columns(catalog, columns)
        rows = {
            ExportEntity.CONTACT: ContactService(self.context).export_rows,
            ExportEntity.COMPANY: CompanyService(self.context).export_rows,
            ExportEntity.LEAD: LeadService(self.context).export_rows,
        }[entity]
        return Plan(
            selection,
            rows(selection.expressions, compiled.where),
            rows(selection.texts, compiled.where),
        )

    async def write(
        self, plan: Plan, fmt: ExportFormat, out: BinaryIO, progress: Progress | None = None
    ) -> Written:
        """Stream the plan's rows into `out` (the job's file, or the command line's output).
        CSV: on PostgreSQL written by the database (COPY) when there are two columns or more
        (a lone column's empty value is `""` in a file, a line COPY leaves empty); else its
        fields' text read as the driver gives it."""
        if fmt == ExportFormat.JSONL:
            batches = self.repo.batches(plan.statement)
        elif self.repo.copies() and len(plan.selection.columns) > 1:
            copy = partial(self.repo.copy_csv, plan.text_statement)
            return await write_copied(copy, plan.selection, out, progress=progress)
        else:
            batches = self.repo.text_batches(plan.text_statement)
        return await write_rows(batches, plan.selection, fmt, out, progress=progress)

    # --- requests ----------------------------------------------------------------------------

    async def create(self, body: ExportCreate) -> Export:
        """Checked now, written by a job (queued in this transaction)."""
        plan = await self.plan(body.entity, body.where, body.filter, body.columns)
        actor = self.context.actor
        export = self.repo.add(
            Export(
                entity=body.entity,
                format=body.format,
                query_where=body.where,
                query_filter=body.filter,
                columns=[column.name for column in plan.selection.columns],
                status=ExportStatus.QUEUED,
                rows_written=0,
                bytes_written=0,
                requested_by_type=actor.type,
                requested_by_id=actor.id,
            )
        )
        await self.repo.flush()
        await enqueue(
            self.context.session,
            RUN_TASK,
            {"exportId": str(export.id)},
            tenant_id=self.context.workspace_id,
        )
        return export

    async def page(self, page: PageRequest) -> tuple[list[Export], PageMeta]:
        return await self.repo.page(page)

    async def get(self, export_id: uuid.UUID) -> Export:
        export = await self.repo.get(export_id)
        if export is None:
            raise NotFound("Export not found")
        return export

    async def delete(self, export_id: uuid.UUID) -> None:
        """The export and its file (a job still writing it stops at its next report)."""
        export = await self.get(export_id)
        await self.repo.remove(export.id)
        self.files.remove(self._path(export))

    def download_url(self, export: Export) -> str | None:
        """The signed link to a completed export's file, valid until it expires."""
        if export.status != ExportStatus.COMPLETED or export.expires_at is None:
            return None
        expires = int(export.expires_at.timestamp())
        message = _link_message(export.tenant_id, export.id, expires)
        query = {
            "tenantId": str(export.tenant_id),
            "expires": str(expires),
            "signature": link_signer(self.settings.resolved_secret_key()).sign(message),
        }
        return f"{API_PATH}/{export.id}/download?{urlencode(query)}"

    async def download(self, export_id: uuid.UUID) -> Download:
        """The completed export's file; 409 while it is being written, 410 once expired."""
        export = await self.get(export_id)
        if export.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            raise Conflict("The export is not written yet", code="EXPORT_NOT_READY")
        if export.status == ExportStatus.FAILED:
            raise Conflict("The export failed: there is no file", code="EXPORT_FAILED")
        path = self._path(export)
        expired = export.expires_at is None or export.expires_at <= self.context.clock()
        if export.status == ExportStatus.EXPIRED or expired or not path.exists():
            raise Gone("The export's file has expired and was deleted")
        stamp = export.created_at.strftime("%Y%m%d-%H%M%S")
        return Download(
            path,
            MEDIA_TYPES[export.format],
            f"{export.entity.value}-export-{stamp}.{EXTENSIONS[export.format]}",
        )

    def _path(self, export: Export) -> Path:
        return self.files.path(export.tenant_id, export.id, export.format)

    # --- the job -----------------------------------------------------------------------------

    async def complete(self, export: Export, written: Written) -> None:
        """Mark the export completed (in the job's transaction); its file is removed if the
        export was deleted meanwhile."""
        now = self.context.clock()
        alive = await self.repo.set_values(
            export.id,
            status=ExportStatus.COMPLETED,
            rows_written=written.rows,
            bytes_written=written.bytes,
            completed_at=now,
            expires_at=now + timedelta(seconds=self.settings.export_expiry_seconds),
            updated_at=now,
        )
        if not alive:
            self.files.remove(self._path(export))

    async def fail(self, export_id: uuid.UUID, error: str) -> None:
        now = self.context.clock()
        await self.repo.set_values(
            export_id,
            status=ExportStatus.FAILED,
            error=error[:ERROR_LIMIT],
            completed_at=now,
            updated_at=now,
        )


async def expire_files(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Delete the files of completed exports of every workspace past their expiry and mark
    those exports expired; how many (the periodic job, in a platform-wide session)."""
    repo, files = ExportRepository(session), ExportFiles(settings.data_dir)
    expired = await repo.expired_everywhere(now, EXPIRED_PER_RUN)
    for export in expired:
        files.remove(files.path(export.tenant_id, export.id, export.format))
    await repo.mark_expired([export.id for export in expired])
    return len(expired)


class ExportRun:
    """One attempt of an export's job. Its progress is written in short transactions of its
    own (so it can be followed, and so that on SQLite the write turn is never held while rows
    are read), the rows are read in a session of their own, and the completion is written in
    the job's transaction (`complete`), so that an export is completed exactly when its job
    is. A crashed attempt's job is claimed again and starts the file over."""

    def __init__(self, database: Database, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.database = database
        self.tenant_id = tenant_id
        self.settings = settings

    def _service(self, session: AsyncSession) -> ExportService:
        return ExportService(Context(session, self.tenant_id), self.settings)

    async def start(self, export_id: uuid.UUID) -> Export | None:
        """Mark the export running; None if there is nothing to do (deleted, or finished by
        an earlier attempt)."""
        async with self.database.transaction(workspace=self.tenant_id) as session:
            exports = self._service(session)
            export = await exports.repo.get(export_id)
            if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
                return None
            now = exports.context.clock()
            await exports.repo.set_values(
                export_id,
                status=ExportStatus.RUNNING,
                started_at=now,
                rows_written=0,
                bytes_written=0,
                updated_at=now,
            )
            return export

    async def _progress(self, export_id: uuid.UUID, rows: int, size: int) -> None:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            alive = await self._service(session).repo.set_values(
                export_id, rows_written=rows, bytes_written=size
            )
        if not alive:
            raise ExportDeleted(str(export_id))

    async def write(self, export: Export) -> Written | None:
        """Write the export's file; None if it failed (recorded on the export) or was
        deleted meanwhile."""
        files = ExportFiles(self.settings.data_dir)
        path = files.path(self.tenant_id, export.id, export.format)

        async def progress(rows: int, size: int) -> None:
            await self._progress(export.id, rows, size)

        try:
            async with self.database.transaction(workspace=self.tenant_id) as session:
                exports = self._service(session)
                plan = await exports.plan(
                    export.entity, export.query_where, export.query_filter, export.columns
                )
                with files.writing(path) as out:
                    return await exports.write(plan, export.format, out, progress)
        except ExportDeleted:
            files.remove(path)
            return None
        except AppError as exc:
            await self._fail(export.id, f"{exc.code}: {exc.message}")
        except Exception as exc:
            log.exception("export failed", extra={"exportId": str(export.id)})
            await self._fail(export.id, f"{type(exc).__name__}: {exc}")
        return None

    async def _fail(self, export_id: uuid.UUID, error: str) -> None:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            await self._service(session).fail(export_id, error)
