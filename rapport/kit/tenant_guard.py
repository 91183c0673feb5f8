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
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Boolean, ForeignKey, bindparam, event
from sqlalchemy.ext.asyncio import AsyncSession
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
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

_WORKSPACE = "rapport.workspace_id"
_PLATFORM = "rapport.platform_wide"
_OPTION = "platform_wide"
_PREPARED = "rapport_guard_prepared"

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
    """From now on, every statement of `session` sees only this workspace's rows (a
    platform-wide session stops being one)."""
    info = _info(session)
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
    """The session class of every `Database` (see the module docstring)."""


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
    options = {_PREPARED: True}
    guarded = statement.options(_SCOPED)  # type: ignore[attr-defined]
    return guarded.execution_options(**options)  # type: ignore[no-any-return]


@event.listens_for(GuardedSession, "do_orm_execute")
def _guard_statement(state: ORMExecuteState) -> None:
    info = state.session.info
    if _PLATFORM in info or _OPTION in state.execution_options:
        return
    if not state.is_orm_statement:
        raise WorkspaceRequired(
            "Raw SQL and statements on Table objects cannot be scoped to a workspace; build "
            "the statement on mapped classes, or name it platform_wide()"
        )
    workspace = info.get(_WORKSPACE)
    if workspace is not None:
        if state.is_insert:
            _check_inserted(state, workspace)
            return
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
    elif _PREPARED not in state.execution_options:
        state.statement = state.statement.options(_SCOPED)


def _check_inserted(state: ORMExecuteState, workspace: uuid.UUID) -> None:
    """A bulk INSERT of tenant-owned rows must write the session's workspace in each row."""
    if not any(issubclass(m.class_, TenantOwned) for m in state.all_mappers):
        return
    params = state.parameters
    rows: list[Mapping[str, Any]] = []
    if isinstance(params, Mapping):
        rows = [params]
    elif params:
        rows = list(params)
    values = getattr(state.statement, "_values", None)
    if values:
        rows.append({getattr(k, "key", k): getattr(v, "value", v) for k, v in values.items()})
    for row in rows:
        if row.get("tenant_id") != workspace:
            raise WorkspaceRequired(
                "A row inserted into a tenant-owned table names another workspace"
            )


@event.listens_for(GuardedSession, "before_flush")
def _stamp_new_rows(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    workspace = session.info.get(_WORKSPACE)
    platform = _PLATFORM in session.info
    for record in session.new:
        if not isinstance(record, TenantOwned):
            continue
        if record.tenant_id is None and workspace is not None:
            record.tenant_id = workspace
        elif record.tenant_id is None or (not platform and record.tenant_id != workspace):
            raise WorkspaceRequired(
                f"A new {type(record).__name__} names no workspace, or another one"
            )
