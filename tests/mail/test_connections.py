"""Outbound email connections: verified against a real SMTP server before they are saved,
passwords sealed and never shown, loopback and private servers only on development servers."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.auth.scopes import Scope
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.errors import ValidationFailed
from rapport.mail import smtp
from rapport.mail.schemas import ConnectionUpdate
from rapport.mail.service import ConnectionService, password_box
from rapport.models import OutboundEmailConnection
from rapport.models.mail import TlsMode
from tests.helpers import (
    EVERY_WORKSPACE,
    TEST_SECRET,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    snapshot,
)
from tests.mail.server import Certificate, MailServer, trusting

pytestmark = pytest.mark.usefixtures("app")

CONNECTIONS = "/api/v1/outbound-email-connections"


def invalid(response: httpx.Response, field: str) -> dict[str, Any]:
    """The 422 error body, after checking it names `field` in its details."""
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in [d.get("field") for d in error["details"]], error
    return error


async def create(
    http: httpx.AsyncClient, ws: Workspace, server: MailServer, **overrides: Any
) -> dict[str, Any]:
    response = await http.post(CONNECTIONS, json=server.connection(**overrides), headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def stored(database: Database, connection_id: str) -> OutboundEmailConnection:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        row = await session.get(OutboundEmailConnection, uuid.UUID(connection_id))
    assert row is not None
    return row


async def assert_stored_nowhere(database: Database, secret: str) -> None:
    """No column of any row holds the secret, and on SQLite neither do the database file and
    its write-ahead log."""
    assert secret not in str(await snapshot(database))
    if database.dialect == "sqlite":
        path = Path(str(database.engine.url.database))
        written = b"".join(f.read_bytes() for f in (path, Path(f"{path}-wal")) if f.exists())
        assert secret.encode() not in written


async def test_create_verifies_the_login_and_seals_the_password(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    response = await dev_client.post(
        CONNECTIONS, json=mail_server.connection(), headers=workspace.headers
    )

    assert response.status_code == 201, response.text
    assert mail_server.password not in response.text
    connection = response.json()["data"]
    assert response.headers["Location"] == f"{CONNECTIONS}/{connection['id']}"
    assert connection["hasPassword"] is True
    assert "password" not in connection
    assert connection["channel"] == "smtp"
    assert connection["host"] == "127.0.0.1"
    assert connection["port"] == mail_server.port
    assert connection["tlsMode"] == "none"
    assert connection["fromAddress"] == "sales@acme.example"
    assert connection["fromName"] == "Acme Sales"
    assert connection["verifiedAt"]
    assert mail_server.logins == [True]

    row = await stored(database, connection["id"])
    assert row.encrypted_password != mail_server.password
    assert row.encrypted_password.startswith("v1.")
    opened = password_box(TEST_SECRET).open(row.encrypted_password, bound_to=str(row.id))
    assert opened == mail_server.password
    await assert_stored_nowhere(database, mail_server.password)

    [event] = await events_of_type(dev_client, workspace, "outbound_email_connection.created")
    assert event["data"]["record"]["id"] == connection["id"]
    assert event["data"]["record"]["hasPassword"] is True


class Collected(logging.Handler):
    """Every log record, as formatted and with its extra fields."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{self.format(record)} {record.__dict__}")


