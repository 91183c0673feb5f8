"""CSV imports through the API and the real worker, on both databases: preview and suggested
mapping, encodings and separators, dedup modes, tags and lists, the error report, resuming an
interrupted import without duplicates, and refusals that store nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from rapport.app import create_app
from rapport.domains import TASK_MODULES
from rapport.imports import service as import_service
from rapport.kit.db import Database
from rapport.worker.loop import Worker
from tests.helpers import EVERY_WORKSPACE, Workspace, add_key, assert_error, make_settings, snapshot

API = "/api/v1"


@pytest.fixture
async def api(
    app: FastAPI, database: Database, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Worker]]:
    """A client and a worker sharing one data directory (where uploads are kept)."""
    settings = make_settings(tmp_path / "data")
    own = create_app(settings, database=database)
    worker = Worker(database, task_modules=TASK_MODULES, settings=settings)
    transport = httpx.ASGITransport(app=own)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, worker


async def upload(
    http: httpx.AsyncClient,
    ws: Workspace,
    content: bytes,
    options: dict[str, Any] | None = None,
    path: str = "/imports",
) -> httpx.Response:
    files = {"file": ("people.csv", content, "text/csv")}
    data = {"options": json.dumps(options)} if options is not None else {}
    return await http.post(f"{API}{path}", files=files, data=data, headers=ws.headers)


async def run(worker: Worker) -> None:
    for _ in range(20):
        if await worker.run_once() == 0:
            return
    raise AssertionError("jobs kept coming")


async def imported(http: httpx.AsyncClient, ws: Workspace, import_id: str) -> dict[str, Any]:
    response = await http.get(f"{API}/imports/{import_id}", headers=ws.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def contacts(http: httpx.AsyncClient, ws: Workspace) -> dict[str, dict[str, Any]]:
    response = await http.get(f"{API}/contacts", params={"limit": 100}, headers=ws.headers)
    return {c["email"] or c["name"]: c for c in response.json()["data"]}


async def report(http: httpx.AsyncClient, ws: Workspace, import_id: str) -> list[list[str]]:
    response = await http.get(f"{API}/imports/{import_id}/errors", headers=ws.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    import csv
    import io

    return list(csv.reader(io.StringIO(response.text)))


async def define(http: httpx.AsyncClient, ws: Workspace, key: str, kind: str, **extra: Any) -> None:
    body = {"entity": "CONTACT", "key": key, "label": key.title(), "type": kind, **extra}
    response = await http.post(f"{API}/properties", json=body, headers=ws.headers)
    assert response.status_code == 201, response.text


async def test_preview_reads_the_layout_and_suggests_a_mapping(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace, database: Database
) -> None:
    http, _ = api
    await define(http, workspace, "seats", "NUMBER")
    before = await snapshot(database)
    content = (
        "\ufeffE-mail Address;First Name;Surname;Seats;Notes\r\n"
        "ada@example.com;Ada;Lovelace;12;x\r\n"
    )
    response = await upload(http, workspace, content.encode(), path="/imports/preview")

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["encoding"] == "utf-8-sig"
    assert data["delimiter"] == ";"
    assert data["header"] == ["E-mail Address", "First Name", "Surname", "Seats", "Notes"]
    assert data["rows"] == [["ada@example.com", "Ada", "Lovelace", "12", "x"]]
    assert data["suggestedMapping"] == {
        "E-mail Address": "email",
        "First Name": "givenName",
        "Surname": "familyName",
        "Seats": "properties.seats",
    }
    assert {
        "name": "properties.seats",
        "label": "Seats",
        "type": "NUMBER",
        "required": False,
    } in data["fields"]
    assert await snapshot(database) == before


async def test_an_import_creates_updates_and_reports_each_row(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace
) -> None:
    http, worker = api
    await define(http, workspace, "seats", "NUMBER")
    await define(http, workspace, "trial", "BOOLEAN")
    await define(
        http,
        workspace,
        "plans",
        "MULTI_SELECT",
        options=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
    )
    existing = await http.post(
        f"{API}/contacts",
        json={"email": "old@example.com", "name": "Old"},
        headers=workspace.headers,
    )
    tag = await http.post(
        f"{API}/tags", json={"key": "imported", "name": "Imported"}, headers=workspace.headers
    )
    assert tag.status_code == 201, tag.text
    listed = await http.post(
        f"{API}/lists",
        json={"name": "From CSV", "entityType": "CONTACT"},
        headers=workspace.headers,
    )
    assert listed.status_code == 201, listed.text
    rows = [
        "email,name,seats,trial,plans,note",
        'ada@example.com,"Lovelace, Ada",12,yes,a;b,"line one',
        'line two"',
        "old@example.com,Old Renamed,3,no,,",
        "bad-email,Broken,1,yes,,",
        "grace@example.com,Grace,many,yes,,",
        "ADA@example.com,Ada again,1,no,,",
        "too,many,fields,here,x,y,z",
        "",
        "zoe@example.com,Zoë,,,,",
    ]
    options = {
        "mapping": {
            "email": "email",
            "name": "name",
            "seats": "properties.seats",
            "trial": "properties.trial",
            "plans": "properties.plans",
        },
        "dedup": "update",
        "tags": ["imported"],
        "listId": listed.json()["data"]["id"],
    }
    response = await upload(http, workspace, "\r\n".join(rows).encode(), options)
    assert response.status_code == 202, response.text
    created = response.json()["data"]
    assert created["status"] == "queued"
    assert created["rowsTotal"] == 7
    assert response.headers["Location"] == f"/api/v1/imports/{created['id']}"

    await run(worker)
    done = await imported(http, workspace, created["id"])
    assert done["status"] == "completed"
    assert (
        done["rowsDone"],
        done["created"],
        done["updated"],
        done["skipped"],
        done["failed"],
    ) == (7, 2, 1, 0, 4)
    people = await contacts(http, workspace)
    ada = people["ada@example.com"]
    assert ada["name"] == "Lovelace, Ada"
    assert ada["properties"] == {"seats": 12, "trial": True, "plans": ["a", "b"]}
    assert people["old@example.com"]["id"] == existing.json()["data"]["id"]
    assert people["old@example.com"]["name"] == "Old Renamed"
    assert people["zoe@example.com"]["name"] == "Zoë"
    assert "grace@example.com" not in people
    lines = await report(http, workspace, created["id"])
    assert lines[0] == ["row", "column", "reason"]
    by_row = {int(line[0]): line for line in lines[1:]}
    assert set(by_row) == {4, 5, 6, 7}
    assert by_row[4][1] == "email"
    assert by_row[5][1] == "seats"
    assert "row 2 has the same email" in by_row[6][2]
    assert "7 fields" in by_row[7][2]
    tagged = await http.get(
        f"{API}/contacts", params={"tag": "imported"}, headers=workspace.headers
    )
    assert len(tagged.json()["data"]) == 3
    members = await http.get(
        f"{API}/lists/{listed.json()['data']['id']}", headers=workspace.headers
    )
    assert members.json()["data"]["memberCount"] == 3
    events = await http.get(
        f"{API}/events", params={"type": "import.completed"}, headers=workspace.headers
    )
    assert events.json()["data"][0]["data"]["created"] == 2


async def test_dedup_skip_and_create_new(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace
) -> None:
    http, worker = api
    await http.post(
        f"{API}/contacts",
        json={"email": "held@example.com", "name": "Held"},
        headers=workspace.headers,
    )
    content = b"email,name\nheld@example.com,Changed\nnew@example.com,New\n"
    skip = await upload(http, workspace, content, {"dedup": "skip"})
    await run(worker)
    done = await imported(http, workspace, skip.json()["data"]["id"])
    assert (done["created"], done["skipped"], done["failed"]) == (1, 1, 0)
    assert (await contacts(http, workspace))["held@example.com"]["name"] == "Held"

    again = await upload(http, workspace, content, {"dedup": "create_new"})
    await run(worker)
    done = await imported(http, workspace, again.json()["data"]["id"])
    assert (done["created"], done["skipped"], done["failed"]) == (0, 0, 2)
    lines = await report(http, workspace, again.json()["data"]["id"])
    assert [line[1] for line in lines[1:]] == ["email", "email"]


async def test_latin1_tab_separated_file_when_declared(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace
) -> None:
    http, worker = api
    content = "email\tname\nrene@example.com\tRené Müller\n".encode("latin-1")
    refused = await upload(http, workspace, content)
    error = assert_error(refused, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "file"
    accepted = await upload(http, workspace, content, {"encoding": "latin-1"})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["data"]["delimiter"] == "\t"
    await run(worker)
    assert (await contacts(http, workspace))["rene@example.com"]["name"] == "René Müller"


async def test_an_interrupted_import_resumes_without_duplicates(
    api: tuple[httpx.AsyncClient, Worker],
    workspace: Workspace,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http, worker = api
    monkeypatch.setattr(import_service, "CHUNK_ROWS", 2)
    content = "email\n" + "".join(f"p{i}@example.com\n" for i in range(5))
    response = await upload(http, workspace, content.encode(), {"dedup": "create_new"})
    import_id = response.json()["data"]["id"]
    calls = 0
    original = import_service.ImportRun._chunk

    async def dies_on_the_second_chunk(self: Any, record: Any, chunk: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the worker died")
        return await original(self, record, chunk)

    monkeypatch.setattr(import_service.ImportRun, "_chunk", dies_on_the_second_chunk)
    await worker.run_once()
    halfway = await imported(http, workspace, import_id)
    assert (halfway["status"], halfway["rowsDone"], halfway["created"]) == ("running", 2, 2)

    monkeypatch.setattr(import_service.ImportRun, "_chunk", original)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        from rapport.models import Job

        await session.execute(update(Job).values(run_at=Job.created_at))
    await run(worker)
    done = await imported(http, workspace, import_id)
    assert (done["status"], done["rowsDone"], done["created"], done["failed"]) == (
        "completed",
        5,
        5,
        0,
    )
    assert len(await contacts(http, workspace)) == 5


async def test_refused_imports_store_nothing(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace, database: Database, tmp_path: Path
) -> None:
    http, _ = api
    await define(http, workspace, "region", "TEXT", isRequired=True)
    roomy = {"settings": {"rateLimits": {"import_export": "1000/minute"}}}
    assert (await http.patch(f"{API}/workspace", json=roomy, headers=workspace.headers)).is_success
    reader = await add_key(database, workspace, ["crm:read", "crm:write"])
    good = b"email,region\na@example.com,EU\n"
    before = await snapshot(database)
    cases = [
        (await upload(http, workspace, b""), "file"),
        (await upload(http, workspace, b"email,email\na,b\n"), "file"),
        (await upload(http, workspace, good, {"mapping": {"nope": "email"}}), "mapping.nope"),
        (
            await upload(
                http,
                workspace,
                good,
                {"mapping": {"email": "colour", "region": "properties.region"}},
            ),
            "mapping.email",
        ),
        (await upload(http, workspace, good, {"mapping": {"email": "email"}}), "mapping"),
        (
            await upload(http, workspace, good, {"mapping": {"region": "properties.region"}}),
            "mapping",
        ),
        (await upload(http, workspace, good, {"tags": ["no-such-tag"]}), "tags[0]"),
        (
            await upload(http, workspace, good, {"listId": "01a22dd4-2341-7808-9757-ff6843bf5dae"}),
            "listId",
        ),
        (await upload(http, workspace, good, {"dedup": "sometimes"}), "options.dedup"),
        (await upload(http, workspace, good, {"delimiter": "x"}), "delimiter"),
        (await upload(http, workspace, good, {"encoding": "klingon"}), "encoding"),
    ]
    for response, field in cases:
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert field in {d["field"] for d in error["details"]}, (field, error)
    not_json = await http.post(
        f"{API}/imports",
        files={"file": ("a.csv", good)},
        data={"options": "{"},
        headers=workspace.headers,
    )
    assert_error(not_json, 422, "VALIDATION_FAILED")
    no_scope = await upload(http, Workspace(workspace.id, "", workspace.key_id, reader), good)
    assert_error(no_scope, 403, "FORBIDDEN")
    assert await snapshot(database) == before
    kept = (
        list((tmp_path / "data" / "imports").rglob("*.csv"))
        if (tmp_path / "data" / "imports").exists()
        else []
    )
    assert kept == []


async def test_an_import_is_seen_by_its_workspace_only(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace, other_workspace: Workspace
) -> None:
    http, worker = api
    response = await upload(http, workspace, b"email\na@example.com\nbad\n")
    import_id = response.json()["data"]["id"]
    await run(worker)
    assert_error(
        await http.get(f"{API}/imports/{import_id}", headers=other_workspace.headers),
        404,
        "NOT_FOUND",
    )
    assert_error(
        await http.get(f"{API}/imports/{import_id}/errors", headers=other_workspace.headers),
        404,
        "NOT_FOUND",
    )
    listed = await http.get(f"{API}/imports", headers=other_workspace.headers)
    assert listed.json()["data"] == []
    mine = await http.get(f"{API}/imports", headers=workspace.headers)
    assert [i["id"] for i in mine.json()["data"]] == [import_id]


async def test_an_idempotency_key_replays_an_upload(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace
) -> None:
    http, _ = api
    headers = {**workspace.headers, "Idempotency-Key": "upload-1"}
    files = {"file": ("people.csv", b"email\na@example.com\n", "text/csv")}
    first = await http.post(f"{API}/imports", files=files, headers=headers)
    again = await http.post(f"{API}/imports", files=files, headers=headers)
    assert first.status_code == again.status_code == 202, first.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = {"file": ("people.csv", b"email\nb@example.com\n", "text/csv")}
    reused = await http.post(f"{API}/imports", files=other, headers=headers)
    assert_error(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    listed = await http.get(f"{API}/imports", headers=workspace.headers)
    assert len(listed.json()["data"]) == 1


async def test_an_email_status_column_records_consent(
    api: tuple[httpx.AsyncClient, Worker], workspace: Workspace
) -> None:
    http, worker = api
    content = (
        b"email,Newsletter\n"
        b"ada@example.com,yes\n"
        b"bob@example.com,unsubscribed\n"
        b"cy@example.com,\n"
        b"di@example.com,pending\n"
    )
    preview = await upload(http, workspace, content, path="/imports/preview")
    assert preview.json()["data"]["suggestedMapping"]["Newsletter"] == "emailStatus"

    response = await upload(http, workspace, content, {})
    await run(worker)

    done = await imported(http, workspace, response.json()["data"]["id"])
    assert (done["created"], done["failed"]) == (3, 1)
    [_, di] = await report(http, workspace, response.json()["data"]["id"])
    assert di[:2] == ["5", "Newsletter"]
    people = await contacts(http, workspace)
    assert "di@example.com" not in people  # nothing half-written
    for email, status in (
        ("ada@example.com", "subscribed"),
        ("bob@example.com", "unsubscribed"),
        ("cy@example.com", None),
    ):
        consent = await http.get(
            f"{API}/contacts/{people[email]['id']}/subscriptions/email", headers=workspace.headers
        )
        assert consent.json()["data"]["status"] == status, email
        if status:
            assert consent.json()["data"]["source"] == "import people.csv"
