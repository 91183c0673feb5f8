"""The tenant guard: the one place that keeps a workspace's statements to its own rows.

Every session made by `Database` is a `GuardedSession`. Before a statement runs, the guard adds
`tenant_id = <the session's workspace>` to every tenant-owned entity the statement touches: the
FROM list, joins, subqueries, unions, relationship loads, ORM UPDATE and DELETE. New rows get the
workspace stamped at flush, and bulk inserts must name it. Code therefore never filters by
tenant by hand.

It fails closed: a session bound to no workspace cannot touch a tenant-owned table (the
statement raises `WorkspaceRequired`), and only a platform-wide session runs raw SQL or
statements on `Table` objects, which the guard cannot see into. Work that spans workspaces on
purpose (worker claims, the event stream, credential look-ups, housekeeping) opts out by name,
visibly: a whole session with `Database.session(platform="...")`, or one statement with
`platform_wide(stmt, "...")`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Boolean, ForeignKey, bindparam, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.postgresql.dml import OnConflictDoUpdate as PostgresOnConflictDoUpdate
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite.dml import OnConflictDoUpdate as SQLiteOnConflictDoUpdate
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    UOWTransaction,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql import ColumnElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.util.concurrency import greenlet_spawn

_WORKSPACE = "rapport.workspace_id"
_PLATFORM = "rapport.platform_wide"
_OPTION = "platform_wide"

Statement = TypeVar("Statement")


class TenantOwned:
    """Every row of a tenant-owned table carries its workspace; the guard filters on it."""

    @declared_attr
    @classmethod
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class WorkspaceRequired(RuntimeError):
    """A statement touched a tenant-owned table in a session bound to no workspace."""


class _NoWorkspace(ColumnElement[bool]):
    """Stands in for the tenant filter when the session has no workspace: compiling it (which
    happens only if the statement touches a tenant-owned table) raises."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals: list[Any] = []


@compiles(_NoWorkspace)
def _refuse(_element: _NoWorkspace, _compiler: SQLCompiler, **_kw: Any) -> str:
    raise WorkspaceRequired(
        "A statement on a tenant-owned table ran in a session bound to no workspace; bind one "
        "(Database.session(workspace=...)) or name the platform-wide work (platform_wide())"
    )


_NO_WORKSPACE = _NoWorkspace()


def bind_workspace(session: AsyncSession | Session, workspace_id: uuid.UUID) -> None:
    """From now on, every statement of `session` sees only this workspace's rows. A session
    that saw other workspaces' rows (platform-wide, or bound to another workspace) forgets
    them first; an unflushed change to one of them is refused."""
    info = _info(session)
    if _PLATFORM in info or info.get(_WORKSPACE, workspace_id) != workspace_id:
        sync = session.sync_session if isinstance(session, AsyncSession) else session
        changed = sync.dirty
        for record in list(sync.identity_map.values()):
            if isinstance(record, TenantOwned) and record.tenant_id != workspace_id:
                if record in changed:
                    raise WorkspaceRequired("An unflushed change of another workspace's row")
                sync.expunge(record)
    info.pop(_PLATFORM, None)
    info[_WORKSPACE] = workspace_id


def open_platform_wide(session: AsyncSession | Session, reason: str) -> None:
    """Let `session` see every workspace; `reason` says why, for whoever reads the code."""
    _info(session)[_PLATFORM] = reason


def workspace_of(session: AsyncSession | Session) -> uuid.UUID:
    """The workspace the session is bound to (for rows written by bulk statements)."""
    workspace: uuid.UUID | None = _info(session).get(_WORKSPACE)
    if workspace is None:
        raise WorkspaceRequired("This session is bound to no workspace")
    return workspace


def platform_wide(statement: Statement, reason: str) -> Statement:
    """One statement that sees every workspace, whatever its session is bound to."""
    options = {_OPTION: reason}
    return statement.execution_options(**options)  # type: ignore[attr-defined, no-any-return]


def _info(session: AsyncSession | Session) -> dict[Any, Any]:
    info: dict[Any, Any] = session.info
    return info