@contextmanager
def collected_logs() -> Iterator[Collected]:
    """Every record logged meanwhile, debug ones included."""
    root = logging.getLogger()
    handler, level = Collected(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_the_password_is_in_no_response_no_event_and_no_log_line(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    with collected_logs() as logs:
        answers = await change_the_password_and_more(dev_client, workspace, mail_server)

    assert [a.status_code for a in answers] == [201, 200, 200, 200, 422, 422, 200, 204, 200]
    for text in [a.text for a in answers] + logs.lines:
        assert "correct-horse-battery-staple" not in text
        assert mail_server.password not in text
    assert any("/outbound-email-connections" in line for line in logs.lines)  # access log
    [updated] = await events_of_type(dev_client, workspace, "outbound_email_connection.updated")
    assert updated["data"]["passwordChanged"] is True
    await assert_stored_nowhere(database, mail_server.password)


async def change_the_password_and_more(
    http: httpx.AsyncClient, ws: Workspace, mail_server: MailServer
) -> list[httpx.Response]:
    """Create a connection, read it, change its password, fail to change it, delete it, read
    the events; every answer."""
    created = await http.post(CONNECTIONS, json=mail_server.connection(), headers=ws.headers)
    one = f"{CONNECTIONS}/{created.json()['data']['id']}"
    mail_server.password = "a-new-password-for-the-mailbox"
    return [
        created,
        await http.get(CONNECTIONS, headers=ws.headers),
        await http.get(one, headers=ws.headers),
        await http.patch(one, json={"password": mail_server.password}, headers=ws.headers),
        await http.patch(one, json={"password": "wrong-password-1"}, headers=ws.headers),
        await http.patch(one, json={"port": 1}, headers=ws.headers),
        await http.get("/api/v1/events", headers=ws.headers),
        await http.delete(one, headers=ws.headers),
        await http.get("/api/v1/events", headers=ws.headers),
    ]


async def test_a_wrong_password_is_refused_with_the_servers_answer(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    before = await snapshot(database)
    response = await dev_client.post(
        CONNECTIONS, json=mail_server.connection(password="wrong"), headers=workspace.headers
    )

    error = invalid(response, "password")
    assert "535" in error["message"]
    assert "Authentication credentials invalid" in error["details"][0]["message"]
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"port": 1}, "host", id="nothing-listening"),
        pytest.param({"tlsMode": "starttls"}, "tlsMode", id="untrusted-certificate"),
        pytest.param({"tlsMode": "tls"}, "tlsMode", id="not-a-tls-server"),
        pytest.param({"host": "no-such-host.invalid"}, "host", id="unresolvable"),
    ],
)
async def test_a_connection_that_fails_its_check_is_not_stored(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    overrides: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await dev_client.post(
        CONNECTIONS, json=mail_server.connection(**overrides), headers=workspace.headers
    )
    invalid(response, field)
    assert await snapshot(database) == before


async def test_a_server_that_never_answers_is_refused_in_time(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(smtp, "VERIFY_TIMEOUT_SECONDS", 0.5)
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accepted, never greeted

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    before = await snapshot(database)
    try:
        response = await dev_client.post(
            CONNECTIONS, json=mail_server.connection(port=port), headers=workspace.headers
        )
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()

    error = invalid(response, "host")
    assert "did not finish answering within 0.5 s (while connecting)" in error["message"]
    assert await snapshot(database) == before


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_tls_connections_check_the_certificate(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    smtp_certificate: Certificate,
    mail_server: MailServer,
    tls_mail_server: MailServer,
    mode: str,
) -> None:
    server = mail_server if mode == "starttls" else tls_mail_server
    before = await snapshot(database)
    response = await dev_client.post(
        CONNECTIONS, json=server.connection(tlsMode=mode), headers=workspace.headers
    )
    error = invalid(response, "tlsMode")
    assert "CERTIFICATE_VERIFY_FAILED" in error["message"]
    assert await snapshot(database) == before

    with trusting(smtp_certificate):
        connection = await create(dev_client, workspace, server, tlsMode=mode)
    assert connection["tlsMode"] == mode
    assert server.logins == [True]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "0.0.0.0"],
)
async def test_a_private_host_is_refused_without_the_setting(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    host: str,
) -> None:
    before = await snapshot(database)
    response = await client.post(
        CONNECTIONS, json=mail_server.connection(host=host), headers=workspace.headers
    )

    error = invalid(response, "host")
    assert "RAPPORT_ALLOW_PRIVATE_SMTP" in error["message"]
    assert mail_server.logins == []
    assert await snapshot(database) == before


