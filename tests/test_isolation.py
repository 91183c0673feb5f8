"""Tenant isolation: every route of the app, called with another workspace's key and this
workspace's ids, answers 403 or 404 and never shows a row of this workspace.

Routes are discovered from the app, so a new route is covered the day it is added; a path
parameter nobody knows how to fill fails the test until a seeder is registered below.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select, update

from rapport.kit.db import Database
from rapport.models import (
    Company,
    DeliveryStatus,
    Event,
    Job,
    JobState,
    Tenant,
    Webhook,
    WebhookDelivery,
)
from rapport.worker.queue import enqueue
from tests.helpers import EVERY_WORKSPACE, Workspace, snapshot

PUBLIC_PATHS = {"/api/v1/auth/login", "/healthz", "/readyz"}
Seeder = Callable[[httpx.AsyncClient, Workspace, Database], Awaitable[str]]


async def _seed_contact(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.post(
        "/api/v1/contacts",
        json={"email": "secret.person@acme.example", "externalId": "acme-secret-1", "name": "Zed"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _seed_api_key(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "acme only", "scopes": ["crm:read"]},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _seed_event(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.get("/api/v1/events?take=1", headers=owner.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["data"][0]["id"])


async def _seed_job(_client: httpx.AsyncClient, owner: Workspace, database: Database) -> str:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "maintenance.purge", tenant_id=owner.id)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Job).values(state=JobState.DEAD))
    return str(job_id)


async def _seed_webhook(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/acme-secret-hook", "eventTypes": ["*"]},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _seed_delivery(_client: httpx.AsyncClient, owner: Workspace, database: Database) -> str:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        webhook = await session.scalar(select(Webhook).where(Webhook.tenant_id == owner.id))
        event = await session.scalar(select(Event).where(Event.tenant_id == owner.id).limit(1))
        assert webhook is not None
        assert event is not None
        delivery = WebhookDelivery(
            tenant_id=owner.id,
            webhook_id=webhook.id,
            event_id=event.id,
            event_type=event.type,
            event_sequence=event.sequence,
            resource_id=event.resource_id,
            status=DeliveryStatus.SUCCEEDED,
            attempts=1,
        )
        session.add(delivery)
    return str(delivery.id)


async def _seed_company(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.post(
        "/api/v1/companies",
        json={"name": "Acme Secret Corp", "domain": "acme-secret.example", "externalId": "cmp-1"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _seed_membership(client: httpx.AsyncClient, owner: Workspace, db: Database) -> str:
    async with db.session(platform=EVERY_WORKSPACE) as session:
        company = await session.scalar(select(Company).where(Company.tenant_id == owner.id))
    assert company is not None
    response = await client.post(
        "/api/v1/contacts/secret.person@acme.example/company-memberships",
        json={"companyId": str(company.id), "role": "CTO"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _company_id(_client: httpx.AsyncClient, owner: Workspace, db: Database) -> str:
    async with db.session(platform=EVERY_WORKSPACE) as session:
        company = await session.scalar(select(Company).where(Company.tenant_id == owner.id))
    assert company is not None
    return str(company.id)


async def _seed_tag(client: httpx.AsyncClient, owner: Workspace, db: Database) -> str:
    response = await client.post(
        "/api/v1/tags", json={"key": "acme-secret-tag", "name": "Secret"}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    tag_id = str(response.json()["data"]["id"])
    for path in (
        "contacts/secret.person@acme.example",
        f"companies/{await _company_id(client, owner, db)}",
    ):
        tagged = await client.post(
            f"/api/v1/{path}/tags", json={"tagId": tag_id}, headers=owner.headers
        )
        assert tagged.status_code == 201, tagged.text
    return tag_id


async def _seed_property(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.post(
        "/api/v1/properties",
        json={"key": "acme_secret", "entity": "CONTACT", "label": "Secret", "type": "TEXT"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _seed_activity(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.post(
        "/api/v1/contacts/secret.person@acme.example/activities",
        json={"type": "CALL", "content": "acme secret call"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _seed_note(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.post(
        "/api/v1/contacts/secret.person@acme.example/notes",
        json={"content": "acme secret note"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _seed_task(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.post(
        "/api/v1/tasks", json={"title": "acme secret task"}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def _seed_sync_link(client: httpx.AsyncClient, owner: Workspace, _db: Database) -> str:
    response = await client.put(
        "/api/v1/contacts/secret.person@acme.example/sync-status/acme-secret-sync",
        json={"provider": "HUBSPOT", "externalId": "acme-secret-record"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return "acme-secret-sync"


# Path parameter name -> how to make a record of the owner's to point it at (in this order).
SEEDERS: dict[str, Seeder] = {
    "ref": _seed_contact,
    "key_id": _seed_api_key,
    "event_id": _seed_event,
    "job_id": _seed_job,
    "company_ref": _seed_company,
    "company_id": _company_id,
    "membership_id": _seed_membership,
    "tag_id": _seed_tag,
    "property_id": _seed_property,
    "activity_id": _seed_activity,
    "note_id": _seed_note,
    "task_id": _seed_task,
    "webhook_id": _seed_webhook,
    "delivery_id": _seed_delivery,
    "integration_key": _seed_sync_link,
}
# Other spellings of the same record that must be just as invisible.
ALIASES: dict[str, list[str]] = {
    "ref": ["secret.person@acme.example", "acme-secret-1"],
    "company_ref": ["cmp-1"],
}


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
            continue
        path = str(context.path)
        if path in PUBLIC_PATHS:
            continue
        for method in sorted((context.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def _documented_operations(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if path not in PUBLIC_PATHS
    }


def _minimal_body(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """The smallest instance satisfying the schema's required fields, from its examples."""
    if "$ref" in schema:
        return _minimal_body(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "examples" in schema:
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if "anyOf" in schema:
        return _minimal_body(schema["anyOf"][0], components)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _minimal_body(props[k], components) for k in schema.get("required", [])}
    return {"string": "x", "integer": 1, "number": 1, "boolean": True, "array": []}.get(str(kind))


