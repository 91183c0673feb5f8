"""The `rapport` command: serve, migrate, tenants, keys, users, demo, export.

Listings print tab-separated lines so they can be piped into other tools.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.auth.scopes import ALL_SCOPES, parse_scopes
from rapport.auth.service import ApiKeyService
from rapport.config import Settings
from rapport.demo.service import seed_demo
from rapport.domains import TASK_MODULES, install
from rapport.exports.service import ExportService
from rapport.exports.writer import Written
from rapport.imports.schemas import ImportOptions
from rapport.imports.service import ImportRun, ImportService, Upload
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.errors import AppError
from rapport.kit.logging import configure_logging, flush_logs_on_sigterm
from rapport.kit.migrate import upgrade
from rapport.kit.pagination import PageRequest, SortSpec
from rapport.models.exports import ExportEntity, ExportFormat
from rapport.models.imports import DedupMode
from rapport.models.jobs import JobState
from rapport.models.tenancy import MembershipRole
from rapport.tenancy.service import WorkspaceService
from rapport.worker.loop import Worker
from rapport.worker.service import QueueAdmin

app = typer.Typer(help="Rapport: self-hosted CRM and marketing automation.", no_args_is_help=True)
tenants_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
users_app = typer.Typer(help="Users who log in with email and password.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs and dead letters.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(jobs_app, name="jobs")
console = Console(soft_wrap=True)
err_console = Console(soft_wrap=True, stderr=True)
T = TypeVar("T")

DEMO_SCOPES = sorted(ALL_SCOPES)
WORKER_START_SECONDS = 60
_OPERATOR = "operator command line: jobs of every workspace"


def _run(
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    platform: str | None = None,
    errors: Console = console,
) -> T:
    """Run `work` in one committed transaction on the configured database, in a session bound
    to no workspace (work in one binds it with `Context.bound`), or platform-wide. A refusal
    is printed to `errors`."""

    async def main() -> T:
        settings = Settings()
        database = Database(settings.resolved_database_url, pooled=False)
        try:
            await upgrade(database, secret_key=settings.existing_secret_key())
            async with database.transaction(platform=platform) as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except AppError as exc:
        errors.print(f"[red]{exc.code}[/red]: {exc.message}")
        for detail in exc.details:
            errors.print(f"  {detail.field}: {detail.message}")
        raise typer.Exit(1) from exc


def _show_key(tenant_id: uuid.UUID, secret: str, scopes: list[str]) -> None:
    console.print(f"Workspace: [bold]{tenant_id}[/bold]")
    console.print(f"Scopes:    {', '.join(scopes)}")
    console.print(f"API key:   [bold green]{secret}[/bold green]  (shown once; store it now)")


async def bootstrap_demo(session: AsyncSession, contacts: int) -> tuple[uuid.UUID, str] | None:
    """On a fresh database: a demo workspace with sample contacts and an API key."""
    workspaces = WorkspaceService(session)
    if not await workspaces.is_empty():
        return None
    tenant = await workspaces.create("Demo workspace")
    context = Context.bound(session, tenant.id)
    await seed_demo(context, contacts)
    _key, secret = await ApiKeyService(context).create("Demo key", DEMO_SCOPES)
    return tenant.id, secret


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes")] = 1,
    demo: Annotated[bool, typer.Option(help="Seed a demo workspace on first start")] = True,
) -> None:
    """Apply migrations, seed a demo workspace on first start, and serve the API."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json, settings.log_flush_seconds)
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter(
            "SQLite serves one process (it admits one writer); use PostgreSQL for --workers > 1",
            param_hint="--workers",
        )
    settings.resolved_secret_key()

    async def prepare(session: AsyncSession) -> tuple[uuid.UUID, str] | None:
        return await bootstrap_demo(session, 300) if demo else None

    created = _run(prepare)  # migrates, with or without the demo
    bind_host, bind_port = host or settings.host, port or settings.port
    if created is not None:
        console.rule("First start: demo workspace created")
        _show_key(created[0], created[1], DEMO_SCOPES)
        console.print(
            f"Try:      curl -H 'Authorization: Bearer {created[1]}' "
            f"http://{bind_host}:{bind_port}/api/v1/contacts"
        )
        console.rule()
    console.print(f"Rapport on http://{bind_host}:{bind_port}  (docs: /docs)")
    flush_logs_on_sigterm()
    uvicorn.run(
        "rapport.app:serve_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        # A server process is spawned: it imports Rapport afresh before it answers uvicorn's
        # health check, which takes several seconds on a busy machine, and one that misses the
        # check is killed and respawned (uvicorn's default of 5 s could do so forever). The
        # check also replaces a running process that stops answering for this long.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
        log_config=None,
        access_log=False,
        # The app honours forwarded headers from RAPPORT_TRUSTED_PROXIES alone; uvicorn's own
        # handling would trust 127.0.0.1 by default.
        proxy_headers=False,
    )


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest version."""

    async def nothing(_session: AsyncSession) -> None:
        return None

    _run(nothing)
    console.print("Database is up to date.")


@app.command()
def demo(
    tenant: Annotated[str | None, typer.Option(help="Workspace id; a new one if omitted")] = None,
    contacts: Annotated[int, typer.Option(min=1, max=100_000)] = 300,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
) -> None:
    """Seed a workspace with realistic sample contacts."""

    async def work(session: AsyncSession) -> tuple[uuid.UUID, str | None]:
        workspaces = WorkspaceService(session)
        secret = None
        if tenant:
            tenant_id = (await workspaces.get(_uuid(tenant))).id
        else:
            tenant_id = (await workspaces.create("Demo workspace")).id
        context = Context.bound(session, tenant_id)
        if not tenant:
            _key, secret = await ApiKeyService(context).create("Demo key", DEMO_SCOPES)
        await seed_demo(context, contacts, seed=seed)
        return tenant_id, secret

    tenant_id, secret = _run(work)
    console.print(f"Seeded {contacts} contacts into {tenant_id}.")
    if secret:
        _show_key(tenant_id, secret, DEMO_SCOPES)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a workspace id") from exc


@tenants_app.command("create")
def tenants_create(name: str) -> None:
    """Create a workspace and print its id."""
    tenant = _run(lambda s: WorkspaceService(s).create(name))
    console.print(f"{tenant.id}\t{tenant.name}")


@tenants_app.command("list")
def tenants_list() -> None:
    """List workspaces."""
    for tenant in _run(lambda s: WorkspaceService(s).all()):
        print(f"{tenant.id}\t{tenant.name}\t{tenant.created_at.isoformat()}")


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="Workspace id")],
    scopes: Annotated[str, typer.Option(help="Comma-separated, e.g. crm:read,crm:write")],
    name: Annotated[str, typer.Option(help="What the key is for")] = "API key",
    expires_in_days: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Create an API key and print it once."""
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    tenant_id = _uuid(tenant)
    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None

    async def work(session: AsyncSession) -> str:
        await WorkspaceService(session).get(tenant_id)
        context = Context.bound(session, tenant_id)
        _key, secret = await ApiKeyService(context).create(name, wanted, expires)
        return secret

    _show_key(tenant_id, _run(work), wanted)


