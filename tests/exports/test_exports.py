"""Exports through the API and the real worker, on both databases: the file's exact content
in CSV and JSON Lines, downloads with credentials and through the signed link, expiry,
failures, restarts, and refusals that queue nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from rapport.app import create_app
from rapport.domains import TASK_MODULES
from rapport.exports.service import expire_files
from rapport.exports.writer import _LineEnds
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import Export, ExportStatus, Job, Tenant
from rapport.worker.loop import Worker
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    make_settings,
    snapshot,
)

API = "/api/v1"


@pytest.fixture
def settings_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def api(
    app: FastAPI, database: Database, settings_dir: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Worker]]:
    """A client and a worker sharing one data directory (where files are written and served
    from)."""
    settings = make_settings(settings_dir)
    own = create_app(settings, database=database)
    worker = Worker(database, task_modules=TASK_MODULES, settings=settings)
    transport = httpx.ASGITransport(app=own)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, worker


async def post(client: httpx.AsyncClient, ws: Workspace, path: str, body: Any) -> Any:
    response = await client.post(f"{API}{path}", json=body, headers=ws.headers)
    assert response.status_code in (200, 201, 202), response.text
    return response.json()["data"]


async def seed(client: httpx.AsyncClient, ws: Workspace) -> list[dict[str, Any]]:
    """Custom properties of three types, and contacts whose values need quoting, carry line
    breaks and non-ASCII letters; the last one is not a customer."""
    await post(
        client,
        ws,
        "/properties",
        {"key": "city", "entity": "CONTACT", "label": "City", "type": "TEXT"},
    )
    await post(
        client,
        ws,
        "/properties",
        {
            "key": "plans",
            "entity": "CONTACT",
            "label": "Plans",
            "type": "MULTI_SELECT",
            "options": [{"value": "pro", "label": "Pro"}, {"value": "team", "label": "Team"}],
        },
    )
    await post(
        client,
        ws,
        "/properties",
        {"key": "vip", "entity": "CONTACT", "label": "VIP", "type": "BOOLEAN"},
    )
    bodies = [
        {
            "email": "ada@example.com",
            "name": "Lovelace, Ada",
            "lifecycleStage": "CUSTOMER",
            "properties": {"city": "London", "plans": ["pro", "team"], "vip": True},
        },
        {
            "email": "grace@example.com",
            "name": 'Grace "Amazing" Hopper',
            "lifecycleStage": "CUSTOMER",
            "properties": {"city": "New York\nNY", "vip": False},
        },
        {
            "email": "zoe@example.com",
            "name": "Zoë Ørsted 日本",
            "lifecycleStage": "CUSTOMER",
            "properties": {"city": "São Paulo"},
        },
        {"email": "lead@example.com", "name": "Not a customer", "lifecycleStage": "LEAD"},
    ]
    return [await post(client, ws, "/contacts", body) for body in bodies]


async def export(
    client: httpx.AsyncClient, worker: Worker, ws: Workspace, body: dict[str, Any]
) -> dict[str, Any]:
    """Request an export, run the worker, and read it back completed."""
    response = await client.post(f"{API}/exports", json=body, headers=ws.headers)
    assert response.status_code == 202, response.text
    queued = response.json()["data"]
    assert queued["status"] == "queued"
    assert queued["downloadUrl"] is None
    assert response.headers["Location"] == f"{API}/exports/{queued['id']}"
    await worker.run_once()
    done = await client.get(response.headers["Location"], headers=ws.headers)
    assert done.status_code == 200, done.text
    data: dict[str, Any] = done.json()["data"]
    return data


QUERY = {
    "entity": "contact",
    "where": "lifecycleStage = CUSTOMER",
    "columns": ["email", "NAME", "plans", "properties.city", "vip", "lifecycleStage"],
}


async def test_a_csv_export_is_written_by_the_job_and_downloaded_with_credentials_or_link(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace, settings_dir: Path
) -> None:
    client, worker = api
    await seed(client, workspace)
    done = await export(client, worker, workspace, QUERY)

    expected = (
        "email,name,properties.plans,properties.city,properties.vip,lifecycleStage\r\n"
        'ada@example.com,"Lovelace, Ada",pro; team,London,true,CUSTOMER\r\n'
        'grace@example.com,"Grace ""Amazing"" Hopper",,"New York\nNY",false,CUSTOMER\r\n'
        "zoe@example.com,Zoë Ørsted 日本,,São Paulo,,CUSTOMER\r\n"
    ).encode()
    assert done["status"] == "completed"
    assert done["columns"] == [
        "email",
        "name",
        "properties.plans",
        "properties.city",
        "properties.vip",
        "lifecycleStage",
    ]
    assert (done["rowsWritten"], done["bytesWritten"]) == (3, len(expected))
    assert done["error"] is None
    assert done["requestedBy"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert done["startedAt"] <= done["completedAt"] < done["expiresAt"]

    with_key = await client.get(f"{API}/exports/{done['id']}/download", headers=workspace.headers)
    assert with_key.status_code == 200, with_key.text
    assert with_key.content == expected
    assert with_key.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = with_key.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert disposition.endswith('.csv"')

    link = done["downloadUrl"]
    assert link.startswith(f"{API}/exports/{done['id']}/download?")
    assert set(parse_qs(urlsplit(link).query)) == {"tenantId", "expires", "signature"}
    by_link = await client.get(link)  # no credentials
    assert by_link.status_code == 200, by_link.text
    assert by_link.content == expected

    files = list((settings_dir / "exports" / str(workspace.id)).iterdir())
    assert [f.name for f in files] == [f"{done['id']}.csv"]
    assert oct(files[0].stat().st_mode & 0o777) == oct(0o600)


async def test_a_jsonl_export_has_the_apis_field_names_and_values(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace
) -> None:
    client, worker = api
    contacts = await seed(client, workspace)
    done = await export(
        client,
        worker,
        workspace,
        {
            **QUERY,
            "columns": ["id", "email", "name", "plans", "city", "vip", "createdAt"],
            "format": "JSONL",
        },
    )
    response = await client.get(done["downloadUrl"])
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.content.decode().split("\n")
    assert lines[-1] == ""
    records = [json.loads(line) for line in lines[:-1]]
    values = {
        "ada@example.com": {"plans": ["pro", "team"], "city": "London", "vip": True},
        "grace@example.com": {"plans": None, "city": "New York\nNY", "vip": False},
        "zoe@example.com": {"plans": None, "city": "São Paulo", "vip": None},
    }
    assert records == [
        {
            "id": c["id"],
            "email": c["email"],
            "name": c["name"],
            "createdAt": c["createdAt"],
            "properties": values[c["email"]],
        }
        for c in contacts[:3]
    ]
    assert done["rowsWritten"] == 3


async def test_default_columns_filters_and_other_entities(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace
) -> None:
    client, worker = api
    contacts = await seed(client, workspace)
    await client.delete(f"{API}/contacts/{contacts[1]['id']}", headers=workspace.headers)
    done = await export(
        client,
        worker,
        workspace,
        {
            "entity": "contact",
            "filter": {"logic": "AND", "conditions": [{"field": "vip", "operator": "exists"}]},
        },
    )
    header, *rows = (await client.get(done["downloadUrl"])).text.split("\r\n")
    assert header == (
        "id,email,name,givenName,familyName,phone,externalId,status,lifecycleStage,"
        "ownerUserId,createdAt,updatedAt,lastActivityAt"
    )
    assert rows[-1] == ""
    assert [row.split(",")[1] for row in rows[:-1]] == ["ada@example.com"]  # deleted: out

    company = await post(
        client, workspace, "/companies", {"name": "Acme, Inc.", "domain": "acme.com"}
    )
    await post(client, workspace, "/leads", {"title": "Big deal", "contactId": contacts[0]["id"]})
    companies = await export(
        client, worker, workspace, {"entity": "COMPANY", "columns": ["name", "domain", "id"]}
    )
    text = (await client.get(companies["downloadUrl"])).text
    assert text == f'name,domain,id\r\n"Acme, Inc.",acme.com,{company["id"]}\r\n'
    leads = await export(
        client,
        worker,
        workspace,
        {
            "entity": "lead",
            "where": "contact.email = 'ada@example.com'",
            "columns": ["title", "stage", "status"],
        },
    )
    assert (
        await client.get(leads["downloadUrl"])
    ).text == "title,stage,status\r\nBig deal,New,open\r\n"


async def test_a_link_is_refused_when_tampered_with_or_for_another_export(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace, other_workspace: Workspace
) -> None:
    client, worker = api
    await seed(client, workspace)
    first = await export(client, worker, workspace, QUERY)
    second = await export(client, worker, workspace, QUERY)
    path, query = first["downloadUrl"].split("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}

    def link(**changed: str) -> str:
        return f"{path}?{urlencode({**params, **changed})}"

    signature = params["signature"]
    tampered = [
        link(signature=signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")),
        link(expires=str(int(params["expires"]) + 3600)),
        link(tenantId=str(other_workspace.id)),
        link(signature=""),
        first["downloadUrl"].replace(first["id"], second["id"]),
        f"{path}?{urlencode({'signature': signature, 'tenantId': params['tenantId']})}",
    ]
    for url in tampered:
        assert_error(await client.get(url), 403, "DOWNLOAD_LINK_INVALID")
    # A signed link for another workspace's id shows nothing of it either.
    assert (
        await client.get(first["downloadUrl"], headers=other_workspace.headers)
    ).status_code == 200


async def test_an_expired_export_is_refused_and_its_file_deleted(
    api: tuple[httpx.AsyncClient, Worker],
    workspace: Workspace,
    database: Database,
    settings_dir: Path,
) -> None:
    client, worker = api
    await seed(client, workspace)
    done = await export(client, worker, workspace, QUERY)
    path = settings_dir / "exports" / str(workspace.id) / f"{done['id']}.csv"
    assert path.exists()
    # Its time is over (as if a day had passed): the link and the file are refused at once.
    past = utcnow().replace(microsecond=0)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Export).values(expires_at=past))
    response = await client.get(f"{API}/exports/{done['id']}", headers=workspace.headers)
    link = response.json()["data"]["downloadUrl"]
    assert_error(await client.get(link), 410, "DOWNLOAD_LINK_EXPIRED")
    assert_error(await client.get(done["downloadUrl"]), 410, "EXPORT_EXPIRED")  # an older link
    url = f"{API}/exports/{done['id']}/download"
    assert_error(await client.get(url, headers=workspace.headers), 410, "EXPORT_EXPIRED")
    assert path.exists()

    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        assert await expire_files(session, worker.settings, utcnow()) == 1
    assert not path.exists()
    after = (await client.get(f"{API}/exports/{done['id']}", headers=workspace.headers)).json()
    assert after["data"]["status"] == "expired"
    assert after["data"]["downloadUrl"] is None
    assert_error(await client.get(url, headers=workspace.headers), 410, "EXPORT_EXPIRED")


async def test_the_periodic_job_deletes_expired_files(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace, database: Database
) -> None:
    client, worker = api
    await seed(client, workspace)
    done = await export(client, worker, workspace, QUERY)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Export).values(expires_at=utcnow()))
    await worker.schedule_periodic(force=True)
    await worker.run_once()
    response = await client.get(f"{API}/exports/{done['id']}", headers=workspace.headers)
    assert response.json()["data"]["status"] == "expired"


async def test_a_failed_export_records_why_and_a_crashed_one_starts_over(
    api: tuple[httpx.AsyncClient, Worker],
    workspace: Workspace,
    database: Database,
    settings_dir: Path,
) -> None:
    client, worker = api
    await seed(client, workspace)
    response = await client.post(f"{API}/exports", json=QUERY, headers=workspace.headers)
    failing = response.json()["data"]["id"]
    folder = settings_dir / "exports" / str(workspace.id)
    (folder / f"{failing}.csv").mkdir(parents=True)  # where the file must go: it cannot
    await worker.run_once()
    failed = (await client.get(f"{API}/exports/{failing}", headers=workspace.headers)).json()[
        "data"
    ]
    assert failed["status"] == "failed"
    assert failed["error"].startswith("IsADirectoryError:")
    url = f"{API}/exports/{failing}/download"
    assert_error(await client.get(url, headers=workspace.headers), 409, "EXPORT_FAILED")

    # A worker that died mid-file: the export is left running with a partial file; the job,
    # claimed again, starts the file over.
    response = await client.post(
        f"{API}/exports", json={**QUERY, "columns": ["email"]}, headers=workspace.headers
    )
    crashed = response.json()["data"]["id"]
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            update(Export)
            .where(Export.id == uuid.UUID(crashed))
            .values(status=ExportStatus.RUNNING, rows_written=2)
        )
    (folder / f"{failing}.csv").rmdir()
    (folder / f"{crashed}.csv.partial").write_bytes(b"email\r\nhalf-written")
    assert_error(
        await client.get(f"{API}/exports/{crashed}/download", headers=workspace.headers),
        409,
        "EXPORT_NOT_READY",
    )
    await worker.run_once()
    done = (await client.get(f"{API}/exports/{crashed}", headers=workspace.headers)).json()["data"]
    assert done["status"] == "completed"
    assert (await client.get(done["downloadUrl"])).text == (
        "email\r\nada@example.com\r\ngrace@example.com\r\nzoe@example.com\r\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == [f"{crashed}.csv"]  # no partial file


async def test_deleting_an_export_removes_its_file(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace, settings_dir: Path
) -> None:
    client, worker = api
    await seed(client, workspace)
    done = await export(client, worker, workspace, QUERY)
    listed = (await client.get(f"{API}/exports", headers=workspace.headers)).json()
    assert [e["id"] for e in listed["data"]] == [done["id"]]
    assert listed["meta"]["total"] == 1
    response = await client.delete(f"{API}/exports/{done['id']}", headers=workspace.headers)
    assert response.status_code == 204
    assert list((settings_dir / "exports" / str(workspace.id)).iterdir()) == []
    assert (
        await client.get(f"{API}/exports/{done['id']}", headers=workspace.headers)
    ).status_code == 404
    assert (await client.get(done["downloadUrl"])).status_code == 404


async def _queued(database: Database) -> tuple[int, int]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        exports = len((await session.execute(select(Export.id))).all())
        jobs = len((await session.execute(select(Job.id).where(Job.task == "exports.run"))).all())
    return exports, jobs


async def test_refusals_queue_nothing(
    api: tuple[httpx.AsyncClient, Worker],
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    client, worker = api
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        tenant = await session.get(Tenant, workspace.id)
        assert tenant is not None
        tenant.settings = {**tenant.settings, "rateLimits": {"import_export": "100/minute"}}
    await seed(client, workspace)
    reader = await add_key(database, workspace, ["crm:read"])
    importer = await add_key(database, workspace, ["crm:import"])
    before = await snapshot(database)
    cases: list[tuple[dict[str, Any], dict[str, str], int, str, str | None]] = [
        (
            {**QUERY, "columns": ["email", "nope"]},
            workspace.headers,
            422,
            "VALIDATION_FAILED",
            "columns[1]",
        ),
        (
            {**QUERY, "columns": ["email", "tag"]},
            workspace.headers,
            422,
            "VALIDATION_FAILED",
            "columns[1]",
        ),
        (
            {**QUERY, "columns": ["email", "EMAIL"]},
            workspace.headers,
            422,
            "VALIDATION_FAILED",
            "columns[1]",
        ),
        ({**QUERY, "columns": []}, workspace.headers, 422, "VALIDATION_FAILED", "columns"),
        ({**QUERY, "where": "lifecycleStage = "}, workspace.headers, 400, "INVALID_QUERY", "where"),
        ({**QUERY, "where": "shoeSize > 3"}, workspace.headers, 400, "INVALID_QUERY", None),
        (
            {**QUERY, "filter": {"field": "email", "operator": "nope"}, "where": None},
            workspace.headers,
            400,
            "INVALID_QUERY",
            None,
        ),
        ({**QUERY, "entity": "deal"}, workspace.headers, 422, "VALIDATION_FAILED", None),
        ({**QUERY, "format": "xlsx"}, workspace.headers, 422, "VALIDATION_FAILED", None),
        (QUERY, reader, 403, "FORBIDDEN", None),
        (QUERY, importer, 403, "FORBIDDEN", None),
    ]
    for body, headers, status, code, field in cases:
        response = await client.post(f"{API}/exports", json=body, headers=headers)
        error = assert_error(response, status, code)
        if field is not None:
            assert field in [d["field"] for d in error["details"]], error
    assert await snapshot(database) == before

    done = await export(client, worker, workspace, QUERY)
    for method, path in (
        ("GET", f"/exports/{done['id']}"),
        ("GET", f"/exports/{done['id']}/download"),
        ("DELETE", f"/exports/{done['id']}"),
    ):
        response = await client.request(method, f"{API}{path}", headers=other_workspace.headers)
        assert_error(response, 404, "NOT_FOUND")
        assert done["id"] not in response.text
    listed = await client.get(f"{API}/exports", headers=other_workspace.headers)
    assert listed.json()["data"] == []
    assert await _queued(database) == (1, 1)


async def test_requests_are_limited_to_five_a_minute(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace, database: Database
) -> None:
    client, _worker = api
    for _ in range(5):
        response = await client.post(
            f"{API}/exports", json={"entity": "contact"}, headers=workspace.headers
        )
        assert response.status_code == 202
        assert response.headers["X-RateLimit-Limit"] == "5"
    refused = await client.post(
        f"{API}/exports", json={"entity": "contact"}, headers=workspace.headers
    )
    assert_error(refused, 429, "RATE_LIMITED")
    assert "import_export" in refused.json()["error"]["message"]
    assert await _queued(database) == (5, 5)
    # Reading exports counts as reading.
    assert (await client.get(f"{API}/exports", headers=workspace.headers)).status_code == 200


async def test_csv_values_the_database_formats_read_as_python_wrote_them(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace
) -> None:
    """The database writes each CSV field (and on PostgreSQL the whole file): numbers as
    Python's repr of what the JSON holds, times with `Z` (microseconds only when there are),
    booleans, empty and missing values, quoting, and a lone column's empty value (`""`)."""
    client, worker = api
    await post(
        client,
        workspace,
        "/properties",
        {"key": "score", "entity": "CONTACT", "label": "Score", "type": "NUMBER"},
    )
    await post(
        client,
        workspace,
        "/properties",
        {"key": "note", "entity": "CONTACT", "label": "Note", "type": "TEXTAREA"},
    )
    await post(
        client,
        workspace,
        "/properties",
        {"key": "seen", "entity": "CONTACT", "label": "Seen", "type": "DATETIME"},
    )
    bodies: list[dict[str, Any]] = [
        {"email": "a@example.com", "properties": {"score": 0.00001, "note": "one, two"}},
        {"email": "b@example.com", "properties": {"score": 100.0, "note": 'say "hi"\r\nbye'}},
        {"email": "c@example.com", "properties": {"score": 0.30000000000000004}},
        {"email": "d@example.com", "properties": {"score": 12, "seen": "2024-05-01T10:00:00Z"}},
        {"email": "e@example.com", "properties": {"score": -0.5, "note": "x\ny"}},
        {"email": "f@example.com", "name": "Zoë $1 'x' \\"},
    ]
    contacts = [await post(client, workspace, "/contacts", body) for body in bodies]
    done = await export(
        client,
        worker,
        workspace,
        {"entity": "contact", "columns": ["email", "score", "note", "seen", "createdAt", "id"]},
    )
    text = (await client.get(done["downloadUrl"])).content.decode()
    created = [c["createdAt"] for c in contacts]
    assert all(moment.endswith("Z") for moment in created)
    ids = [c["id"] for c in contacts]
    assert text == (
        "email,properties.score,properties.note,properties.seen,createdAt,id\r\n"
        f'a@example.com,1e-05,"one, two",,{created[0]},{ids[0]}\r\n'
        f'b@example.com,100.0,"say ""hi""\r\nbye",,{created[1]},{ids[1]}\r\n'
        f"c@example.com,0.30000000000000004,,,{created[2]},{ids[2]}\r\n"
        f"d@example.com,12,,2024-05-01T10:00:00Z,{created[3]},{ids[3]}\r\n"
        f'e@example.com,-0.5,"x\ny",,{created[4]},{ids[4]}\r\n'
        f"f@example.com,,,,{created[5]},{ids[5]}\r\n"
    )
    assert done["rowsWritten"] == 6

    # The query's values are written into PostgreSQL's COPY statement as literals: `$1`, a
    # quote and a backslash in one stay what they are.
    condition = {"field": "name", "operator": "contains", "value": "$1 'x' \\"}
    named = await export(
        client,
        worker,
        workspace,
        {
            "entity": "contact",
            "filter": {"logic": "AND", "conditions": [condition]},
            "columns": ["email", "name"],
        },
    )
    assert (await client.get(named["downloadUrl"])).text == (
        "email,name\r\nf@example.com,Zoë $1 'x' \\\r\n"
    )

    lone = await export(client, worker, workspace, {"entity": "contact", "columns": ["note"]})
    assert (await client.get(lone["downloadUrl"])).content.decode() == (
        'properties.note\r\n"one, two"\r\n"say ""hi""\r\nbye"\r\n""\r\n""\r\n"x\ny"\r\n""\r\n'
    )

    await post(client, workspace, "/leads", {"title": "Round", "value": "1000", "currency": "USD"})
    await post(client, workspace, "/leads", {"title": "Odd", "value": "1234.56", "currency": "USD"})
    leads = await export(
        client, worker, workspace, {"entity": "lead", "columns": ["title", "value", "currency"]}
    )
    lines = (await client.get(leads["downloadUrl"])).text.split("\r\n")
    assert sorted(lines[1:-1]) == ["Odd,1234.56,USD", "Round,1000.0,USD"]


def test_copys_row_ends_become_crlf_outside_quotes_whatever_the_chunks() -> None:
    """COPY's chunks end anywhere, inside a quoted value too."""
    copied = b'a,"x\ny ""q"" ,\n"\nb,\n"",c\n'
    expected = b'a,"x\ny ""q"" ,\n"\r\nb,\r\n"",c\r\n'
    for size in range(1, len(copied) + 1):
        ends = _LineEnds()
        out, rows = b"", 0
        for start in range(0, len(copied), size):
            data, ended = ends(copied[start : start + size])
            out, rows = out + data, rows + ended
        assert (out, rows) == (expected, 3), size