async def test_a_change_to_a_private_host_is_refused_without_the_setting(
    client: httpx.AsyncClient,
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
) -> None:
    connection = await create(dev_client, workspace, mail_server)
    before = await snapshot(database)
    response = await client.patch(
        f"{CONNECTIONS}/{connection['id']}", json={"fromName": "Sales"}, headers=workspace.headers
    )
    invalid(response, "host")
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"host": "smtp://mail.example.com"}, "host", id="url-as-host"),
        pytest.param({"host": "mail.example.com:587"}, "host", id="port-in-host"),
        pytest.param({"host": "a..example.com"}, "host", id="empty-label"),
        pytest.param({"port": 0}, "port", id="port-0"),
        pytest.param({"port": 70000}, "port", id="port-too-big"),
        pytest.param({"tlsMode": "ssl"}, "tlsMode", id="unknown-tls-mode"),
        pytest.param({"channel": "pigeon"}, "channel", id="unknown-channel"),
        pytest.param({"fromAddress": "not an address"}, "fromAddress", id="bad-from"),
        pytest.param({"fromName": "Acme\r\nBcc: x@y.z"}, "fromName", id="header-injection"),
        pytest.param({"name": "   "}, "name", id="blank-name"),
        pytest.param({"password": ""}, "password", id="empty-password"),
        pytest.param({"colour": "red"}, "colour", id="unknown-field"),
    ],
)
async def test_create_refuses_invalid_fields(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await dev_client.post(
        CONNECTIONS, json=mail_server.connection(**body), headers=workspace.headers
    )
    invalid(response, field)
    assert mail_server.logins == []
    assert await snapshot(database) == before


async def test_names_are_unique_in_a_workspace(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    mail_server: MailServer,
) -> None:
    first = await create(dev_client, workspace, mail_server)
    await create(dev_client, other_workspace, mail_server)  # another workspace's: fine
    before = await snapshot(database)

    response = await dev_client.post(
        CONNECTIONS, json=mail_server.connection(), headers=workspace.headers
    )
    error = assert_error(response, 409, "EMAIL_CONNECTION_NAME_EXISTS")
    assert error["details"] == [
        {"field": "name", "message": "Already taken", "existingId": first["id"]}
    ]
    second = await create(dev_client, workspace, mail_server, name="Support mailbox")
    before = await snapshot(database)
    response = await dev_client.patch(
        f"{CONNECTIONS}/{second['id']}", json={"name": "Sales mailbox"}, headers=workspace.headers
    )
    assert_error(response, 409, "EMAIL_CONNECTION_NAME_EXISTS")
    assert await snapshot(database) == before


async def test_update_verifies_again_and_keeps_the_stored_password(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    connection = await create(dev_client, workspace, mail_server)
    one = f"{CONNECTIONS}/{connection['id']}"

    response = await dev_client.patch(
        one, json={"fromName": "Acme Sales Team", "channel": "gmail"}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["fromName"] == "Acme Sales Team"
    assert updated["channel"] == "gmail"
    assert updated["verifiedAt"] > connection["verifiedAt"]
    assert mail_server.logins == [True, True]  # logged in again with the stored password

    response = await dev_client.patch(one, json={"fromName": None}, headers=workspace.headers)
    assert response.json()["data"]["fromName"] is None

    unchanged = await dev_client.patch(
        one, json={"port": mail_server.port}, headers=workspace.headers
    )
    assert unchanged.json()["data"] == response.json()["data"]
    assert len(mail_server.logins) == 3  # nothing changed, nothing checked


async def test_a_pace_is_kept_and_changed_without_a_new_login(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    connection = await create(dev_client, workspace, mail_server, maxMessagesPerSecond=2.5)
    assert connection["maxMessagesPerSecond"] == 2.5
    one = f"{CONNECTIONS}/{connection['id']}"
    mail_server.password = "changed-on-the-server"  # a login would be refused now

    response = await dev_client.patch(
        one, json={"maxMessagesPerSecond": 40}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    changed = response.json()["data"]
    assert changed["maxMessagesPerSecond"] == 40
    assert changed["verifiedAt"] == connection["verifiedAt"]
    assert mail_server.logins == [True]
    event = (await events_of_type(dev_client, workspace, "outbound_email_connection.updated"))[0]
    assert event["data"]["changes"] == {"maxMessagesPerSecond": {"before": 2.5, "after": 40}}

    response = await dev_client.patch(
        one, json={"maxMessagesPerSecond": None}, headers=workspace.headers
    )
    assert response.json()["data"]["maxMessagesPerSecond"] is None
    assert (await stored(database, connection["id"])).max_messages_per_second is None


@pytest.mark.parametrize("rate", [0, -1, 100_001, "fast"])
async def test_a_pace_that_is_not_a_positive_rate_is_refused(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    rate: Any,
) -> None:
    connection = await create(dev_client, workspace, mail_server)
    before = await snapshot(database)

    invalid(
        await dev_client.post(
            CONNECTIONS,
            json=mail_server.connection(name="Other", maxMessagesPerSecond=rate),
            headers=workspace.headers,
        ),
        "maxMessagesPerSecond",
    )
    invalid(
        await dev_client.patch(
            f"{CONNECTIONS}/{connection['id']}",
            json={"maxMessagesPerSecond": rate},
            headers=workspace.headers,
        ),
        "maxMessagesPerSecond",
    )
    assert await snapshot(database) == before


async def test_update_is_refused_when_the_server_refuses(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    connection = await create(dev_client, workspace, mail_server)
    one = f"{CONNECTIONS}/{connection['id']}"
    before = await snapshot(database)

    invalid(
        await dev_client.patch(one, json={"password": "wrong"}, headers=workspace.headers),
        "password",
    )
    mail_server.password = "changed-on-the-server"
    invalid(
        await dev_client.patch(one, json={"fromName": "X"}, headers=workspace.headers), "password"
    )
    invalid(await dev_client.patch(one, json={"name": None}, headers=workspace.headers), "name")
    invalid(await dev_client.patch(one, json={"port": None}, headers=workspace.headers), "port")
    assert await snapshot(database) == before

    response = await dev_client.patch(
        one, json={"password": "changed-on-the-server"}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text


async def test_a_password_sealed_with_another_key_is_asked_for_again(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    connection_id = uuid.UUID((await create(dev_client, workspace, mail_server))["id"])
    async with database.transaction(workspace=workspace.id) as session:
        connections = ConnectionService(
            Context.bound(session, workspace.id),
            allow_private=True,
            secret_key="another-secret-key-" + "y" * 40,
        )
        with pytest.raises(ValidationFailed) as refused:
            await connections.update(connection_id, ConnectionUpdate(fromName="Sales"))
        assert [d.field for d in refused.value.details] == ["password"]
        await connections.update(connection_id, ConnectionUpdate(password=mail_server.password))
        row = await connections.get(connection_id)
        assert connections.smtp_of(row).password == mail_server.password


async def test_list_get_and_delete(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    sales = await create(dev_client, workspace, mail_server)
    support = await create(dev_client, workspace, mail_server, name="Support", channel="outlook")

    response = await dev_client.get(
        CONNECTIONS, params={"sort": "name:asc"}, headers=workspace.headers
    )
    assert [c["name"] for c in response.json()["data"]] == ["Sales mailbox", "Support"]
    assert response.json()["meta"]["total"] == 2
    response = await dev_client.get(f"{CONNECTIONS}/{support['id']}", headers=workspace.headers)
    assert response.json()["data"]["channel"] == "outlook"

    response = await dev_client.delete(f"{CONNECTIONS}/{sales['id']}", headers=workspace.headers)
    assert response.status_code == 204
    response = await dev_client.get(f"{CONNECTIONS}/{sales['id']}", headers=workspace.headers)
    assert_error(response, 404, "NOT_FOUND")
    [event] = await events_of_type(dev_client, workspace, "outbound_email_connection.deleted")
    assert event["data"]["record"]["name"] == "Sales mailbox"


async def test_scopes_read_with_crm_read_and_manage_with_crm_admin(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    connection = await create(dev_client, workspace, mail_server)
    one = f"{CONNECTIONS}/{connection['id']}"
    reader = await add_key(database, workspace, [Scope.CRM_READ])
    writer = await add_key(database, workspace, [Scope.CRM_READ, Scope.CRM_WRITE])

    assert (await dev_client.get(CONNECTIONS, headers=reader)).status_code == 200
    assert (await dev_client.get(one, headers=reader)).status_code == 200
    before = await snapshot(database)
    for headers in (reader, writer):
        refused = [
            await dev_client.post(
                CONNECTIONS, json=mail_server.connection(name="Other"), headers=headers
            ),
            await dev_client.patch(one, json={"fromName": "X"}, headers=headers),
            await dev_client.delete(one, headers=headers),
        ]
        for response in refused:
            error = assert_error(response, 403, "FORBIDDEN")
            assert "crm:admin" in error["message"]
    assert mail_server.logins == [True]
    assert await snapshot(database) == before


async def test_another_workspace_sees_nothing(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    mail_server: MailServer,
) -> None:
    connection = await create(dev_client, workspace, mail_server)
    one = f"{CONNECTIONS}/{connection['id']}"
    before = await snapshot(database)

    for response in (
        await dev_client.get(one, headers=other_workspace.headers),
        await dev_client.patch(one, json={"fromName": "X"}, headers=other_workspace.headers),
        await dev_client.delete(one, headers=other_workspace.headers),
    ):
        assert_error(response, 404, "NOT_FOUND")
    listed = await dev_client.get(CONNECTIONS, headers=other_workspace.headers)
    assert listed.json()["data"] == []
    assert mail_server.logins == [True]
    assert await snapshot(database) == before


async def test_a_sending_session_sends_short_lines_at_once(mail_server: MailServer) -> None:
    """The line that ends a staged message follows its data after a commit; held back until
    the server acknowledges that data (Nagle's algorithm against a delayed ACK), it would
    cost each campaign message about 40 ms."""
    connection = smtp.SmtpConnection(
        mail_server.host,
        mail_server.port,
        TlsMode.NONE,
        mail_server.username,
        mail_server.password,
        "rapport.test",
    )
    async with smtp.session(connection, allow_private=True) as client:
        assert client.transport is not None
        sock = client.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
