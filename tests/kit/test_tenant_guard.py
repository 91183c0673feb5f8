"""The tenant guard: statements written with no tenant filter at all see one workspace's rows,
a session bound to no workspace cannot touch tenant-owned tables, and platform-wide work says
so by name."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, text, union_all, update

import rapport
from rapport.kit.db import Database
from rapport.kit.tenant_guard import (
    WorkspaceRequired,
    bind_workspace,
    platform_wide,
    run_prepared,
)
from rapport.models import (
    Activity,
    ActivityType,
    Company,
    CompanyMembership,
    Contact,
    ContactTag,
    Tag,
    Tenant,
)
from rapport.overview.repository import OverviewRepository
from tests.helpers import EVERY_WORKSPACE, Workspace, snapshot

pytestmark = pytest.mark.usefixtures("app")


async def _populate(client: httpx.AsyncClient, ws: Workspace, name: str) -> None:
    """A contact in a company, tagged, with an activity."""
    headers = ws.headers
    contact = await client.post(
        "/api/v1/contacts", json={"email": f"{name}@example.com", "name": name}, headers=headers
    )
    company = await client.post("/api/v1/companies", json={"name": f"{name} Ltd"}, headers=headers)
    tag = await client.post("/api/v1/tags", json={"key": "vip", "name": "VIP"}, headers=headers)
    contact_id = contact.json()["data"]["id"]
    for response in (
        await client.post(
            f"/api/v1/contacts/{contact_id}/company-memberships",
            json={"companyId": company.json()["data"]["id"]},
            headers=headers,
        ),
        await client.post(
            f"/api/v1/contacts/{contact_id}/tags",
            json={"tagId": tag.json()["data"]["id"]},
            headers=headers,
        ),
        await client.post(
            f"/api/v1/contacts/{contact_id}/activities",
            json={"type": "CALL", "subject": f"call {name}"},
            headers=headers,
        ),
    ):
        assert response.status_code == 201, response.text


def _everything_joined() -> object:
    """Contacts with their companies, tags and activities: not one tenant filter written."""
    return (
        select(Contact.name, Company.name, Tag.key, Activity.subject)
        .join(CompanyMembership, CompanyMembership.contact_id == Contact.id)
        .join(Company, Company.id == CompanyMembership.company_id)
        .join(ContactTag, ContactTag.contact_id == Contact.id)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .join(Activity, Activity.contact_id == Contact.id)
        .order_by(Contact.name)
    )


async def test_a_join_across_four_domains_sees_only_the_bound_workspace(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    await _populate(client, workspace, "ada")
    await _populate(client, other_workspace, "grace")
    statement = _everything_joined()
    for ws, name in ((workspace, "ada"), (other_workspace, "grace")):
        async with database.session(workspace=ws.id) as session:
            rows = (await session.execute(statement)).all()  # type: ignore[call-overload]
        assert [tuple(r) for r in rows] == [(name, f"{name} Ltd", "vip", f"call {name}")]
    async with database.session(platform=EVERY_WORKSPACE) as session:
        everyone = (await session.execute(statement)).all()  # type: ignore[call-overload]
    assert [r[0] for r in everyone] == ["ada", "grace"]


async def test_subqueries_unions_counts_and_lookups_by_id_are_guarded_too(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    await _populate(client, workspace, "ada")
    await _populate(client, other_workspace, "grace")
    async with database.session(platform=EVERY_WORKSPACE) as session:
        grace = await session.scalar(select(Contact).where(Contact.name == "grace"))
    assert grace is not None
    async with database.session(workspace=workspace.id) as session:
        tagged = select(ContactTag.contact_id)
        in_subquery = await session.scalars(select(Contact.name).where(Contact.id.in_(tagged)))
        assert list(in_subquery) == ["ada"]
        ids = union_all(select(Contact.id), select(Company.id), select(Tag.id)).subquery()
        assert await session.scalar(select(func.count()).select_from(ids)) == 3
        assert await session.get(Contact, grace.id) is None


async def test_updates_and_deletes_reach_only_the_bound_workspace(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    await _populate(client, workspace, "ada")
    await _populate(client, other_workspace, "grace")
    async with database.transaction(workspace=workspace.id) as session:
        await session.execute(update(Contact).values(name="renamed"))
        await session.execute(delete(ContactTag))
    async with database.session(platform=EVERY_WORKSPACE) as session:
        names = await session.scalars(select(Contact.name).order_by(Contact.name))
        tagged = await session.scalars(select(ContactTag.tenant_id))
        assert list(names) == ["grace", "renamed"]
        assert list(tagged) == [other_workspace.id]


async def test_a_session_bound_to_no_workspace_fails_closed(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    await _populate(client, workspace, "ada")
    before = await snapshot(database)
    async with database.session() as session:
        with pytest.raises(WorkspaceRequired):
            await session.execute(select(Contact.id))
        await session.rollback()
        with pytest.raises(WorkspaceRequired):
            await session.execute(select(Tenant.id).where(Tenant.id.in_(select(Tag.tenant_id))))
        await session.rollback()
        with pytest.raises(WorkspaceRequired):
            await session.execute(update(Contact).values(name="x"))
        await session.rollback()
        session.add(Tag(key="loose", name="Loose"))
        with pytest.raises(WorkspaceRequired):
            await session.flush()
        await session.rollback()
        # Tables that belong to no workspace stay open to it (the workspaces themselves).
        assert workspace.id in set(await session.scalars(select(Tenant.id)))
        # One statement may opt out, by name.
        named = platform_wide(select(func.count(Contact.id)), "a test counts every contact")
        assert await session.scalar(named) == 1
    assert await snapshot(database) == before


async def test_new_rows_get_the_bound_workspace_and_cannot_name_another(
    database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    async with database.transaction(workspace=workspace.id) as session:
        tag = Tag(key="stamped", name="Stamped")
        session.add(tag)
    assert tag.tenant_id == workspace.id
    before = await snapshot(database)
    async with database.session(workspace=workspace.id) as session:
        session.add(Tag(key="smuggled", name="Smuggled", tenant_id=other_workspace.id))
        with pytest.raises(WorkspaceRequired):
            await session.flush()
        await session.rollback()
        with pytest.raises(WorkspaceRequired):
            await session.execute(
                insert(Activity),
                [
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": other_workspace.id,
                        "type": ActivityType.NOTE,
                        "occurred_at": func.now(),
                    }
                ],
            )
    assert await snapshot(database) == before


async def test_raw_sql_and_table_statements_are_refused_unless_platform_wide(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    await _populate(client, workspace, "ada")
    contacts = Contact.__table__
    for statement in (
        text("SELECT count(*) FROM contacts"),
        select(func.count()).select_from(contacts),
    ):
        async with database.session(workspace=workspace.id) as session:
            with pytest.raises(WorkspaceRequired):
                await session.execute(statement)
        async with database.session() as session:
            with pytest.raises(WorkspaceRequired):
                await session.execute(statement)
        async with database.session(platform=EVERY_WORKSPACE) as session:
            assert await session.scalar(statement) == 1


async def test_a_prepared_statement_is_guarded_too(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    """The contact overview's statement is built once, with the guard in it."""
    await _populate(client, workspace, "ada")
    await _populate(client, other_workspace, "grace")
    async with database.session(platform=EVERY_WORKSPACE) as session:
        grace = await session.scalar(select(Contact.id).where(Contact.name == "grace"))
    assert grace is not None
    async with database.session(workspace=other_workspace.id) as session:
        seen = await OverviewRepository(session).contact_around(grace)
        assert seen is not None
        assert ([c["name"] for c in seen.companies], seen.activity_count) == (["grace Ltd"], 1)
    async with database.session(workspace=workspace.id) as session:
        hidden = await OverviewRepository(session).contact_around(grace)
        assert hidden is None
    async with database.session() as session:
        with pytest.raises(WorkspaceRequired):
            await OverviewRepository(session).contact_around(grace)


