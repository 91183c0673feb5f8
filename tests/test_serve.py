"""`rapport serve` as deployed: uvicorn on a socket, for what only a served process shows (the
client address it believes, how it treats slow clients, its server processes).

The tests on SQLite use no `database` fixture, so they run once.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from rapport.config import DEFAULT_RATE_LIMITS, Settings
from rapport.kit.db import Database

RAPPORT = Path(sys.executable).parent / "rapport"
READY_SECONDS = 45.0
LOGIN = "/api/v1/auth/login"


@dataclass
class Server:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def served(tmp_path: Path, *args: str, **env: str) -> AsyncIterator[Server]:
    """`rapport serve` on a free port (SQLite in tmp_path unless `env` names a database), once
    /readyz answers 200."""
    server = Server(_free_port(), tmp_path / "serve.log")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    environ.update(
        RAPPORT_DATA_DIR=str(tmp_path),
        RAPPORT_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        RAPPORT_LOG_LEVEL="WARNING",
        NO_COLOR="1",
    )
    environ.update(env)
    with server.log.open("w") as log:
        process = await asyncio.create_subprocess_exec(
            str(RAPPORT),
            "serve",
            "--port",
            str(server.port),
            "--no-demo",
            *args,
            env=environ,
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        await _wait_ready(server, process)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_ready(server: Server, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(base_url=server.url, timeout=2) as http:
        while time.monotonic() < deadline and process.returncode is None:
            with suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(
        f"/readyz did not answer 200 within {READY_SECONDS} s (exit code {process.returncode})"
        f"\n--- log\n{server.log.read_text()}"
    )


async def test_serving_without_the_demo_migrates_the_database(tmp_path: Path) -> None:
    async with served(tmp_path) as server, httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/api/v1/contacts", headers={"Authorization": "Bearer ak_x"})
    assert response.status_code == 401, response.text


FORWARDED = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.1", "203.0.113.1"]


@pytest.mark.parametrize(
    ("trusted", "statuses"),
    [
        # No proxy trusted: every attempt counts against the connection's address.
        ("", [401, 401, 429, 429, 429]),
        # The client is a trusted proxy: attempts count against the address it forwards.
        ("127.0.0.1", [401, 401, 401, 401, 429]),
    ],
    ids=["unset", "trusted"],
)
async def test_logins_are_limited_per_forwarded_address_only_behind_a_trusted_proxy(
    tmp_path: Path, trusted: str, statuses: list[int]
) -> None:
    limits = json.dumps({**DEFAULT_RATE_LIMITS, "auth": "2/minute"})
    body = {"email": "nobody@example.com", "password": "guess number n"}
    env = {"RAPPORT_RATE_LIMITS": limits}
    if trusted:
        env["RAPPORT_TRUSTED_PROXIES"] = trusted
    async with served(tmp_path, **env) as server, httpx.AsyncClient(base_url=server.url) as http:
        answered = [
            (await http.post(LOGIN, json=body, headers={"X-Forwarded-For": address})).status_code
            for address in FORWARDED
        ]
    assert answered == statuses


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = Settings(trusted_proxies=" 10.0.0.7, 10.1.2.3/16,::1 ")
    assert settings.trusted_proxies == ["10.0.0.7", "10.1.0.0/16", "::1"]
    assert Settings(trusted_proxies="").trusted_proxies == []
    with pytest.raises(ValidationError):
        Settings(trusted_proxies="proxy.internal")


async def _trickle(writer: asyncio.StreamWriter) -> None:
    """One byte of the body every 0.1 s (never all of it), until the server hangs up."""
    with suppress(ConnectionError):
        for _ in range(80):
            await asyncio.sleep(0.1)
            writer.write(b" ")
            await writer.drain()


async def _send_part_of_a_body(port: int, path: str, trickled: bool) -> tuple[bytes, float]:
    """POST 10 of the 100 bytes a request announces, then nothing more (or a byte at a time):
    what arrives until the server closes the connection, and how long that took. A server
    closing while bytes still come may reset the connection, which can lose its answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n".encode()
        + b'{"email": '
    )
    await writer.drain()
    sending = asyncio.create_task(_trickle(writer)) if trickled else None
    answer = b""
    try:
        async with asyncio.timeout(10):
            with suppress(ConnectionResetError):
                while chunk := await reader.read(65536):
                    answer += chunk
    finally:
        if sending is not None:
            sending.cancel()
        writer.close()
    return answer, time.monotonic() - started


async def test_a_body_not_sent_in_time_is_408_and_the_connection_is_closed(
    tmp_path: Path,
) -> None:
    async with served(tmp_path, RAPPORT_BODY_TIMEOUT_SECONDS="0.5") as server:
        answer, elapsed = await _send_part_of_a_body(server.port, LOGIN, trickled=False)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "REQUEST_TIMEOUT"
    assert 0.5 <= elapsed < 5


async def test_a_body_trickled_past_the_deadline_is_cut_off_at_it(tmp_path: Path) -> None:
    """The limit is on the whole body, not on the pause between two of its bytes."""
    async with served(tmp_path, RAPPORT_BODY_TIMEOUT_SECONDS="0.5") as server:
        answer, elapsed = await _send_part_of_a_body(server.port, LOGIN, trickled=True)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer
    assert 0.5 <= elapsed < 2


async def test_a_body_answered_without_being_read_does_not_hold_the_connection(
    tmp_path: Path,
) -> None:
    """Without credentials a body-less operation answers at once, before the body came."""
    async with served(tmp_path) as server:
        retry = "/api/v1/jobs/01900000-0000-7000-8000-000000000000/retry"
        answer, elapsed = await _send_part_of_a_body(server.port, retry, trickled=True)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 401 "), answer
    assert elapsed < 2


SLOW_START = """
import sys, time
if "multiprocessing" in " ".join(sys.orig_argv):
    time.sleep({seconds})
"""


async def test_two_server_processes_that_start_slowly_become_ready(
    database: Database, tmp_path: Path
) -> None:
    """Each server process takes 12 s to start, as importing Rapport can on a busy machine."""
    if database.dialect != "postgresql":
        pytest.skip("several server processes need PostgreSQL")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_START.format(seconds=12))
    started = time.monotonic()
    async with served(
        tmp_path, "--workers", "2", RAPPORT_DATABASE_URL=database.url, PYTHONPATH=str(site)
    ) as server:
        elapsed = time.monotonic() - started
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/readyz")).json()["database"] == "postgresql"
    assert elapsed >= 12
