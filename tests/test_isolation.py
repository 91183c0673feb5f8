"""Tenant isolation: every route of the app, called with another workspace's key and this
workspace's ids, answers 403 or 404 and never shows a row of this workspace.

Routes are discovered from the app, so a new route is covered the day it is added; a path
parameter nobody knows how to fill fails the test until a domain's manifest gives a sample of
its records (`rapport/kit/manifest.py`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from rapport.app import API_PREFIX
from rapport.domains import DOMAINS, TASK_MODULES
from rapport.kit.db import Database
from rapport.kit.manifest import Sample
from rapport.models import Tenant
from rapport.worker.loop import Worker
from tests.helpers import EVERY_WORKSPACE, Workspace, custom_client, make_settings, snapshot
from tests.mail.server import Certificate, MailServer, running_mail_server

PUBLIC_PATHS = {"/api/v1/auth/login", "/healthz", "/readyz"}


def _filled(value: Any, made: dict[str, str]) -> Any:
    """A sample's body with `{name}` strings replaced by the records made so far."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return made[value[1:-1]]
    if isinstance(value, dict):
        return {k: _filled(v, made) for k, v in value.items()}
    return value


def _at(document: Any, path: str) -> str:
    for step in path.split("."):
        document = document[int(step)] if isinstance(document, list) else document[step]
    return str(document)


async def _make(
    sample: Sample,
    client: httpx.AsyncClient,
    owner: Workspace,
    database: Database,
    made: dict[str, str],
) -> str:
    """Make one sample record of the owner's through the API; its value for the path."""
    if sample.after_events:
        await Worker(database, task_modules=TASK_MODULES).follow_streams(force=True)
    value = sample.value
    for request in sample.requests:
        response = await client.request(
            request.method,
            API_PREFIX + request.path.format(**made),
            json=_filled(request.body, made),
            files=request.files,
            headers=owner.headers,
        )
        assert response.status_code in (200, 201, 202), f"{sample.parameter}: {response.text}"
        if value is None:
            assert sample.value_at is not None
            value = made[sample.parameter] = _at(response.json(), sample.value_at)
    assert value is not None
    return value


# Path parameter name -> how to make a record of the owner's to point it at, from the domains'
# manifests (in their order: a record before the records that point at it).
SAMPLES: dict[str, Sample] = {s.parameter: s for domain in DOMAINS for s in domain.samples}
# Other spellings of the same record that must be just as invisible.
ALIASES: dict[str, tuple[str, ...]] = {p: s.aliases for p, s in SAMPLES.items() if s.aliases}


@pytest.fixture
def mail_server(smtp_certificate: Certificate) -> Iterator[MailServer]:
    """The SMTP server the mail sample's connection names: saving a connection logs in to its
    server, so this one accepts the sample's login."""
    connection = SAMPLES["connection_id"].requests[0].body
    assert connection is not None
    with running_mail_server(
        smtp_certificate, username=connection["username"], password=connection["password"]
    ) as server:
        yield server


@pytest.fixture
async def client(database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a server that may reach SMTP servers on loopback, such as `mail_server`."""
    async with custom_client(database, tmp_path, allow_private_smtp=True) as http:
        yield http


def _provided(mail_server: MailServer) -> dict[str, str]:
    """What samples name beside the records made before them: the walk's SMTP server."""
    return {"smtp_host": mail_server.host, "smtp_port": str(mail_server.port)}


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
    mail_server: MailServer,
) -> None:
    owner, intruder = workspace, other_workspace
    async with database.transaction(
        platform=EVERY_WORKSPACE
    ) as session:  # the walk makes more writes than a minute's
        tenant = await session.get(Tenant, intruder.id)
        assert tenant is not None
        tenant.settings = {**tenant.settings, "rateLimits": {"write": "100000/minute"}}
    seeded = _provided(mail_server)
    for name, sample in SAMPLES.items():
        seeded[name] = await _make(sample, client, owner, database, seeded)
    records = [seeded[name] for name in SAMPLES]
    secrets = [str(owner.id), *records, *[a for v in ALIASES.values() for a in v]]
    before = await snapshot(database)
    checked = 0

    routes = _routes(app)
    assert set(routes) == _documented_operations(app)
    for method, path in routes:
        params = re.findall(r"{(\w+)}", path)
        missing = [p for p in params if p not in SAMPLES]
        assert not missing, f"{method} {path}: give a manifest a sample for {missing}"
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


async def test_owner_reads_every_sample_on_every_route(
    app: FastAPI,
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    tmp_path: Path,
) -> None:
    """The records the walk above points at are real: their owner reads each of them, in
    every spelling, on every GET route that names them, so the 404s above mean isolation.
    The jobs the samples queued run first (an export's file is written by its job)."""
    made = _provided(mail_server)
    for name, sample in SAMPLES.items():
        made[name] = await _make(sample, client, workspace, database, made)
    settings = make_settings(tmp_path, allow_private_smtp=True)
    await Worker(database, task_modules=TASK_MODULES, settings=settings).run_once()
    read = 0
    for method, path in _routes(app):
        params = re.findall(r"{(\w+)}", path)
        if method != "GET" or not params:
            continue
        for values in [made] + [{**made, p: a} for p in params for a in ALIASES.get(p, ())]:
            response = await client.get(path.format(**values), headers=workspace.headers)
            assert response.status_code == 200, f"{path.format(**values)}: {response.text}"
            read += 1
    assert read >= len(SAMPLES)
