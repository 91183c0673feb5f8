"""Import rules: an upload is checked at once (its encoding, separator and header, the mapping
of its columns, the tags and list to apply) and queued as a job; the job reads the file in
chunks, each written through the contacts' batch write (the same rules and events as the API)
in one transaction with its progress and its rows' errors, so an interrupted import resumes
after its last committed chunk and never writes a row twice."""

from __future__ import annotations

import csv
import io
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from anyio import to_thread

from rapport.config import Settings
from rapport.consent.service import ConsentService
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder
from rapport.imports.csvfile import Layout, Row, count_rows, detect_layout, rows
from rapport.imports.fields import (
    EMAIL_STATUS,
    checked_mapping,
    consent_of,
    contact_targets,
    record_of,
    suggested,
)
from rapport.imports.repository import ImportRepository
from rapport.imports.schemas import ImportField, ImportOptions, ImportPreview
from rapport.kit.batch import BatchStatus
from rapport.kit.context import Actor, Context
from rapport.kit.db import Database
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, NotFound, field_error
from rapport.kit.pagination import PageRequest
from rapport.lists.service import ListService
from rapport.models.consent import ConsentStatus
from rapport.models.imports import DedupMode, Import, ImportStatus
from rapport.tags.service import TaggingService, TagService
from rapport.tenancy.service import WorkspaceService
from rapport.worker.queue import enqueue

RUN_TASK = "imports.run"
CHUNK_ROWS = 1000
PREVIEW_ROWS = 10
# A row naming an existing contact, with dedup `skip`: skipped, not failed.
_EXISTING = {"CONTACT_EMAIL_EXISTS", "CONTACT_EXTERNAL_ID_EXISTS"}

Progress = Callable[[int, int], Awaitable[None] | None]
"""Told the rows done and the rows in all, after each chunk (the command line's bar)."""