@keys_app.command("list")
def keys_list(tenant: Annotated[str, typer.Option(help="Workspace id")]) -> None:
    """List a workspace's API keys (never their secrets)."""
    tenant_id = _uuid(tenant)
    page = PageRequest(skip=0, take=1000, sort=SortSpec("createdAt", True))
    rows, _meta = _run(lambda s: ApiKeyService(Context.bound(s, tenant_id)).list(page))
    print("id\tname\tprefix\tscopes\tlast_used\trevoked")
    for key in rows:
        used = key.last_used_at.isoformat() if key.last_used_at else "-"
        revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
        print(f"{key.id}\t{key.name}\t{key.prefix}\t{','.join(key.scopes)}\t{used}\t{revoked}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, tenant: Annotated[str, typer.Option(help="Workspace id")]) -> None:
    """Revoke an API key."""
    tenant_id, record_id = _uuid(tenant), _uuid(key_id)
    key = _run(lambda s: ApiKeyService(Context.bound(s, tenant_id)).revoke(record_id))
    console.print(f"Revoked {key.id} ({key.name}).")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option()],
    tenant: Annotated[str, typer.Option(help="Workspace id")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    name: Annotated[str | None, typer.Option()] = None,
    role: Annotated[MembershipRole, typer.Option()] = MembershipRole.ADMIN,
) -> None:
    """Create a user (or reuse one by email) and add it to a workspace."""
    tenant_id = _uuid(tenant)
    user = _run(
        lambda s: WorkspaceService(s).add_user(tenant_id, email, password, name=name, role=role)
    )
    print(f"{user.id}\t{user.email}\t{role.value}\t{tenant_id}")


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues to work")] = "default",
    concurrency: Annotated[int, typer.Option(min=1, max=256)] = 8,
) -> None:
    """Run background jobs until interrupted (SIGINT or SIGTERM finish the jobs in hand)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json, settings.log_flush_seconds)

    async def main() -> None:
        database = Database(settings.resolved_database_url, pool_size=concurrency + 2)
        await upgrade(database, secret_key=settings.existing_secret_key())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            names = tuple(q.strip() for q in queues.split(",") if q.strip())
            await Worker(
                database,
                queues=names,
                concurrency=concurrency,
                lease_seconds=settings.worker_lease_seconds,
                task_modules=(*TASK_MODULES, *settings.worker_task_modules),
                settings=settings,
            ).run(stop)
        finally:
            await database.dispose()

    asyncio.run(main())


class ImportedEntity(StrEnum):
    CONTACTS = "contacts"


class ExportedEntity(StrEnum):
    CONTACTS = "contacts"
    COMPANIES = "companies"
    LEADS = "leads"


_EXPORTED = {
    ExportedEntity.CONTACTS: ExportEntity.CONTACT,
    ExportedEntity.COMPANIES: ExportEntity.COMPANY,
    ExportedEntity.LEADS: ExportEntity.LEAD,
}


@app.command()
def export(
    entity: Annotated[ExportedEntity, typer.Argument(help="contacts, companies or leads")],
    tenant: Annotated[str, typer.Option(help="Workspace id")],
    where: Annotated[str | None, typer.Option(help="The query as text")] = None,
    filter_json: Annotated[
        str | None, typer.Option("--filter", help="The query as JSON (instead of --where)")
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated fields (default: the entity's own)")
    ] = None,
    output_format: Annotated[
        ExportFormat, typer.Option("--format", help="csv or jsonl")
    ] = ExportFormat.CSV,
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
) -> None:
    """Write the records a query matches as CSV or JSON Lines, streamed (as `POST /exports`
    writes its files, without the job); errors and the count go to stderr."""
    tenant_id = _uuid(tenant)
    try:
        filter_doc = json.loads(filter_json) if filter_json is not None else None
    except ValueError as exc:
        raise typer.BadParameter(f"--filter is not JSON: {exc}") from exc
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    settings = Settings()

    async def work(session: AsyncSession) -> Written:
        exports = ExportService(Context.bound(session, tenant_id), settings)
        plan = await exports.plan(_EXPORTED[entity], where, filter_doc, names)
        if output is None:
            return await exports.write(plan, output_format, sys.stdout.buffer)
        with output.open("wb") as out:
            return await exports.write(plan, output_format, out)

    written = _run(work, errors=err_console)
    err_console.print(f"{written.rows} {entity.value}, {written.bytes} bytes")


@app.command("import")
def import_file(
    entity: Annotated[ImportedEntity, typer.Argument(help="contacts")],
    file: Annotated[
        Path | None, typer.Argument(help="The CSV file", exists=True, dir_okay=False)
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Workspace id")] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="column=field, repeated (default: the suggested mapping)"),
    ] = None,
    dedup: Annotated[DedupMode, typer.Option(help="update, skip or create_new")] = DedupMode.UPDATE,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (id or key), repeated")] = None,
    list_id: Annotated[str | None, typer.Option("--list", help="A static list's id")] = None,
    encoding: Annotated[str | None, typer.Option(help="When not UTF-8, e.g. latin-1")] = None,
    delimiter: Annotated[str | None, typer.Option(help=", ; | or a tab")] = None,
    resume: Annotated[
        str | None, typer.Option(help="Resume this import where it stopped (no FILE)")
    ] = None,
    errors: Annotated[
        Path | None, typer.Option(help="Write the error report (row, column, reason) here")
    ] = None,
) -> None:
    """Import contacts from a CSV file as POST /imports does (the same checks, chunks, rules
    and events), run here with a progress bar instead of by a worker."""
    if (file is None) == (resume is None):
        raise typer.BadParameter("Give a FILE to import, or --resume with an import's id")
    if tenant is None:
        raise typer.BadParameter("--tenant is required")
    tenant_id = _uuid(tenant)
    settings = Settings()
    pairs = [item.partition("=") for item in mapping or []]
    if any(not sep or not field for _, sep, field in pairs):
        raise typer.BadParameter("--map takes column=field")

    async def main() -> None:
        database = Database(settings.resolved_database_url, pooled=False)
        try:
            await upgrade(database, secret_key=settings.existing_secret_key())
            if resume is not None:
                import_id = uuid.UUID(resume)
            else:
                assert file is not None
                options = ImportOptions(
                    mapping={column: field for column, _, field in pairs} or None,
                    dedup=dedup,
                    tags=tag or [],
                    list_id=uuid.UUID(list_id) if list_id else None,
                    encoding=encoding,
                    delimiter=delimiter,
                )
                async with database.transaction(workspace=tenant_id) as session:
                    imports = ImportService(Context.bound(session, tenant_id), settings)
                    with file.open("rb") as handle:
                        created = await imports.create(
                            Upload(file.name, handle), options, queue=False
                        )
                    import_id = created.id
            err_console.print(f"Import {import_id}")
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeRemainingColumn(),
                console=err_console,
            ) as bar:
                task = bar.add_task("rows", total=None, rate="-")
                started = time.monotonic()

                def told(done: int, total: int) -> None:
                    elapsed = time.monotonic() - started
                    rate = f"{done / elapsed:,.0f}" if elapsed > 0 else "-"
                    bar.update(task, completed=done, total=total, rate=rate)

                ended = await ImportRun(database, tenant_id, settings).run(import_id, told)
            if ended is None:
                err_console.print("Nothing to do: the import is finished or unknown")
                return
            err_console.print(
                f"{ended.rows_done} rows: {ended.created_count} created, "
                f"{ended.updated_count} updated, {ended.skipped_count} skipped, "
                f"{ended.failed_count} failed"
            )
            if errors is not None:
                async with database.transaction(workspace=tenant_id) as session:
                    imports = ImportService(Context.bound(session, tenant_id), settings)
                    with errors.open("wb") as out:
                        await imports.write_report(import_id, out)
                err_console.print(f"Error report: {errors}")
        finally:
            await database.dispose()

    try:
        asyncio.run(main())
    except AppError as exc:
        err_console.print(f"[red]{exc.code}[/red]: {exc.message}")
        for detail in exc.details:
            err_console.print(f"  {detail.field}: {detail.message}")
        raise typer.Exit(1) from exc


@jobs_app.command("list")
def jobs_list(
    state: Annotated[JobState | None, typer.Option(help="queued, running, succeeded, dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """List jobs of every workspace, newest first."""
    jobs = _run(lambda s: QueueAdmin(s).recent(state, limit), platform=_OPERATOR)
    print("id\ttask\tstate\tattempts\trun_at\ttenant\tlast_error")
    for job in jobs:
        error = (job.last_error or "-").replace("\n", " ")[:120]
        print(
            f"{job.id}\t{job.task}\t{job.state.value}\t{job.attempts}/{job.max_attempts}\t"
            f"{job.run_at.isoformat()}\t{job.tenant_id or '-'}\t{error}"
        )


@jobs_app.command("retry")
def jobs_retry(job_id: str) -> None:
    """Queue a dead job again with a fresh set of attempts."""
    record_id = _uuid(job_id)
    job = _run(lambda s: QueueAdmin(s).retry(record_id), platform=_OPERATOR)
    console.print(f"Queued {job.id} ({job.task}) again.")


def main() -> None:
    install()
    app()


if __name__ == "__main__":
    main()
