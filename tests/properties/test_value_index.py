"""The value index (`property_values`): every write of properties keeps it in step, and the
migration that creates it fills it from the properties already stored."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Connection

from rapport.kit.db import Database
from rapport.kit.migrate import alembic_config
from rapport.models import PropertyValue
from tests.helpers import EVERY_WORKSPACE, Workspace, make_workspace, snapshot

pytestmark = pytest.mark.usefixtures("app")


async def indexed(database: Database, record_id: str) -> list[tuple[Any, ...]]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        rows = await session.execute(
            select(
                PropertyValue.key,
                PropertyValue.ordinal,
                PropertyValue.text_value,
                PropertyValue.number_value,
            )
            .where(PropertyValue.record_id == uuid.UUID(record_id))
            .order_by(PropertyValue.key, PropertyValue.ordinal)
        )
        return [tuple(row) for row in rows]


async def test_contact_writes_keep_the_index_in_step(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    body = {
        "email": "ada@example.com",
        "properties": {
            "plan": "Enterprise",
            "mrr": 4999,
            "vip": True,
            "langs": ["en", "fr"],
            "address": {"city": "Lisbon"},
        },
    }
    created = await client.post("/api/v1/contacts", json=body, headers=workspace.headers)
    assert created.status_code == 201, created.text
    contact_id = created.json()["data"]["id"]
    assert await indexed(database, contact_id) == [
        ("langs", 0, "en", None),
        ("langs", 1, "fr", None),
        ("mrr", 0, None, 4999.0),
        ("plan", 0, "Enterprise", None),
        ("vip", 0, None, 1.0),
    ]

    patch = {"properties": {"mrr": 9999, "langs": None, "plan": "Growth"}}
    updated = await client.patch(
        f"/api/v1/contacts/{contact_id}", json=patch, headers=workspace.headers
    )
    assert updated.status_code == 200, updated.text
    assert await indexed(database, contact_id) == [
        ("mrr", 0, None, 9999.0),
        ("plan", 0, "Growth", None),
        ("vip", 0, None, 1.0),
    ]


async def test_a_deleted_company_leaves_no_indexed_values(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    body = {"name": "Acme", "properties": {"tier": "gold", "seats": 40}}
    created = await client.post("/api/v1/companies", json=body, headers=workspace.headers)
    company_id = created.json()["data"]["id"]
    assert len(await indexed(database, company_id)) == 2

    deleted = await client.delete(f"/api/v1/companies/{company_id}", headers=workspace.headers)
    assert deleted.status_code == 204
    assert await indexed(database, company_id) == []


async def test_a_refused_write_indexes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await client.post(
        "/api/v1/contacts", json={"email": "ada@example.com"}, headers=workspace.headers
    )
    duplicate = {"email": "ada@example.com", "properties": {"plan": "Enterprise"}}
    refused = await client.post("/api/v1/contacts", json=duplicate, headers=workspace.headers)
    assert refused.status_code == 409
    async with database.session(platform=EVERY_WORKSPACE) as session:
        assert (await session.execute(select(PropertyValue))).all() == []


def _migrate(connection: Connection, url: str, revision: str, down: bool = False) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def test_the_migration_indexes_properties_stored_before_it(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    body = {"email": "ada@example.com", "properties": {"plan": "Enterprise", "mrr": 12}}
    created = await client.post("/api/v1/contacts", json=body, headers=workspace.headers)
    contact_id = created.json()["data"]["id"]
    for revision, down in (("0008", True), ("head", False)):
        async with database.engine.connect() as connection:
            await connection.run_sync(_migrate, database.url, revision, down)
            await connection.commit()
    assert await indexed(database, contact_id) == [
        ("mrr", 0, None, 12.0),
        ("plan", 0, "Enterprise", None),
    ]


async def test_membership_properties_are_checked_and_indexed(
    client: httpx.AsyncClient, database: Database
) -> None:
    strict = await make_workspace(database, "Strict", settings={})
    definition = {
        "key": "influence",
        "entity": "CONTACT_COMPANY",
        "label": "Influence",
        "type": "SELECT",
        "options": [{"value": "high", "label": "High"}, {"value": "low", "label": "Low"}],
    }
    defined = await client.post("/api/v1/properties", json=definition, headers=strict.headers)
    assert defined.status_code == 201, defined.text
    contact = await client.post(
        "/api/v1/contacts", json={"email": "ada@example.com"}, headers=strict.headers
    )
    company = await client.post("/api/v1/companies", json={"name": "Acme"}, headers=strict.headers)
    path = f"/api/v1/contacts/{contact.json()['data']['id']}/company-memberships"
    link = {"companyId": company.json()["data"]["id"], "properties": {"influence": "medium"}}

    before = await snapshot(database)
    refused = await client.post(path, json=link, headers=strict.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "properties.influence"
    assert await snapshot(database) == before

    link["properties"] = {"influence": "high"}
    created = await client.post(path, json=link, headers=strict.headers)
    assert created.status_code == 201, created.text
    membership = created.json()["data"]
    assert membership["properties"] == {"influence": "high"}
    assert await indexed(database, membership["id"]) == [("influence", 0, "high", None)]

    changed = await client.patch(
        f"{path}/{membership['id']}",
        json={"properties": {"influence": "low"}},
        headers=strict.headers,
    )
    assert changed.json()["data"]["properties"] == {"influence": "low"}
    assert await indexed(database, membership["id"]) == [("influence", 0, "low", None)]


async def _member(
    client: httpx.AsyncClient, ws: Workspace, contact_id: str, company_id: str, seats: int
) -> str:
    link = {"companyId": company_id, "properties": {"seats": seats}}
    created = await client.post(
        f"/api/v1/contacts/{contact_id}/company-memberships", json=link, headers=ws.headers
    )
    assert created.status_code == 201, created.text
    membership_id: str = created.json()["data"]["id"]
    return membership_id


async def _create(client: httpx.AsyncClient, ws: Workspace, path: str, body: Any) -> str:
    created = await client.post(f"/api/v1/{path}", json=body, headers=ws.headers)
    assert created.status_code == 201, created.text
    record_id: str = created.json()["data"]["id"]
    return record_id


async def test_deleting_a_company_drops_the_values_of_its_memberships(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await _create(client, workspace, "companies", {"name": "Acme"})
    other = await _create(client, workspace, "companies", {"name": "Other"})
    ada = await _create(client, workspace, "contacts", {"email": "ada@example.com"})
    gone = await _member(client, workspace, ada, acme, 3)
    kept = await _member(client, workspace, ada, other, 5)

    deleted = await client.delete(f"/api/v1/companies/{acme}", headers=workspace.headers)

    assert deleted.status_code == 204
    assert await indexed(database, gone) == []
    assert await indexed(database, kept) == [("seats", 0, None, 5.0)]


async def test_a_merge_drops_the_values_of_the_memberships_it_deletes(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await _create(client, workspace, "companies", {"name": "Acme"})
    other = await _create(client, workspace, "companies", {"name": "Other"})
    winner = await _create(client, workspace, "contacts", {"email": "win@example.com"})
    loser = await _create(client, workspace, "contacts", {"email": "lose@example.com"})
    winners = await _member(client, workspace, winner, acme, 1)
    shared = await _member(client, workspace, loser, acme, 2)
    moved = await _member(client, workspace, loser, other, 3)

    merged = await client.post(
        f"/api/v1/contacts/{winner}/merge", json={"loserId": loser}, headers=workspace.headers
    )

    assert merged.status_code == 200, merged.text
    assert await indexed(database, winners) == [("seats", 0, None, 1.0)]
    assert await indexed(database, shared) == []
    assert await indexed(database, moved) == [("seats", 0, None, 3.0)]
