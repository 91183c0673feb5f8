"""Rows written at commit (`kit.deferred`): they commit with the transaction, a rollback or a
savepoint's rollback forgets them, and the tenant guard's rule for inserts holds."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from rapport.kit.db import Database
from rapport.kit.deferred import insert_at_commit, write_pending
from rapport.kit.tenant_guard import WorkspaceRequired
from rapport.models import Tag
from tests.helpers import EVERY_WORKSPACE, Workspace

pytestmark = pytest.mark.usefixtures("app")


def _tag(workspace: Workspace, key: str) -> dict[str, object]:
    return {"tenant_id": workspace.id, "key": key, "name": key.upper()}


async def _keys(database: Database) -> list[str]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return sorted((await session.execute(select(Tag.key))).scalars())


async def test_rows_are_written_at_commit_in_order(
    database: Database, workspace: Workspace
) -> None:
    async with database.transaction(workspace=workspace.id) as session:
        insert_at_commit(session, Tag, _tag(workspace, "first"))
        insert_at_commit(session, Tag, _tag(workspace, "second"))
        assert await session.scalar(select(Tag.key)) is None  # not written yet
    assert await _keys(database) == ["first", "second"]


async def test_a_rollback_forgets_them(database: Database, workspace: Workspace) -> None:
    async with database.session(workspace=workspace.id) as session:
        insert_at_commit(session, Tag, _tag(workspace, "gone"))
        await session.rollback()
        await session.commit()

    async def failing() -> None:
        async with database.transaction(workspace=workspace.id) as session:
            insert_at_commit(session, Tag, _tag(workspace, "failed"))
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        await failing()
    assert await _keys(database) == []


async def test_a_savepoint_rollback_forgets_only_its_own(
    database: Database, workspace: Workspace
) -> None:
    async with database.transaction(workspace=workspace.id) as session:
        insert_at_commit(session, Tag, _tag(workspace, "kept"))
        savepoint = await session.begin_nested()
        insert_at_commit(session, Tag, _tag(workspace, "undone"))
        await savepoint.rollback()
        async with session.begin_nested():
            insert_at_commit(session, Tag, _tag(workspace, "released"))
    assert await _keys(database) == ["kept", "released"]


async def test_write_pending_writes_them_now(database: Database, workspace: Workspace) -> None:
    async with database.transaction(workspace=workspace.id) as session:
        insert_at_commit(session, Tag, _tag(workspace, "early"))
        await write_pending(session)
        assert await session.scalar(select(Tag.key)) == "early"
        await session.execute(delete(Tag))
    assert await _keys(database) == []


async def test_a_row_of_another_workspace_is_refused(
    database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    async def mixed() -> None:
        async with database.transaction(workspace=workspace.id) as session:
            insert_at_commit(session, Tag, _tag(workspace, "mine"))
            insert_at_commit(session, Tag, _tag(other_workspace, "theirs"))

    with pytest.raises(WorkspaceRequired):
        await mixed()
    assert await _keys(database) == []