class ImportFiles:
    """Where uploads live while their import runs: `<data_dir>/imports/<workspace>/<id>.csv`,
    readable by Rapport's own user only."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "imports"

    def path(self, tenant_id: uuid.UUID, import_id: uuid.UUID) -> Path:
        return self.root / str(tenant_id) / f"{import_id}.csv"

    def keep(self, upload: BinaryIO, final: Path) -> int:
        """Copy the upload to `final` (mode 0600); its size."""
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            shutil.copyfileobj(upload, out, 1 << 20)
            return out.tell()


@dataclass(frozen=True)
class Upload:
    filename: str
    file: BinaryIO


class ImportService:
    def __init__(self, context: Context, settings: Settings) -> None:
        self.context = context
        self.settings = settings
        self.repo = ImportRepository(context.session)
        self.files = ImportFiles(settings.data_dir)

    async def preview(
        self, upload: Upload, encoding: str | None, delimiter: str | None
    ) -> ImportPreview:
        """How the file reads (its layout and first rows) and the mapping its header
        suggests, without storing anything."""
        scratch = self.files.root / "preview" / f"{uuid.uuid4()}.csv"
        try:
            await to_thread.run_sync(self.files.keep, upload.file, scratch)
            layout = await to_thread.run_sync(detect_layout, scratch, encoding, delimiter)
            first = await to_thread.run_sync(_first_rows, scratch, layout)
        finally:
            scratch.unlink(missing_ok=True)
        targets = await contact_targets(self.context)
        return ImportPreview(
            encoding=layout.encoding,
            delimiter=layout.delimiter,
            header=layout.header,
            rows=first,
            suggested_mapping=suggested(layout.header, targets),
            fields=[
                ImportField(name=t.name, label=t.label, type=t.type, required=t.required)
                for t in targets.values()
            ],
        )

    async def create(self, upload: Upload, options: ImportOptions, *, queue: bool = True) -> Import:
        """Keep the file, check it and the options (422 naming what is wrong; nothing kept),
        count its rows, and queue its job (unless the caller runs it: the command line)."""
        import_id = uuid.uuid4()
        path = self.files.path(self.context.workspace_id, import_id)
        try:
            size = await to_thread.run_sync(self.files.keep, upload.file, path)
            layout = await to_thread.run_sync(
                detect_layout, path, options.encoding, options.delimiter
            )
            targets = await contact_targets(self.context)
            mapping = checked_mapping(
                options.mapping
                if options.mapping is not None
                else suggested(layout.header, targets),
                layout.header,
                targets,
            )
            tag_ids = await self._tags(options.tags)
            if options.list_id is not None:
                await ListService(self.context).check_static_contacts(options.list_id, "listId")
            total = await to_thread.run_sync(count_rows, path, layout)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        record = Import(
            id=import_id,
            filename=upload.filename[:255] or "upload.csv",
            size_bytes=size,
            encoding=layout.encoding,
            delimiter=layout.delimiter,
            header=layout.header,
            mapping=mapping,
            dedup=options.dedup,
            tag_ids=[str(tag_id) for tag_id in tag_ids],
            list_id=options.list_id,
            status=ImportStatus.QUEUED,
            rows_total=total,
            requested_by_type=self.context.actor.type,
            requested_by_id=self.context.actor.id,
        )
        self.repo.add(record)
        await self.repo.flush()
        if queue:
            await enqueue(
                self.context.session,
                RUN_TASK,
                {"importId": str(import_id)},
                tenant_id=self.context.workspace_id,
            )
        return record

    async def _tags(self, refs: Sequence[str]) -> list[uuid.UUID]:
        tags = TagService(self.context)
        found: list[uuid.UUID] = []
        for index, ref in enumerate(refs):
            try:
                found.append((await tags.find(ref)).id)
            except NotFound as exc:
                raise field_error(f"tags[{index}]", "No such tag in this workspace") from exc
        return list(dict.fromkeys(found))

    async def get(self, import_id: uuid.UUID) -> Import:
        record = await self.repo.get(import_id)
        if record is None:
            raise NotFound("Import not found")
        return record

    async def page(self, request: PageRequest) -> tuple[list[Import], PageMeta]:
        return await self.repo.page(request)

    async def write_report(self, import_id: uuid.UUID, out: IO[bytes]) -> None:
        """The import's error report as CSV (row, column, reason), written to `out` batch by
        batch (404 for another workspace's import)."""
        await self.get(import_id)
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(["row", "column", "reason"])
        async for batch in self.repo.errors(import_id):
            writer.writerows([error.row, error.column or "", error.reason] for error in batch)
        text.detach()


def _first_rows(path: Path, layout: Layout) -> list[list[str]]:
    first: list[list[str]] = []
    for row in rows(path, layout):
        if len(first) == PREVIEW_ROWS:
            break
        first.append(list(row.fields.values()) if row.fields is not None else [])
    return first


@dataclass
class _Counts:
    rows_done: int = 0
    created_count: int = 0
    updated_count: int = 0
    skipped_count: int = 0
    failed_count: int = 0


class ImportRun:
    """One attempt of an import's job (or of the command line): the chunks after the last one
    committed, each in its own transaction with its progress, then the import completed."""

    def __init__(self, database: Database, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.database = database
        self.tenant_id = tenant_id
        self.files = ImportFiles(settings.data_dir)

    async def run(self, import_id: uuid.UUID, progress: Progress | None = None) -> Import | None:
        """Import what is left of the file; the import as it ended, None if there was
        nothing to do (unknown, or finished by an earlier attempt)."""
        record = await self._start(import_id)
        if record is None:
            return None
        layout = Layout(record.encoding, record.delimiter, record.header)
        path = self.files.path(self.tenant_id, import_id)
        done = record.rows_done
        chunk: list[Row] = []
        for row in rows(path, layout, skip=done):
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                done += await self._chunk(record, chunk)
                chunk = []
                await _told(progress, done, record.rows_total)
        if chunk:
            done += await self._chunk(record, chunk)
            await _told(progress, done, record.rows_total)
        return await self._complete(record)

    async def fail(self, import_id: uuid.UUID, error: str) -> None:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            await ImportRepository(session).set_values(
                import_id, status=ImportStatus.FAILED, error=error[:2000]
            )
        self.files.path(self.tenant_id, import_id).unlink(missing_ok=True)

    async def _context(self, session: Any, record: Import) -> Context:
        """The workspace's settings (phone region, free properties) and the requester as the
        actor of every change."""
        workspace = await WorkspaceService(session).get(self.tenant_id)
        actor = Actor(record.requested_by_type, record.requested_by_id)
        return Context.bound(session, self.tenant_id, workspace.settings, actor)

    async def _start(self, import_id: uuid.UUID) -> Import | None:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            repo = ImportRepository(session)
            record = await repo.get(import_id)
            if record is None or record.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
                return None
            if record.status == ImportStatus.QUEUED:
                record.status = ImportStatus.RUNNING
                record.started_at = record.updated_at = (
                    await self._context(session, record)
                ).clock()
            return record

    async def _chunk(self, record: Import, chunk: Sequence[Row]) -> int:
        """Write one chunk with its progress and errors, in one transaction; its row count."""
        async with self.database.transaction(workspace=self.tenant_id) as session:
            context = await self._context(session, record)
            targets = await contact_targets(context)
            counts = _Counts(rows_done=len(chunk))
            errors: list[tuple[int, str | None, str]] = []
            records: list[dict[str, Any]] = []
            numbers: list[int] = []
            statuses: list[ConsentStatus | None] = []
            columns = {name: column for column, name in record.mapping.items()}
            for row in chunk:
                if row.fields is None:
                    errors.append((row.number, None, row.problem or "The row cannot be read"))
                    continue
                fields = record_of(row.fields, record.mapping, targets)
                consent = fields.pop(EMAIL_STATUS, None)
                try:
                    statuses.append(None if consent is None else consent_of(consent))
                except ValueError as exc:
                    errors.append((row.number, columns.get(EMAIL_STATUS), str(exc)))
                    continue
                records.append(fields)
                numbers.append(row.number)
            contacts = ContactService(context)
            outcomes = (
                await contacts.save_many(
                    records,
                    upsert=record.dedup == DedupMode.UPDATE,
                    label=lambda index: f"row {numbers[index]}",
                )
                if records
                else []
            )
            imported: list[uuid.UUID] = []
            consents: list[tuple[uuid.UUID, ConsentStatus]] = []
            for number, status, outcome in zip(numbers, statuses, outcomes, strict=True):
                if outcome.error is not None:
                    if record.dedup == DedupMode.SKIP and outcome.error.code in _EXISTING:
                        counts.skipped_count += 1
                        continue
                    errors += _row_errors(number, outcome.error, columns)
                    continue
                assert outcome.record is not None
                if status is not None:
                    consents.append((outcome.record.id, status))
                if outcome.status is BatchStatus.UNCHANGED:
                    counts.skipped_count += 1
                else:
                    imported.append(outcome.record.id)
                    if outcome.status is BatchStatus.CREATED:
                        counts.created_count += 1
                    else:
                        counts.updated_count += 1
            counts.failed_count = len({number for number, _, _ in errors})
            await self._apply(context, record, imported)
            consent = ConsentService(context)
            for contact_id, status in consents:
                await consent.change(contact_id, status, f"import {record.filename}"[:200])
            repo = ImportRepository(session)
            repo.add_errors(record.id, errors)
            await repo.add_progress(record.id, **counts.__dict__)
            return len(chunk)

    async def _apply(self, context: Context, record: Import, contact_ids: list[uuid.UUID]) -> None:
        """The import's tags and list, on the contacts it created or updated."""
        if not contact_ids:
            return
        tagging = TaggingService.of_contacts(context)
        for tag_id in record.tag_ids:
            await tagging.put_on_many(contact_ids, uuid.UUID(tag_id))
        if record.list_id is not None:
            await ListService(context).add_members(record.list_id, contact_ids)

    async def _complete(self, record: Import) -> Import:
        async with self.database.transaction(workspace=self.tenant_id) as session:
            context = await self._context(session, record)
            repo = ImportRepository(session)
            done = await repo.get(record.id)
            if done is None:
                raise NotFound("Import not found")
            done.status = ImportStatus.COMPLETED
            done.completed_at = done.updated_at = context.clock()
            EventRecorder(context).record(
                "import.completed",
                "import",
                done.id,
                {
                    "importId": str(done.id),
                    "rows": done.rows_total,
                    "created": done.created_count,
                    "updated": done.updated_count,
                    "skipped": done.skipped_count,
                    "failed": done.failed_count,
                },
            )
        self.files.path(self.tenant_id, record.id).unlink(missing_ok=True)
        return done


def _row_errors(
    number: int, error: AppError, columns: dict[str, str]
) -> list[tuple[int, str | None, str]]:
    """A refused row's errors, each on the column of the field it names (when one does)."""
    if not error.details:
        return [(number, None, error.message)]
    return [
        (number, columns.get(detail.field or ""), detail.message if detail.field else error.message)
        for detail in error.details
    ]


async def _told(progress: Progress | None, done: int, total: int) -> None:
    if progress is None:
        return
    result = progress(done, total)
    if result is not None:
        await result
