"""Attacks on a connection's pace (maxMessagesPerSecond): the slots every worker takes from
the connection's row are spaced by 1/rate, whatever rate the API accepted."""

from __future__ import annotations

import itertools
import math
import uuid

import httpx
import pytest

from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.mail.service import take_sending_slots
from tests.helpers import Workspace, snapshot
from tests.mail.conftest import MailServer
from tests.mail.test_connections import CONNECTIONS, create, invalid

pytestmark = pytest.mark.usefixtures("app")


async def slots(database: Database, ws: Workspace, connection_id: str, rate: float) -> list[float]:
    found = []
    for _ in range(3):
        async with database.transaction(workspace=ws.id) as session:
            first = await take_sending_slots(
                Context(session, ws.id), uuid.UUID(connection_id), 1, rate
            )
        assert first is not None
        found.append(first)
    return found


@pytest.mark.parametrize("rate", [0.5, 3, 100_000])
async def test_slots_are_spaced_by_the_rate(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    rate: float,
) -> None:
    connection = await create(dev_client, workspace, mail_server, maxMessagesPerSecond=rate)
    taken = await slots(database, workspace, connection["id"], rate)
    for before, after in itertools.pairwise(taken):
        assert after - before >= 1 / rate - 1e-6


@pytest.mark.parametrize("rate", [None, "NaN", "Infinity", "1e999", [1], {"a": 1}])
async def test_odd_rates_are_refused_and_nothing_changes(
    dev_client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    mail_server: MailServer,
    rate: object,
) -> None:
    connection = await create(dev_client, workspace, mail_server)
    before = await snapshot(database)
    if rate is not None:
        invalid(
            await dev_client.post(
                CONNECTIONS,
                json=mail_server.connection(name="Other", maxMessagesPerSecond=rate),
                headers=workspace.headers,
            ),
            "maxMessagesPerSecond",
        )
    response = await dev_client.patch(
        f"{CONNECTIONS}/{connection['id']}",
        json={"maxMessagesPerSecond": rate, "port": "x"},
        headers=workspace.headers,
    )
    assert response.status_code == 422, response.text
    assert await snapshot(database) == before


async def test_a_tiny_rate_keeps_a_pace_or_is_refused(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    response = await dev_client.post(
        CONNECTIONS,
        json=mail_server.connection(maxMessagesPerSecond=5e-324),
        headers=workspace.headers,
    )
    if response.status_code == 422:
        return  # refused: fine
    assert response.status_code == 201, response.text
    rate = response.json()["data"]["maxMessagesPerSecond"]
    taken = await slots(database, workspace, response.json()["data"]["id"], rate)
    assert all(math.isfinite(t) for t in taken), taken


async def test_a_boolean_rate_is_refused(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, mail_server: MailServer
) -> None:
    before = await snapshot(database)
    invalid(
        await dev_client.post(
            CONNECTIONS,
            json=mail_server.connection(maxMessagesPerSecond=True),
            headers=workspace.headers,
        ),
        "maxMessagesPerSecond",
    )
    assert await snapshot(database) == before
