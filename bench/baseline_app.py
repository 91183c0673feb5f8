"""The baselines: bare FastAPI endpoints, served the same way as Rapport."""

from __future__ import annotations

import os
import sqlite3
import uuid
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request

BODY: dict[str, Any] = {
    "data": {
        "id": "01a20665-91c1-7e4f-8296-d321b050389f",
        "email": "alice.johnson.17@acme.example",
        "name": "Alice Johnson",
        "givenName": "Alice",
        "familyName": "Johnson",
        "phone": "+14155552671",
        "externalId": "demo-00017",
        "status": "ACTIVE",
        "lifecycleStage": "CUSTOMER",
        "properties": {"company": "Acme Corp", "source": "webinar", "city": "Lisbon"},
        "isIdentified": True,
        "lastActivityAt": None,
        "createdAt": "2026-11-23T03:14:09.473981Z",
        "updatedAt": "2026-11-23T03:14:09.473985Z",
    }
}


def create_app() -> FastAPI:
    """The read baseline: a contact-sized JSON body, no database."""
    app = FastAPI()

    @app.get("/api/v1/contacts/{ref}")
    async def get_contact(ref: str) -> dict[str, Any]:
        return BODY

    return app


def create_write_app() -> FastAPI:
    """The write baseline: `POST /api/v1/contacts` stores the body as one contact row with one
    INSERT, and `PATCH /api/v1/contacts/{id}` changes its name with one UPDATE, each committed,
    straight through the driver Rapport uses (asyncpg, or sqlite3 with the same pragmas) on
    the database named by `RAPPORT_DATABASE_URL`, in the workspace `BENCH_TENANT`."""
    url = os.environ["RAPPORT_DATABASE_URL"]
    tenant = uuid.UUID(os.environ["BENCH_TENANT"])
    app = FastAPI()
    if url.startswith("postgresql"):
        dsn = url.replace("postgresql+asyncpg", "postgresql")
        pool: list[asyncpg.Pool] = []

        async def write(sql: str, *args: Any) -> None:
            if not pool:
                pool.append(await asyncpg.create_pool(dsn, min_size=4, max_size=32))
            async with pool[0].acquire() as connection:
                await connection.execute(sql, *args)

        insert = (
            "INSERT INTO contacts (id, tenant_id, email, name, status, properties, version,"
            " search_text, created_at, updated_at) VALUES ($1, $2, $3, $4, 'ACTIVE', $5, 1, $6,"
            " now(), now())"
        )
        patch = "UPDATE contacts SET name = $1, updated_at = now() WHERE id = $2 AND tenant_id = $3"
        as_id: Any = uuid.UUID
        tenant_value: Any = tenant
    else:
        connection = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
            connection.execute(f"PRAGMA {pragma}")

        async def write(sql: str, *args: Any) -> None:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(sql, args)
            connection.execute("COMMIT")

        insert = (
            "INSERT INTO contacts (id, tenant_id, email, name, status, properties, version,"
            " search_text, created_at, updated_at) VALUES (?, ?, ?, ?, 'ACTIVE', ?, 1, ?,"
            " datetime('now'), datetime('now'))"
        )
        patch = (
            "UPDATE contacts SET name = ?, updated_at = datetime('now')"
            " WHERE id = ? AND tenant_id = ?"
        )

        def as_id(value: str) -> str:
            return uuid.UUID(value).hex

        tenant_value = tenant.hex

    @app.post("/api/v1/contacts", status_code=201)
    async def create_contact(request: Request) -> dict[str, Any]:
        body = orjson.loads(await request.body())
        contact_id = uuid.uuid4()
        await write(
            insert,
            contact_id if url.startswith("postgresql") else contact_id.hex,
            tenant_value,
            body.get("email"),
            body.get("name"),
            orjson.dumps(body.get("properties", {})).decode(),
            body.get("email"),
        )
        return {"data": {**BODY["data"], "id": str(contact_id), "email": body.get("email")}}

    @app.patch("/api/v1/contacts/{ref}")
    async def update_contact(ref: str, request: Request) -> dict[str, Any]:
        body = orjson.loads(await request.body())
        await write(patch, body.get("name"), as_id(ref), tenant_value)
        return {"data": {**BODY["data"], "id": ref, "name": body.get("name")}}

    return app