class GuardedSession(Session):
    """The session class of every `Database` (see the module docstring). Besides the hooks
    below, it keeps the identity map to the bound workspace and refuses the ways around the
    guard: a raw connection, the legacy bulk methods."""

    def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        found = super().get(entity, ident, **kwargs)
        if isinstance(found, TenantOwned) and _PLATFORM not in self.info:
            workspace = self.info.get(_WORKSPACE)
            if workspace is None:
                raise WorkspaceRequired("This session is bound to no workspace")
            if found.tenant_id != workspace:
                return None  # loaded earlier, platform-wide: not this workspace's
        return found

    def connection(self, *args: Any, **kwargs: Any) -> Any:
        _require_platform(self, "A connection runs statements the guard cannot see")
        return super().connection(*args, **kwargs)

    def guarded_connection(self) -> Connection:
        """The transaction's connection, for `run_prepared` only."""
        return super().connection()

    def bulk_save_objects(self, *args: Any, **kwargs: Any) -> None:
        _require_platform(self, "bulk_save_objects() bypasses the guard")
        super().bulk_save_objects(*args, **kwargs)

    def bulk_insert_mappings(self, *args: Any, **kwargs: Any) -> None:
        _require_platform(self, "bulk_insert_mappings() bypasses the guard")
        super().bulk_insert_mappings(*args, **kwargs)

    def bulk_update_mappings(self, *args: Any, **kwargs: Any) -> None:
        _require_platform(self, "bulk_update_mappings() bypasses the guard")
        super().bulk_update_mappings(*args, **kwargs)


def _require_platform(session: Session, what: str) -> None:
    if _PLATFORM not in session.info:
        raise WorkspaceRequired(f"{what}; only a platform-wide session may do this")


# One option for every workspace: the workspace is a bound parameter, so the option, and the
# compiled statements carrying it, are the same whichever workspace runs them (an option made
# per workspace costs more than the rest of the request's SQL work).
_WORKSPACE_PARAMETER = "rapport_guard_workspace"
_SCOPED = with_loader_criteria(
    TenantOwned,
    lambda cls: cls.tenant_id == bindparam("rapport_guard_workspace"),
    include_aliases=True,
)
_UNSCOPED = with_loader_criteria(TenantOwned, lambda _cls: _NO_WORKSPACE, include_aliases=True)


def prepared(statement: Statement) -> Statement:
    """A statement built once and run many times (`functools.cache`), carrying the guard
    already: the guard then leaves it as it is, so SQLAlchemy keeps its cache key instead of
    computing one for a copy at every run."""
    return statement.options(_SCOPED)  # type: ignore[attr-defined, no-any-return]


async def run_prepared(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> CursorResult[Any]:
    """Run a `prepared` statement in the session's transaction but on its connection, as Core
    does: the rows come back as they are, without the ORM session's execution path (about
    half of the CPU of a one-row read). The statement carries the guard already, so this
    binds it to the session's workspace; any other statement is refused. Unlike
    `session.execute`, it does not flush pending changes first: it is for reads."""
    if not any(option is _SCOPED for option in getattr(statement, "_with_options", ())):
        raise WorkspaceRequired("run_prepared() runs only statements made by prepared()")
    workspace = workspace_of(session)
    connection = await greenlet_spawn(cast(GuardedSession, session.sync_session).guarded_connection)
    return await AsyncConnection._retrieve_proxy_for_target(connection).execute(
        statement, {**params, _WORKSPACE_PARAMETER: workspace}
    )


async def stream_prepared(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any], *, rows: int
) -> AsyncIterator[Sequence[Any]]:
    """The rows of a `prepared` statement in batches of `rows` (a server-side cursor on
    PostgreSQL), read in the session's transaction on its connection as Core reads them: no
    ORM row loading. As `run_prepared`, bound to the session's workspace."""
    connection, bound = await _prepared_on(session, statement, params)
    result = await connection.stream(statement.execution_options(yield_per=rows), bound)
    async for batch in result.partitions():
        yield batch


@dataclass(frozen=True)
class DriverStatement:
    """A `prepared` statement compiled for the session's connection, with the guard's
    workspace among its positional parameters, and the driver's own connection of the
    session's transaction: for what only the driver offers (PostgreSQL's COPY)."""

    sql: str
    parameters: tuple[Any, ...]
    driver_connection: Any


