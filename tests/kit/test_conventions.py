"""Conventions every endpoint shares: request ids, the error envelope, body limits, malformed
input, health probes, the OpenAPI document and timestamps."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from rapport.app import create_app
from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, assert_error, make_settings, snapshot

GENERATED_ID = re.compile(r"^req_[A-Za-z0-9]+$")
ONE_MIB = 1_048_576


async def contact_count(client: httpx.AsyncClient, workspace: Workspace) -> int:
    response = await client.get("/api/v1/contacts", headers=workspace.headers)
    assert response.status_code == 200
    return int(response.json()["meta"]["total"])


@pytest.fixture
async def small_limit_client(
    app: FastAPI, database: Database, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app refusing bodies over 200 bytes (`app` is requested for cleanup)."""
    small = create_app(make_settings(tmp_path, max_body_bytes=200), database=database)
    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# --- X-Request-Id ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/contacts", "/no/such/route"])
async def test_every_response_carries_a_generated_request_id(
    client: httpx.AsyncClient, path: str
) -> None:
    first = await client.get(path)
    second = await client.get(path)
    assert GENERATED_ID.match(first.headers["x-request-id"])
    assert GENERATED_ID.match(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_sane_caller_request_id_is_echoed(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    ok = await client.get(
        "/api/v1/contacts", headers={**workspace.headers, "X-Request-Id": "trace-42.a:b_c"}
    )
    assert ok.status_code == 200
    assert ok.headers["x-request-id"] == "trace-42.a:b_c"

    refused = await client.get("/api/v1/contacts", headers={"X-Request-Id": "trace-43"})
    error = assert_error(refused, 401, "UNAUTHENTICATED")
    assert error["requestId"] == "trace-43"


@pytest.mark.parametrize(
    "given",
    ["x" * 300, "has spaces in it", "semi;colon", "<script>"],
    ids=["too-long", "spaces", "semicolon", "markup"],
)
async def test_an_insane_caller_request_id_is_replaced(
    client: httpx.AsyncClient, given: str
) -> None:
    response = await client.get("/api/v1/contacts", headers={"X-Request-Id": given})
    assert response.headers["x-request-id"] != given
    assert GENERATED_ID.match(response.headers["x-request-id"])
    assert response.json()["error"]["requestId"] == response.headers["x-request-id"]


# --- The error envelope ------------------------------------------------------------------------


async def test_errors_of_every_kind_use_the_envelope(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)
    cases: list[tuple[httpx.Response, int, str]] = [
        (
            await client.get("/api/v1/contacts", params={"take": "abc"}, headers=workspace.headers),
            400,
            "INVALID_REQUEST",
        ),
        (await client.get("/api/v1/contacts"), 401, "UNAUTHENTICATED"),
        (
            await client.post("/api/v1/contacts", json={"email": "a@example.com"}, headers=reader),
            403,
            "FORBIDDEN",
        ),
        (
            await client.get(f"/api/v1/contacts/{uuid.uuid4()}", headers=workspace.headers),
            404,
            "NOT_FOUND",
        ),
        (
            await client.put("/api/v1/contacts", headers=workspace.headers),
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            await client.post(
                "/api/v1/contacts",
                content=b'{"name": "' + b"x" * (ONE_MIB + 10) + b'"}',
                headers={**workspace.headers, "Content-Type": "application/json"},
            ),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            await client.post(
                "/api/v1/contacts",
                json={"email": "a@example.com", "nope": 1},
                headers=workspace.headers,
            ),
            422,
            "VALIDATION_FAILED",
        ),
    ]
    for response, status, code in cases:
        assert_error(response, status, code)
    assert await snapshot(database) == before


async def test_unknown_route_is_a_404_envelope(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    for path in ("/api/v1/no-such-thing", "/nowhere", "/api/v2/contacts"):
        response = await client.get(path, headers=workspace.headers)
        assert_error(response, 404, "NOT_FOUND")


async def test_wrong_method_is_a_405_envelope(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.delete("/api/v1/workspace", headers=workspace.headers)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "DELETE" not in response.headers["allow"]
    assert await snapshot(database) == before


async def test_405_allow_lists_every_method_of_the_path(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    """RFC 9110: Allow names all methods the resource supports (GET and PATCH here)."""
    response = await client.delete("/api/v1/workspace", headers=workspace.headers)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/companies/search", "GET"),
        ("/api/v1/contacts/search", "GET"),
        ("/api/v1/webhooks/event-types", "GET"),
        ("/api/v1/contacts/resolve", "POST"),
    ],
)
async def test_a_literal_path_is_not_shadowed_by_a_parameter(
    client: httpx.AsyncClient, workspace: Workspace, path: str, allowed: str
) -> None:
    """`/companies/search` is its own resource: `/companies/{ref}`'s methods are not its."""
    response = await client.options(path, headers=workspace.headers)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == allowed


async def test_a_trailing_slash_is_not_redirected(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    for method in ("GET", "PATCH", "POST"):
        response = await client.request(
            method, "/api/v1/tasks/", json={"title": "x"}, headers=workspace.headers
        )
        assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


# --- Body size ---------------------------------------------------------------------------------


def _big_contact(size: int) -> bytes:
    """A valid contact body of at least `size` bytes (stored if the limit were not enforced):
    whitespace pads it, since no record may hold that much (the record limits)."""
    return b'{"email": "big@example.com"' + b" " * size + b"}"


async def test_body_over_one_mib_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.post(
        "/api/v1/contacts",
        content=_big_contact(ONE_MIB),
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert await snapshot(database) == before


async def test_body_just_under_one_mib_is_accepted(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    body = _big_contact(ONE_MIB - 200)
    assert len(body) <= ONE_MIB
    response = await client.post(
        "/api/v1/contacts",
        content=body,
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text[:500]
    assert await contact_count(client, workspace) == 1


async def test_custom_body_limit_is_enforced(
    small_limit_client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    small = orjson.dumps({"email": "ok@example.com"})
    big = _big_contact(300)
    before = await snapshot(database)
    refused = await small_limit_client.post(
        "/api/v1/contacts",
        content=big,
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    error = assert_error(refused, 413, "PAYLOAD_TOO_LARGE")
    assert "200" in error["message"]
    assert await snapshot(database) == before

    accepted = await small_limit_client.post(
        "/api/v1/contacts",
        content=small,
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "with-idempotency-key"])
async def test_streamed_body_without_length_is_cut_at_the_limit(
    small_limit_client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    idempotent: bool,
) -> None:
    body = _big_contact(1000)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64):
            yield body[start : start + 64]

    headers = {**workspace.headers, "Content-Type": "application/json"}
    if idempotent:
        headers["Idempotency-Key"] = "stream-1"
    before = await snapshot(database)
    request = small_limit_client.build_request(
        "POST", "/api/v1/contacts", content=chunks(), headers=headers
    )
    assert "content-length" not in request.headers
    response = await small_limit_client.send(request)
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert await snapshot(database) == before


# --- Malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"email": "a@example.com"', b"not json at all", b'{"email": }', b"\xff\xfe"],
    ids=["truncated", "text", "bad-value", "not-utf8"],
)
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, content: bytes
) -> None:
    before = await snapshot(database)
    response = await client.post(
        "/api/v1/contacts",
        content=content,
        headers={**workspace.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "INVALID_REQUEST")
    assert await snapshot(database) == before


async def test_unknown_body_field_is_422_naming_the_field(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.post(
        "/api/v1/contacts",
        json={"email": "a@example.com", "nickname": "Al"},
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "nickname"
    assert await snapshot(database) == before


async def test_wrongly_typed_body_field_is_422_naming_the_field(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await client.post(
        "/api/v1/contacts",
        json={"email": "a@example.com", "lifecycleStage": "NOT_A_STAGE"},
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert [d["field"] for d in error["details"]] == ["lifecycleStage"]
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("params", "field"),
    [({"take": "abc"}, "take"), ({"skip": "-1"}, "skip"), ({"take": "1000"}, "take")],
    ids=["take-not-a-number", "negative-skip", "take-too-large"],
)
async def test_bad_query_value_is_400_naming_the_parameter(
    client: httpx.AsyncClient, workspace: Workspace, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/contacts", params=params, headers=workspace.headers)
    error = assert_error(response, 400, "INVALID_REQUEST")
    assert [d["field"] for d in error["details"]] == [field]


async def test_bad_uuid_in_path_is_400_invalid_id(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    for method in ("GET", "DELETE"):
        response = await client.request(
            method, "/api/v1/api-keys/not-a-uuid", headers=workspace.headers
        )
        error = assert_error(response, 400, "INVALID_ID")
        assert len(error["details"]) == 1
    assert await snapshot(database) == before


# --- Health ------------------------------------------------------------------------------------


async def test_healthz_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_readyz_names_the_database(client: httpx.AsyncClient, database: Database) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": database.dialect}
    assert database.dialect in ("sqlite", "postgresql")


# --- OpenAPI and docs --------------------------------------------------------------------------


async def _openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _api_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in operations.items()
    ]


async def test_openapi_lists_every_route(app: FastAPI, client: httpx.AsyncClient) -> None:
    spec = await _openapi(client)
    routes = {
        (route.path, method.lower())
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert routes
    assert documented == routes


async def test_every_api_operation_documents_errors_and_a_summary(
    client: httpx.AsyncClient,
) -> None:
    spec = await _openapi(client)
    operations = _api_operations(spec)
    assert operations
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        expected = {"400", "500"}
        if operation.get("security"):
            expected |= {"401", "403", "429"}
        if method in ("post", "patch", "put"):
            expected |= {"413", "422"}
        else:
            assert "422" not in operation["responses"], f"{where}: query errors are 400"
        if "{" in path:
            expected.add("404")
        missing = expected - set(operation["responses"])
        assert not missing, f"{where} lacks {sorted(missing)}"
        for status, response in operation["responses"].items():
            assert "X-Request-Id" in response.get("headers", {}), f"{where} {status}"


async def test_documented_errors_use_the_error_envelope(client: httpx.AsyncClient) -> None:
    spec = await _openapi(client)
    assert "ErrorEnvelope" in spec["components"]["schemas"]
    missing = []
    for path, method, operation in _api_operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith("4"):
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != "#/components/schemas/ErrorEnvelope":
                missing.append(f"{method.upper()} {path} {status}")
    assert missing == []


async def test_docs_page_is_html(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    assert "swagger" in response.text.lower()


# --- Timestamps --------------------------------------------------------------------------------


def _assert_utc_z(value: str) -> None:
    assert value.endswith("Z"), value
    assert datetime.fromisoformat(value).utcoffset() == timedelta(0)


async def test_timestamps_are_utc_with_z(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await client.post(
        "/api/v1/contacts", json={"email": "t@example.com"}, headers=workspace.headers
    )
    assert created.status_code == 201
    contact = created.json()["data"]
    _assert_utc_z(contact["createdAt"])
    _assert_utc_z(contact["updatedAt"])

    read = await client.get(f"/api/v1/contacts/{contact['id']}", headers=workspace.headers)
    assert read.json()["data"]["createdAt"] == contact["createdAt"]
    listed = await client.get("/api/v1/contacts", headers=workspace.headers)
    _assert_utc_z(listed.json()["data"][0]["updatedAt"])

    keys = await client.get("/api/v1/api-keys", headers=workspace.headers)
    assert keys.status_code == 200
    for key in keys.json()["data"]:
        _assert_utc_z(key["createdAt"])
        if key["lastUsedAt"] is not None:
            _assert_utc_z(key["lastUsedAt"])

    workspace_body = await client.get("/api/v1/workspace", headers=workspace.headers)
    _assert_utc_z(workspace_body.json()["data"]["createdAt"])


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/api/v1/webhooks/event-types", "GET"),
        ("DELETE", "/api/v1/webhooks/event-types", "GET"),
        ("DELETE", "/api/v1/companies/search", "GET"),
        ("PATCH", "/api/v1/companies/search", "GET"),
        ("DELETE", "/api/v1/contacts/search", "GET"),
        ("GET", "/api/v1/contacts/resolve", "POST"),
    ],
)
async def test_a_literal_path_never_falls_through_to_a_parameter_route(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    method: str,
    path: str,
    allowed: str,
) -> None:
    before = await snapshot(database)
    response = await client.request(method, path, json={}, headers=workspace.headers)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == allowed
    assert await snapshot(database) == before


@pytest.mark.parametrize("value", ["0.5", "1700000000", "-3"])
async def test_a_number_is_not_a_date_time(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, value: str
) -> None:
    before = await snapshot(database)
    listed = await client.get("/api/v1/contacts", params={"to": value}, headers=workspace.headers)
    assert assert_error(listed, 400, "INVALID_REQUEST")["details"][0]["field"] == "to"
    task = await client.post(
        "/api/v1/tasks", json={"title": "x", "dueAt": float(value)}, headers=workspace.headers
    )
    assert assert_error(task, 422, "VALIDATION_FAILED")["details"][0]["field"] == "dueAt"
    assert await snapshot(database) == before


async def test_the_page_size_limit_is_in_the_schema(app: FastAPI) -> None:
    parameters = app.openapi()["paths"]["/api/v1/contacts"]["get"]["parameters"]
    limits = {
        p["name"]: max(o.get("maximum", 0) for o in p["schema"].get("anyOf", [p["schema"]]))
        for p in parameters
    }
    assert limits["take"] == limits["limit"] == limits["pageSize"] == 100