async def _tags_of_each(database: Database, a: Workspace, b: Workspace) -> tuple[Tag, Tag]:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        tag_a = Tag(key="a", name="A", tenant_id=a.id)
        tag_b = Tag(key="b", name="B", tenant_id=b.id)
        session.add_all([tag_a, tag_b])
    return tag_a, tag_b


async def test_writes_that_would_reach_another_workspace_are_refused(
    database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    _tag_a, tag_b = await _tags_of_each(database, workspace, other_workspace)
    before = await snapshot(database)
    refused = [
        # a bulk UPDATE by primary key, which no criteria scope
        lambda s: s.execute(update(Tag), [{"id": tag_b.id, "name": "taken"}]),
        # rows moved to another workspace
        lambda s: s.execute(update(Tag).values(tenant_id=other_workspace.id)),
        # INSERT ... SELECT, which nothing scopes
        lambda s: s.execute(
            insert(Tag).from_select(
                ["id", "tenant_id", "key", "name", "created_at", "updated_at"],
                select(Tag.id, Tag.tenant_id, Tag.key, Tag.name, Tag.created_at, Tag.updated_at),
            )
        ),
        # several rows in one VALUES, one of them for another workspace
        lambda s: s.execute(
            insert(Tag).values(
                [
                    {"id": uuid.uuid4(), "tenant_id": workspace.id, "key": "x", "name": "X"},
                    {"id": uuid.uuid4(), "tenant_id": other_workspace.id, "key": "y", "name": "Y"},
                ]
            )
        ),
        # a raw connection, the legacy bulk methods
        lambda s: s.connection(),
        lambda s: s.run_sync(
            lambda sync: sync.bulk_update_mappings(Tag, [{"id": tag_b.id, "name": "taken"}])
        ),
    ]
    for attempt in refused:
        async with database.session(workspace=workspace.id) as session:
            with pytest.raises(WorkspaceRequired):
                await attempt(session)
    async with database.session() as session:
        with pytest.raises(WorkspaceRequired):
            await session.execute(
                insert(Tag).values(id=uuid.uuid4(), tenant_id=workspace.id, key="z", name="Z")
            )
    assert await snapshot(database) == before


async def test_rows_loaded_elsewhere_cannot_be_read_written_or_deleted(
    database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    _tag_a, tag_b = await _tags_of_each(database, workspace, other_workspace)
    before = await snapshot(database)
    async with database.session(platform=EVERY_WORKSPACE) as session:
        loaded = await session.get(Tag, tag_b.id)
        assert loaded is not None
        # Binding forgets what the session saw platform-wide.
        bind_workspace(session, workspace.id)
        assert await session.get(Tag, tag_b.id) is None
    async with database.session(platform=EVERY_WORKSPACE) as session:
        loaded = await session.get(Tag, tag_b.id)
        assert loaded is not None
        session.info.pop("rapport.platform_wide")
        session.info["rapport.workspace_id"] = workspace.id  # bound by hand, identity map kept
        assert await session.get(Tag, tag_b.id) is None
        loaded.name = "changed"
        with pytest.raises(WorkspaceRequired):
            await session.flush()
        await session.rollback()
    async with database.session(platform=EVERY_WORKSPACE) as session:
        loaded = await session.get(Tag, tag_b.id)
        session.info.pop("rapport.platform_wide")
        session.info["rapport.workspace_id"] = workspace.id
        await session.delete(loaded)
        with pytest.raises(WorkspaceRequired):
            await session.flush()
    assert await snapshot(database) == before


def test_no_module_reaches_a_table_object_past_the_guard() -> None:
    """Statements on `Table` objects and raw SQL fragments get past the guard; ruff bans the
    raw SQL constructors (TID251), and this the `__table__` of mapped classes."""
    root = Path(rapport.__file__).parent
    allowed = ("models", "migrations", "kit")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.relative_to(root).parts[0] not in allowed and "__table__" in path.read_text()
    ]
    assert offenders == []


async def test_run_prepared_runs_only_statements_carrying_the_guard(
    database: Database, workspace: Workspace
) -> None:
    """A statement built without `prepared()` would reach the connection unscoped."""
    async with database.session(workspace=workspace.id) as session:
        with pytest.raises(WorkspaceRequired):
            await run_prepared(session, select(Contact.id), {})