async def driver_statement(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> DriverStatement:
    """Compile a `prepared` statement (its guard included, as when the session runs it) for
    the session's connection, with its parameters in the driver's positional order, each
    processed by its type as an execution would."""
    connection, bound = await _prepared_on(session, statement, params)
    dialect = connection.dialect
    if not dialect.positional:
        raise NotImplementedError(f"{dialect.name}: a driver with named parameters")
    compiled = cast(Any, statement).compile(dialect=dialect)
    expanded = compiled.construct_expanded_state(bound)
    # Every parameter's type processing, as SQLAlchemy's execution applies it (the expanded
    # state's own processors are those of the parameters it expanded).
    values = expanded.parameters
    processors = {**compiled._bind_processors, **expanded.processors}
    parameters = tuple(
        processors[name](values[name]) if name in processors else values[name]
        for name in expanded.positiontup
    )
    raw = await connection.get_raw_connection()
    return DriverStatement(expanded.statement, parameters, raw.driver_connection)


async def inlined_statement(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> DriverStatement:
    """A `prepared` statement for a driver call that takes no parameters (PostgreSQL's `COPY
    (...) TO STDOUT`): compiled for the session's connection with every parameter, the
    guard's workspace included, written into the SQL by SQLAlchemy's literal rendering of its
    type (as it writes `literal_execute` parameters: quotes doubled, backslashes too where the
    server needs it). Not asyncpg's inlining of arguments (`copy_from_query(query, *args)`),
    which puts them in place of `$n` by a regular expression that would also rewrite a `$1`
    inside a string literal. A type SQLAlchemy cannot write as a literal raises
    CompileError."""
    connection, bound = await _prepared_on(session, statement, params)
    compiled = cast(Any, statement).compile(
        dialect=connection.dialect, compile_kwargs={"literal_execute": True}
    )
    expanded = compiled.construct_expanded_state(bound)
    if expanded.positiontup or expanded.parameters:
        raise WorkspaceRequired("A parameter of the statement was left unwritten")
    raw = await connection.get_raw_connection()
    return DriverStatement(expanded.statement, (), raw.driver_connection)


async def _prepared_on(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> tuple[AsyncConnection, dict[str, Any]]:
    if not any(option is _SCOPED for option in getattr(statement, "_with_options", ())):
        raise WorkspaceRequired("Only statements made by prepared() run on the connection")
    workspace = workspace_of(session)
    connection = await greenlet_spawn(cast(GuardedSession, session.sync_session).guarded_connection)
    return (
        AsyncConnection._retrieve_proxy_for_target(connection),
        {**params, _WORKSPACE_PARAMETER: workspace},
    )


def insert_checked(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert `rows` into `model`'s table in one Core statement on the session's connection
    (a sync session: this runs inside a flush or commit), once the guard's rule for inserts is
    checked here: each tenant-owned row names the session's workspace."""
    if issubclass(model, TenantOwned) and _PLATFORM not in session.info:
        _rows_name(_bound(session.info.get(_WORKSPACE)), rows)
    connection = cast(GuardedSession, session).guarded_connection()
    connection.execute(model.__table__.insert(), rows)


def add_checked(
    session: Session, model: type[Any], rows: list[dict[str, Any]], key: tuple[str, ...]
) -> None:
    """Add each row's `value` to the row of `model`'s table with the same `key` columns, or
    insert it when there is none (an upsert, in one Core statement), the guard's rule for
    inserts checked as in `insert_checked`."""
    if issubclass(model, TenantOwned) and _PLATFORM not in session.info:
        _rows_name(_bound(session.info.get(_WORKSPACE)), rows)
    connection = cast(GuardedSession, session).guarded_connection()
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    table = model.__table__
    statement = insert(table).values(rows)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=list(key),
            set_={"value": table.c.value + statement.excluded.value},
            # Only ever the inserting workspace's row (its key names the workspace too).
            where=(
                table.c.tenant_id == statement.excluded.tenant_id
                if "tenant_id" in table.c
                else None
            ),
        )
    )


@event.listens_for(GuardedSession, "do_orm_execute")
def _guard_statement(state: ORMExecuteState) -> None:
    info = state.session.info
    if _PLATFORM in info or _OPTION in state.execution_options:
        return
    if not state.is_orm_statement or _textual(state):
        raise WorkspaceRequired(
            "Raw SQL and statements on Table objects cannot be scoped to a workspace; build "
            "the statement on mapped classes, or name it platform_wide()"
        )
    workspace = info.get(_WORKSPACE)
    if state.is_insert:
        _check_inserted(state, workspace)
        return
    if state.is_update:
        _check_updated(state)
    if workspace is not None:
        # Relationship and column loads inherit the option from the statement that read the
        # rows; they need the parameter too.
        params = state.parameters
        if isinstance(params, Mapping) or params is None:
            state.parameters = {**(params or {}), _WORKSPACE_PARAMETER: workspace}
        else:
            state.parameters = [{**row, _WORKSPACE_PARAMETER: workspace} for row in params]
    if state.is_column_load or state.is_relationship_load:
        return
    if workspace is None:
        state.statement = state.statement.options(_UNSCOPED)
    elif not any(option is _SCOPED for option in state.statement._with_options):
        state.statement = state.statement.options(_SCOPED)


def _textual(state: ORMExecuteState) -> bool:
    """`select(Model).from_statement(text(...))`: ORM entities over raw SQL."""
    if not state.is_from_statement:
        return False
    element = getattr(state.statement, "element", None)
    return isinstance(element, TextClause | TextualSelect)


def _tenant_owned(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantOwned) for m in state.all_mappers)


def _check_inserted(state: ORMExecuteState, workspace: uuid.UUID | None) -> None:
    """An INSERT of tenant-owned rows writes the session's workspace in each row, from values
    (not from a SELECT, which nothing would scope), and updates no row on conflict."""
    if not _tenant_owned(state):
        return
    bound = _bound(workspace)
    statement = state.statement
    if getattr(statement, "select", None) is not None:
        raise WorkspaceRequired("INSERT ... SELECT into a tenant-owned table cannot be scoped")
    if isinstance(
        getattr(statement, "_post_values_clause", None),
        PostgresOnConflictDoUpdate | SQLiteOnConflictDoUpdate,
    ):
        raise WorkspaceRequired("ON CONFLICT DO UPDATE could update another workspace's row")
    params = state.parameters
    rows: list[Mapping[Any, Any]] = [params] if isinstance(params, Mapping) else list(params or [])
    rows.append(getattr(statement, "_values", None) or {})
    for values in getattr(statement, "_multi_values", ()):
        rows.extend(values)
    named = [{getattr(k, "key", k): getattr(v, "value", v) for k, v in row.items()} for row in rows]
    _rows_name(bound, [row for row in named if row])


def _bound(workspace: uuid.UUID | None) -> uuid.UUID:
    if workspace is None:
        raise WorkspaceRequired("An INSERT into a tenant-owned table needs a bound workspace")
    return workspace


def _rows_name(workspace: uuid.UUID, rows: Sequence[Mapping[str, Any]]) -> None:
    """Every row inserted into a tenant-owned table names the session's workspace."""
    if any(row.get("tenant_id") != workspace for row in rows):
        raise WorkspaceRequired("A row inserted into a tenant-owned table names another workspace")


def _check_updated(state: ORMExecuteState) -> None:
    """An UPDATE neither moves rows to another workspace nor updates rows by primary key from
    a list (which no criteria would scope)."""
    if not _tenant_owned(state):
        return
    if isinstance(state.parameters, list):
        raise WorkspaceRequired("A bulk UPDATE by primary key cannot be scoped to a workspace")
    values = getattr(state.statement, "_values", None) or {}
    if any(getattr(column, "key", column) == "tenant_id" for column in values):
        raise WorkspaceRequired("An UPDATE cannot move rows to another workspace")


@event.listens_for(GuardedSession, "before_flush")
def _check_flushed_rows(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """New rows get the session's workspace; no row of another workspace is written, deleted
    or moved."""
    if _PLATFORM in session.info:
        return
    workspace = session.info.get(_WORKSPACE)
    for record in session.new:
        if isinstance(record, TenantOwned) and record.tenant_id is None:
            record.tenant_id = workspace
    for record in (*session.new, *session.dirty, *session.deleted):
        if isinstance(record, TenantOwned) and (workspace is None or record.tenant_id != workspace):
            raise WorkspaceRequired(
                f"A {type(record).__name__} of another workspace (or of none) would be written"
            )