def _body_for(app: FastAPI, method: str, path: str) -> Any:
    spec = app.openapi()
    operation = spec["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    return _minimal_body(content["schema"], spec["components"]["schemas"])


async def test_every_route_hides_other_workspaces(
    app: FastAPI,
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    owner, intruder = workspace, other_workspace
    async with database.transaction(
        platform=EVERY_WORKSPACE
    ) as session:  # the walk makes more writes than a minute's
        tenant = await session.get(Tenant, intruder.id)
        assert tenant is not None
        tenant.settings = {**tenant.settings, "rateLimits": {"write": "100000/minute"}}
    seeded: dict[str, str] = {}
    for name, seeder in SEEDERS.items():
        seeded[name] = await seeder(client, owner, database)
    secrets = [str(owner.id), *seeded.values(), *[a for v in ALIASES.values() for a in v]]
    before = await snapshot(database)
    checked = 0

    routes = _routes(app)
    assert set(routes) == _documented_operations(app)
    for method, path in routes:
        params = re.findall(r"{(\w+)}", path)
        missing = [p for p in params if p not in SEEDERS]
        assert not missing, f"{method} {path}: register a seeder for path parameter(s) {missing}"
        spellings = [seeded] + [
            {**seeded, p: alias} for p in params for alias in ALIASES.get(p, [])
        ]
        for values in spellings if params else [{}]:
            url = path.format(**values)
            body = _body_for(app, method, path)
            response = await client.request(method, url, json=body, headers=intruder.headers)
            leaked = [s for s in secrets if s in response.text]
            assert not leaked, f"{method} {url} showed {leaked} to another workspace"
            if params:
                assert response.status_code in (403, 404), (
                    f"{method} {url} answered {response.status_code} to another workspace"
                )
            # Naming the owner's workspace with the intruder's key is refused outright.
            named = await client.request(
                method, url, json=body, headers={**intruder.headers, "X-Tenant-Id": str(owner.id)}
            )
            assert named.status_code == 403, f"{method} {url} with X-Tenant-Id: {named.status_code}"
            checked += 1

    assert checked >= len(routes) >= 17
    after = await snapshot(database)
    # Creates without path parameters may add rows to the intruder's own workspace; nothing of
    # the owner's may change.
    for table, rows in before.items():
        owner_rows_before = [r for r in rows if repr(owner.id) in r]
        owner_rows_after = [r for r in after[table] if repr(owner.id) in r]
        assert owner_rows_after == owner_rows_before, f"{table} changed for the owner"


async def test_owner_sees_the_seeded_records(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    """The ids used above are real: the owner reads them, so the 404s above mean isolation."""
    contact_id = await _seed_contact(client, workspace, database)
    key_id = await _seed_api_key(client, workspace, database)
    for url in (
        f"/api/v1/contacts/{contact_id}",
        "/api/v1/contacts/secret.person@acme.example",
        "/api/v1/contacts/acme-secret-1",
        f"/api/v1/api-keys/{key_id}",
    ):
        response = await client.get(url, headers=workspace.headers)
        assert response.status_code == 200, url
