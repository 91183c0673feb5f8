"""The `rapport` command, run as a user would, against a SQLite file the API then serves.

These tests use no `database` fixture: each builds its own SQLite file and app, so they run once.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from rapport.app import create_app
from rapport.domains import TASK_MODULES
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import Webhook
from rapport.webhooks.signing import new_secret, secret_box
from rapport.worker.loop import Worker
from tests.helpers import (
    EVERY_WORKSPACE,
    TEST_SECRET,
    insert,
    make_settings,
    migrate,
    old_workspace,
)

RAPPORT = Path(sys.executable).parent / "rapport"
API_KEY = re.compile(r"\bak_[A-Za-z0-9_\-]+")


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """Runs `rapport` with its data directory and database inside one test's tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.url = f"sqlite:///{tmp_path / 'cli.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
        env.update(
            RAPPORT_DATA_DIR=str(tmp_path),
            RAPPORT_DATABASE_URL=self.url,
            COLUMNS="200",
            NO_COLOR="1",
        )
        self.env = env

    async def run(self, *args: str) -> Result:
        process = await asyncio.create_subprocess_exec(
            str(RAPPORT),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=self.tmp_path,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())

    async def ok(self, *args: str) -> str:
        result = await self.run(*args)
        assert result.code == 0, f"rapport {' '.join(args)}: {result.out}{result.err}"
        return result.out

    async def new_tenant(self, name: str = "Acme") -> uuid.UUID:
        out = await self.ok("tenants", "create", name)
        return uuid.UUID(out.split()[0])

    async def new_key(self, tenant: uuid.UUID, scopes: str) -> str:
        out = await self.ok("keys", "create", "--tenant", str(tenant), "--scopes", scopes)
        found = API_KEY.search(out)
        assert found, out
        return found.group(0)

    async def key_rows(self, tenant: uuid.UUID) -> list[list[str]]:
        out = await self.ok("keys", "list", "--tenant", str(tenant))
        lines = out.splitlines()
        assert lines[0].split("\t") == ["id", "name", "prefix", "scopes", "last_used", "revoked"]
        return [line.split("\t") for line in lines[1:]]

    @asynccontextmanager
    async def api(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client on a fresh app over the CLI's database (fresh, so no key cache carries)."""
        app = create_app(make_settings(self.tmp_path, database_url=self.url))
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c
        finally:
            await app.state.database.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_migrate_creates_the_schema_and_can_run_again(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    assert "up to date" in (await cli.ok("migrate")).lower()
    with sqlite3.connect(tmp_path / "cli.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tenants", "api_keys", "contacts", "idempotency_records"} <= tables
    assert "up to date" in (await cli.ok("migrate")).lower()


async def test_migrate_encrypts_stored_webhook_secrets_with_the_key_in_use_only(
    tmp_path: Path,
) -> None:
    """Upgrading a database that holds webhook secrets needs the servers' secret key: with none
    configured and none generated before, `rapport migrate` refuses, changes nothing and makes
    no new key (the servers would not have it); given the key, it encrypts them."""
    database = Database(f"sqlite+inline:///{tmp_path / 'cli.db'}")
    try:
        await migrate(database, "0016")
        workspace_id = await old_workspace(database)
        hook_id, secret, now = uuid.uuid4(), new_secret(), utcnow()
        await insert(
            database,
            "webhooks",
            id=hook_id,
            tenant_id=workspace_id,
            url="https://93.184.215.14/hook",
            event_types=["contact.*"],
            secret=secret,
            active=True,
            consecutive_failures=0,
            created_at=now,
            updated_at=now,
        )
        cli = Cli(tmp_path)

        refused = await cli.run("migrate")
        assert refused.code != 0
        assert "RAPPORT_SECRET_KEY" in refused.err
        assert not (tmp_path / "secret.key").exists()
        with sqlite3.connect(tmp_path / "cli.db") as db:
            assert db.execute("SELECT secret FROM webhooks").fetchall() == [(secret,)]

        cli.env["RAPPORT_SECRET_KEY"] = TEST_SECRET
        await cli.ok("migrate")
        async with database.session(platform=EVERY_WORKSPACE) as session:
            stored = await session.get(Webhook, hook_id)
        assert stored is not None
        assert secret_box(TEST_SECRET).open(stored.encrypted_secret, bound_to=str(hook_id)) == (
            secret
        )
    finally:
        await database.dispose()


async def test_tenants_create_and_list(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    acme = await cli.new_tenant("Acme")
    globex = await cli.new_tenant("Globex Corp")
    rows = [line.split("\t") for line in (await cli.ok("tenants", "list")).splitlines()]
    by_id = {row[0]: row for row in rows}
    assert set(by_id) == {str(acme), str(globex)}
    assert by_id[str(acme)][1] == "Acme"
    assert by_id[str(globex)][1] == "Globex Corp"
    assert all(len(row) == 3 for row in rows)


async def test_read_only_key_from_the_cli_works_against_the_api(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    tenant = await cli.new_tenant()
    key = await cli.new_key(tenant, "crm:read")

    async with cli.api() as client:
        listed = await client.get("/api/v1/contacts", headers=bearer(key))
        assert listed.status_code == 200, listed.text
        assert listed.json()["data"] == []
        me = await client.get("/api/v1/auth/me", headers=bearer(key))
        assert me.json()["data"]["tenantId"] == str(tenant)
        assert me.json()["data"]["scopes"] == ["crm:read"]

        refused = await client.post(
            "/api/v1/contacts", json={"email": "a@example.com"}, headers=bearer(key)
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "FORBIDDEN"
        after = await client.get("/api/v1/contacts", headers=bearer(key))
        assert after.json()["meta"]["total"] == 0


async def test_keys_list_shows_the_key_without_its_secret(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    tenant = await cli.new_tenant()
    key = await cli.new_key(tenant, "crm:read,crm:write")
    out = await cli.ok("keys", "list", "--tenant", str(tenant))
    assert key not in out
    rows = await cli.key_rows(tenant)
    assert len(rows) == 1
    key_id, _name, prefix, scopes, last_used, revoked = rows[0]
    uuid.UUID(key_id)
    assert key.startswith(prefix)
    assert scopes == "crm:read,crm:write"
    assert last_used == "-"
    assert revoked == "-"


async def test_keys_revoke_makes_the_key_401(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    tenant = await cli.new_tenant()
    key = await cli.new_key(tenant, "crm:read")
    async with cli.api() as client:
        assert (await client.get("/api/v1/contacts", headers=bearer(key))).status_code == 200

    [[key_id, *_rest]] = await cli.key_rows(tenant)
    await cli.ok("keys", "revoke", key_id, "--tenant", str(tenant))
    [row] = await cli.key_rows(tenant)
    assert row[5] != "-"

    async with cli.api() as client:
        refused = await client.get("/api/v1/contacts", headers=bearer(key))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_keys_create_refuses_an_unknown_scope(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    tenant = await cli.new_tenant()
    result = await cli.run("keys", "create", "--tenant", str(tenant), "--scopes", "crm:read,crm:x")
    assert result.code != 0
    assert "crm:x" in result.out + result.err
    assert not API_KEY.search(result.out)
    assert await cli.key_rows(tenant) == []


async def test_keys_create_refuses_an_unknown_workspace(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    await cli.ok("migrate")
    result = await cli.run("keys", "create", "--tenant", str(uuid.uuid4()), "--scopes", "crm:read")
    assert result.code != 0
    assert not API_KEY.search(result.out)


async def test_users_create_then_login(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    tenant = await cli.new_tenant()
    out = await cli.ok(
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--password",
        "correct horse battery",
        "--tenant",
        str(tenant),
    )
    user_id, email, _role, user_tenant = out.strip().split("\t")
    uuid.UUID(user_id)
    assert (email, user_tenant) == ("ada@example.com", str(tenant))

    async with cli.api() as client:
        login = await client.post(
            "/api/v1/auth/login",
            json={"email": "ada@example.com", "password": "correct horse battery"},
        )
        assert login.status_code == 200, login.text
        session = login.json()["data"]
        assert session["user"]["id"] == user_id
        assert [w["id"] for w in session["workspaces"]] == [str(tenant)]

        headers = {**bearer(session["token"]), "X-Tenant-Id": str(tenant)}
        listed = await client.get("/api/v1/contacts", headers=headers)
        assert listed.status_code == 200, listed.text

        wrong = await client.post(
            "/api/v1/auth/login", json={"email": "ada@example.com", "password": "wrong"}
        )
        assert wrong.status_code == 401


async def test_demo_seeds_a_workspace_and_prints_a_key(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    out = await cli.ok("demo", "--contacts", "20")
    found = API_KEY.search(out)
    assert found, out
    key = found.group(0)

    async with cli.api() as client:
        listed = await client.get("/api/v1/contacts", headers=bearer(key))
        assert listed.status_code == 200, listed.text
        assert listed.json()["meta"]["total"] == 20
        workspace = await client.get("/api/v1/workspace", headers=bearer(key))
        assert workspace.json()["data"]["id"] in out
        leads = (await client.get("/api/v1/leads", headers=bearer(key))).json()["data"]
        assert len(leads) == 20
        assert all(lead["contactId"] and lead["companyId"] and lead["value"] for lead in leads)
        stages = (await client.get("/api/v1/pipeline-stages", headers=bearer(key))).json()
        assert sum(stage["leadCount"] > 0 for stage in stages["data"]) >= 3

    tenants = (await cli.ok("tenants", "list")).splitlines()
    assert len(tenants) == 1


async def test_export_writes_what_the_export_job_writes(tmp_path: Path) -> None:
    """`rapport export` and `POST /exports` share the query compilation and the writer: the
    same request gives the same bytes, on stdout or in a file; a refusal prints to stderr
    and writes nothing."""
    cli = Cli(tmp_path)
    tenant = await cli.new_tenant()
    key = await cli.new_key(tenant, "crm:read,crm:write,crm:admin,crm:import")
    async with cli.api() as client:
        city = {"key": "city", "entity": "CONTACT", "label": "City", "type": "TEXT"}
        assert (await client.post("/api/v1/properties", json=city, headers=bearer(key))).is_success
        for body in (
            {"email": "ada@example.com", "name": "Lovelace, Ada", "properties": {"city": "Zürich"}},
            {"email": "bob@example.com", "name": 'Bob "B"', "lifecycleStage": "CUSTOMER"},
            {"email": "eve@example.com", "name": "Eve"},
        ):
            response = await client.post("/api/v1/contacts", json=body, headers=bearer(key))
            assert response.status_code == 201, response.text
        request = {"entity": "contact", "where": "email != 'eve@example.com'"}
        request["columns"] = ["email", "name", "city", "lifecycleStage"]
        queued = await client.post("/api/v1/exports", json=request, headers=bearer(key))
        assert queued.status_code == 202, queued.text
        database = Database(cli.url.replace("sqlite://", "sqlite+inline://"))
        settings = make_settings(tmp_path, database_url=cli.url)
        try:
            await Worker(database, task_modules=TASK_MODULES, settings=settings).run_once()
        finally:
            await database.dispose()
        url = f"/api/v1/exports/{queued.json()['data']['id']}/download"
        from_job = (await client.get(url, headers=bearer(key))).content

    args = ["export", "contacts", "--tenant", str(tenant), "--where", request["where"]]
    result = await cli.run(*args, "--columns", "email,name,city,lifecycleStage")
    assert result.code == 0, result.err
    assert (
        result.out.encode()
        == from_job
        == (
            "email,name,properties.city,lifecycleStage\r\n"
            'ada@example.com,"Lovelace, Ada",Zürich,\r\n'
            'bob@example.com,"Bob ""B""",,CUSTOMER\r\n'
        ).encode()
    )
    assert "2 contacts" in result.err

    target = tmp_path / "out.jsonl"
    await cli.ok(*args, "--columns", "email,city", "--format", "jsonl", "--output", str(target))
    assert target.read_text().splitlines() == [
        '{"email":"ada@example.com","properties":{"city":"Zürich"}}',
        '{"email":"bob@example.com","properties":{"city":null}}',
    ]

    refused = await cli.run(*args, "--columns", "email,shoeSize")
    assert refused.code == 1
    assert refused.out == ""
    assert "VALIDATION_FAILED" in refused.err
    assert "columns[1]" in refused.err


async def test_import_reads_a_file_with_the_rules_of_post_imports(tmp_path: Path) -> None:
    """`rapport import contacts FILE` runs the import's chunks in process (no worker): the same
    checks, counts and error report as POST /imports; a refusal writes nothing."""
    cli = Cli(tmp_path)
    tenant = await cli.new_tenant()
    key = await cli.new_key(tenant, "crm:read,crm:write,crm:import")
    source = tmp_path / "people.csv"
    source.write_text("Mail;Nom\nada@example.com;Ada\nnot-an-email;Bob\n", encoding="latin-1")
    report = tmp_path / "errors.csv"

    result = await cli.run(
        "import",
        "contacts",
        str(source),
        "--tenant",
        str(tenant),
        "--map",
        "Mail=email",
        "--map",
        "Nom=name",
        "--errors",
        str(report),
    )
    assert result.code == 0, result.err
    assert "2 rows: 1 created, 0 updated, 0 skipped, 1 failed" in result.err
    assert report.read_text().splitlines() == [
        "row,column,reason",
        "3,Mail,An email address must have an @-sign.",
    ]
    async with cli.api() as client:
        listed = await client.get("/api/v1/contacts", headers=bearer(key))
        assert [c["name"] for c in listed.json()["data"]] == ["Ada"]
        imports = await client.get("/api/v1/imports", headers=bearer(key))
        assert imports.json()["data"][0]["status"] == "completed"

    refused = await cli.run(
        "import", "contacts", str(source), "--tenant", str(tenant), "--map", "Mail=shoeSize"
    )
    assert refused.code == 1
    assert "mapping.Mail" in refused.err
