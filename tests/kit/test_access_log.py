"""The access log: one JSON line per request (or per sampled request), written in batches and
never lost at a clean exit."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from rapport.app import create_app
from rapport.kit.db import Database
from rapport.kit.logging import BATCH_BYTES, BatchingHandler, JsonFormatter, utc_timestamp
from tests.helpers import Workspace, custom_client, make_settings
from tests.test_serve import served

AccessLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def access_lines() -> Iterator[AccessLines]:
    """The access lines logged during the test, through the handler and formatter servers
    use."""
    stream = io.BytesIO()
    handler = BatchingHandler(stream, flush_seconds=60)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("rapport.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def lines() -> list[dict[str, Any]]:
        handler.flush()
        return [orjson.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)
    handler.close()


async def test_each_request_gets_a_line_with_its_id_tenant_status_and_duration(
    client: httpx.AsyncClient, workspace: Workspace, access_lines: AccessLines
) -> None:
    created = await client.post(
        "/api/v1/contacts", json={"email": "ada@example.com"}, headers=workspace.headers
    )
    missing = await client.get("/api/v1/nowhere", headers={"X-Request-Id": "trace-42"})

    first, second = access_lines()
    assert first["requestId"] == created.headers["X-Request-Id"]
    assert first["tenantId"] == str(workspace.id)
    assert {k: first[k] for k in ("level", "logger", "msg", "method", "path", "status")} == {
        "level": "info",
        "logger": "rapport.access",
        "msg": "POST /api/v1/contacts 201",
        "method": "POST",
        "path": "/api/v1/contacts",
        "status": 201,
    }
    assert isinstance(first["durationMs"], float)
    assert first["durationMs"] > 0
    assert "sample" not in first
    assert missing.status_code == 404
    assert (second["requestId"], second["status"], second["path"]) == (
        "trace-42",
        404,
        "/api/v1/nowhere",
    )
    assert "tenantId" not in second


async def test_unsampled_requests_get_no_line(
    database: Database, tmp_path: Path, workspace: Workspace, access_lines: AccessLines
) -> None:
    async with custom_client(
        database, tmp_path, access_log_sample=0.0, access_log_slow_seconds=60
    ) as http:
        read = await http.get("/api/v1/contacts", headers=workspace.headers)
        missing = await http.get("/api/v1/nowhere")
    assert (read.status_code, missing.status_code) == (200, 404)
    assert access_lines() == []


async def test_a_fraction_of_requests_is_logged_and_says_so(
    database: Database, tmp_path: Path, access_lines: AccessLines
) -> None:
    async with custom_client(
        database, tmp_path, access_log_sample=0.25, access_log_slow_seconds=60
    ) as http:
        for _ in range(400):
            await http.get("/api/v1/nowhere")
    lines = access_lines()
    # 100 expected; outside 50..150 with a probability below one in a million.
    assert 50 <= len(lines) <= 150
    assert {line["sample"] for line in lines} == {0.25}


async def test_server_errors_and_slow_requests_are_logged_whatever_the_sample(
    database: Database, tmp_path: Path, access_lines: AccessLines
) -> None:
    app = create_app(
        make_settings(tmp_path, access_log_sample=0.0, access_log_slow_seconds=60),
        database=database,
    )
    slow_app = create_app(
        make_settings(tmp_path, access_log_sample=0.0, access_log_slow_seconds=0.05),
        database=database,
    )

    async def fails() -> None:
        raise RuntimeError("boom")

    async def slow() -> dict[str, str]:
        await asyncio.sleep(0.06)
        return {}

    app.add_api_route("/fails", fails)
    slow_app.add_api_route("/slow", slow)
    slow_app.add_api_route("/fast", lambda: {})
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
        ) as http,
        _client(slow_app) as slow_http,
    ):
        failed = await http.get("/fails")
        assert (await slow_http.get("/slow")).status_code == 200
        assert (await slow_http.get("/fast")).status_code == 200

    assert failed.status_code == 500
    lines = access_lines()
    assert [(line["path"], line["status"]) for line in lines] == [("/fails", 500), ("/slow", 200)]
    assert all("sample" not in line for line in lines)
    assert lines[0]["requestId"] == failed.headers["X-Request-Id"]


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def _record(message: str, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("rapport.test", level, __file__, 1, message, (), None)


def test_lines_wait_for_a_full_batch_an_error_or_a_flush() -> None:
    stream = io.BytesIO()
    handler = BatchingHandler(stream, flush_seconds=60)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(_record("one"))
    handler.handle(_record("two"))
    assert stream.getvalue() == b""

    handler.handle(_record("failed", logging.ERROR))
    assert stream.getvalue() == b"one\ntwo\nfailed\n"

    long_line = "x" * (BATCH_BYTES - 5)
    handler.handle(_record("three"))
    handler.handle(_record(long_line))  # would not fit beside "three": "three" goes first
    assert stream.getvalue() == b"one\ntwo\nfailed\nthree\n"

    handler.close()
    assert stream.getvalue() == f"one\ntwo\nfailed\nthree\n{long_line}\n".encode()


def test_lines_are_written_within_the_flush_interval() -> None:
    stream = io.BytesIO()
    handler = BatchingHandler(stream, flush_seconds=0.05)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(_record("soon"))
    for _ in range(100):
        if stream.getvalue():
            break
        time.sleep(0.02)
    handler.close()
    assert stream.getvalue() == b"soon\n"


def test_timestamps_are_iso_utc_to_the_millisecond() -> None:
    assert utc_timestamp(0.0) == "1970-01-01T00:00:00.000+00:00"
    assert utc_timestamp(1_700_000_000.1239) == "2023-11-14T22:13:20.123+00:00"


async def test_a_clean_shutdown_writes_the_lines_still_buffered(tmp_path: Path) -> None:
    env = {"RAPPORT_LOG_LEVEL": "INFO", "RAPPORT_LOG_FLUSH_SECONDS": "600"}
    async with served(tmp_path, **env) as server, httpx.AsyncClient(base_url=server.url) as http:
        request_id = (await http.get("/api/v1/nowhere")).headers["X-Request-Id"]
    # `served` stopped the server (SIGTERM) and waited for it; the line was still buffered
    # then (the interval is ten minutes), unless the batch had filled.
    lines = [orjson.loads(line) for line in server.log.read_text().splitlines() if line[:1] == "{"]
    access = [line for line in lines if line.get("requestId") == request_id]
    assert [(line["logger"], line["status"]) for line in access] == [("rapport.access", 404)]


async def test_the_application_shutdown_writes_the_lines_still_buffered(
    database: Database, tmp_path: Path
) -> None:
    """Whatever the server does after the application's shutdown (uvicorn ends its processes
    by raising SIGTERM again), the lines logged until then are written."""
    stream = io.BytesIO()
    handler = BatchingHandler(stream, flush_seconds=600)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        app = create_app(make_settings(tmp_path), database=database)
        async with app.router.lifespan_context(app):
            logging.getLogger("rapport.test").warning("before shutdown")
            assert stream.getvalue() == b""
        assert b'"msg":"before shutdown"' in stream.getvalue()
    finally:
        root.removeHandler(handler)
        handler.close()
