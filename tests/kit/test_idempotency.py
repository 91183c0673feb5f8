"""`Idempotency-Key` on POST: a retry replays the first answer and does nothing again."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from rapport.kit.db import Database
from rapport.models import IdempotencyRecord
from tests.helpers import EVERY_WORKSPACE, Workspace, add_key, snapshot

CONTACTS = "/api/v1/contacts"


async def post_contact(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    key: str | None = "key-1",
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return await client.post(CONTACTS, json=body, headers={**headers, **extra})


async def stored_contacts(client: httpx.AsyncClient, workspace: Workspace) -> list[str]:
    response = await client.get(CONTACTS, headers=workspace.headers)
    assert response.status_code == 200
    return sorted(c["email"] for c in response.json()["data"])


async def idempotency_record_count(database: Database) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        count = await session.execute(select(func.count()).select_from(IdempotencyRecord))
        return int(count.scalar_one())


# --- Replays -----------------------------------------------------------------------------------


async def test_retry_with_same_body_replays_the_first_response(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    body = {"email": "ada@example.com", "name": "Ada Lovelace"}
    first = await post_contact(client, workspace.headers, body)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = await snapshot(database)

    second = await post_contact(client, workspace.headers, body)
    assert second.status_code == 201
    assert second.content == first.content
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["x-request-id"].startswith("req_")
    assert second.headers["x-request-id"] != first.headers["x-request-id"]

    assert await snapshot(database) == after_first
    assert await stored_contacts(client, workspace) == ["ada@example.com"]


async def test_replay_survives_many_retries(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    body = {"email": "ada@example.com"}
    first = await post_contact(client, workspace.headers, body)
    assert first.status_code == 201
    for _ in range(3):
        again = await post_contact(client, workspace.headers, body)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
    assert await stored_contacts(client, workspace) == ["ada@example.com"]
    assert await idempotency_record_count(database) == 1


async def test_same_key_with_different_body_is_refused(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    first = await post_contact(client, workspace.headers, {"email": "ada@example.com"})
    assert first.status_code == 201
    before = await snapshot(database)

    reused = await post_contact(client, workspace.headers, {"email": "grace@example.com"})
    assert reused.status_code == 422
    error = reused.json()["error"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert error["requestId"] == reused.headers["x-request-id"]
    assert "idempotent-replayed" not in reused.headers

    assert await snapshot(database) == before
    assert await stored_contacts(client, workspace) == ["ada@example.com"]


async def test_keys_of_another_credential_are_independent(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    second_key = await add_key(database, workspace, ["crm:read", "crm:write"])
    first = await post_contact(client, workspace.headers, {"email": "ada@example.com"})
    assert first.status_code == 201

    other = await post_contact(client, second_key, {"email": "grace@example.com"})
    assert other.status_code == 201, other.text
    assert "idempotent-replayed" not in other.headers
    assert other.json()["data"]["id"] != first.json()["data"]["id"]
    assert await stored_contacts(client, workspace) == ["ada@example.com", "grace@example.com"]

    replayed = await post_contact(client, second_key, {"email": "grace@example.com"})
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == other.json()


async def test_same_key_in_another_workspace_is_independent(
    client: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    body = {"email": "ada@example.com"}
    mine = await post_contact(client, workspace.headers, body)
    theirs = await post_contact(client, other_workspace.headers, body)
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["data"]["id"] != mine.json()["data"]["id"]
    assert await stored_contacts(client, other_workspace) == ["ada@example.com"]
    assert await stored_contacts(client, workspace) == ["ada@example.com"]


async def test_a_conflict_is_replayed_not_reevaluated(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    existing = await post_contact(client, workspace.headers, {"email": "ada@example.com"}, None)
    assert existing.status_code == 201
    before = await snapshot(database)

    conflict = await post_contact(client, workspace.headers, {"email": "ada@example.com"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "CONTACT_EMAIL_EXISTS"

    # Free the email: a fresh evaluation would now succeed, a replay must not.
    renamed = await client.patch(
        f"{CONTACTS}/{existing.json()['data']['id']}",
        json={"email": "ada.l@example.com"},
        headers=workspace.headers,
    )
    assert renamed.status_code == 200
    after_rename = await snapshot(database)
    assert after_rename != before

    retry = await post_contact(client, workspace.headers, {"email": "ada@example.com"})
    assert retry.status_code == 409
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == conflict.json()
    assert await snapshot(database) == after_rename
    assert await stored_contacts(client, workspace) == ["ada.l@example.com"]


async def test_a_validation_failure_is_replayed(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    body = {"email": "ada@example.com", "nickname": "Ada"}
    first = await post_contact(client, workspace.headers, body)
    assert first.status_code == 422
    before = await snapshot(database)
    again = await post_contact(client, workspace.headers, body)
    assert again.status_code == 422
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await snapshot(database) == before
    assert await stored_contacts(client, workspace) == []


# --- Responses that do not consume the key -----------------------------------------------------


async def test_a_forbidden_attempt_does_not_consume_the_key(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    reader = await add_key(database, workspace, ["crm:read"])
    body = {"email": "ada@example.com"}
    before = await snapshot(database)
    for _ in range(2):
        refused = await post_contact(client, reader, body)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "FORBIDDEN"
        assert "idempotent-replayed" not in refused.headers
        assert await idempotency_record_count(database) == 0
    assert await snapshot(database) == before

    # A different body under the same key is evaluated too, not refused as a reuse.
    other = await post_contact(client, reader, {"email": "grace@example.com"})
    assert other.status_code == 403
    assert await snapshot(database) == before


async def test_an_unauthenticated_attempt_does_not_consume_the_key(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    bogus = {"Authorization": "Bearer ak_not_a_real_key"}
    before = await snapshot(database)
    for _ in range(2):
        refused = await post_contact(client, bogus, {"email": "ada@example.com"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
        assert "idempotent-replayed" not in refused.headers
    assert await idempotency_record_count(database) == 0
    assert await snapshot(database) == before


# --- The header itself -------------------------------------------------------------------------


async def test_overlong_key_is_400(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    before = await snapshot(database)
    response = await post_contact(client, workspace.headers, {"email": "a@example.com"}, "k" * 256)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_REQUEST"
    assert error["requestId"] == response.headers["x-request-id"]
    assert await snapshot(database) == before


async def test_key_of_255_characters_is_accepted(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    key = "k" * 255
    first = await post_contact(client, workspace.headers, {"email": "a@example.com"}, key)
    assert first.status_code == 201
    again = await post_contact(client, workspace.headers, {"email": "a@example.com"}, key)
    assert again.headers["idempotent-replayed"] == "true"
    assert await stored_contacts(client, workspace) == ["a@example.com"]


async def test_get_ignores_the_header(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "read-1"}
    empty = await client.get(CONTACTS, headers=headers)
    assert empty.status_code == 200
    assert empty.json()["data"] == []

    created = await post_contact(client, workspace.headers, {"email": "ada@example.com"}, None)
    assert created.status_code == 201

    again = await client.get(CONTACTS, headers=headers)
    assert again.status_code == 200
    assert "idempotent-replayed" not in again.headers
    assert [c["email"] for c in again.json()["data"]] == ["ada@example.com"]
    assert await idempotency_record_count(database) == 0


async def test_without_the_header_each_post_runs(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    first = await post_contact(client, workspace.headers, {"email": "ada@example.com"}, None)
    second = await post_contact(client, workspace.headers, {"email": "ada@example.com"}, None)
    assert first.status_code == 201
    assert second.status_code == 409
    assert "idempotent-replayed" not in second.headers
    assert await idempotency_record_count(database) == 0
