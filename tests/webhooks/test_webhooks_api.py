"""The webhooks API: subscriptions with safe URLs and known event types, secrets shown once,
audit events of every change, admin-only access, workspace isolation, the delivery log's
routes and replays, and idempotent creation."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from rapport.events.catalog import EVENT_TYPES
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import DeliveryStatus, Job, Webhook, WebhookDelivery
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("app")

WEBHOOKS = "/api/v1/webhooks"
EVENTS = "/api/v1/events"
PUBLIC_URL = "https://93.184.215.14/hook"
OTHER_PUBLIC_URL = "https://93.184.215.15/other"


async def create(
    client: httpx.AsyncClient, ws: Workspace, url: str = PUBLIC_URL, **body: Any
) -> dict[str, Any]:
    body.setdefault("eventTypes", ["contact.*"])
    response = await client.post(WEBHOOKS, json={"url": url, **body}, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def fetch(client: httpx.AsyncClient, ws: Workspace, hook_id: str) -> dict[str, Any]:
    response = await client.get(f"{WEBHOOKS}/{hook_id}", headers=ws.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def patch(
    client: httpx.AsyncClient, ws: Workspace, hook_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.patch(f"{WEBHOOKS}/{hook_id}", json=body, headers=ws.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def listing(
    client: httpx.AsyncClient, ws: Workspace, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(WEBHOOKS, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


def invalid(response: httpx.Response, field: str) -> dict[str, Any]:
    """The 422 error body, after checking it names `field` in its details."""
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in [d.get("field") for d in error["details"]], error
    assert all(d["message"] for d in error["details"])
    return error


async def count(database: Database, model: type[Any]) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def add_delivery(database: Database, ws: Workspace, hook_id: str) -> uuid.UUID:
    """A finished delivery in the webhook's log, written directly."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        delivery = WebhookDelivery(
            webhook_id=uuid.UUID(hook_id),
            event_id=uuid.uuid4(),
            event_type="contact.created",
            event_sequence=1,
            resource_id=uuid.uuid4(),
            status=DeliveryStatus.SUCCEEDED,
            attempts=1,
            tenant_id=ws.id,
        )
        session.add(delivery)
        await session.flush()
        delivery_id: uuid.UUID = delivery.id
    return delivery_id


async def disable(database: Database, hook_id: str) -> None:
    """What Rapport does to a webhook whose deliveries keep failing."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(
            update(Webhook)
            .where(Webhook.id == uuid.UUID(hook_id))
            .values(
                active=False,
                disabled_reason="x",
                disabled_at=utcnow(),
                consecutive_failures=5,
            )
        )


# --- create ------------------------------------------------------------------------------------


async def test_create_returns_the_webhook_with_its_secret_once(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        WEBHOOKS,
        json={
            "url": PUBLIC_URL,
            "eventTypes": ["contact.created", " contact.created ", "contact.*", "contact.*"],
            "description": "Sync to billing",
        },
        headers=workspace.headers,
    )
    assert response.status_code == 201, response.text
    hook = response.json()["data"]
    uuid.UUID(hook["id"])
    assert hook["url"] == PUBLIC_URL
    assert hook["eventTypes"] == ["contact.created", "contact.*"]
    assert hook["description"] == "Sync to billing"
    assert hook["active"] is True
    assert hook["consecutiveFailures"] == 0
    assert hook["disabledReason"] is None
    assert hook["disabledAt"] is None
    assert hook["lastSuccessAt"] is None
    assert hook["lastFailureAt"] is None
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 30

    one = await client.get(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)
    assert one.status_code == 200, one.text
    assert "secret" not in one.json()["data"]
    assert secret not in one.text
    assert {k: v for k, v in hook.items() if k != "secret"} == one.json()["data"]

    many = await client.get(WEBHOOKS, headers=workspace.headers)
    assert many.status_code == 200, many.text
    assert [w["id"] for w in many.json()["data"]] == [hook["id"]]
    assert "secret" not in many.json()["data"][0]
    assert secret not in many.text

    response = await client.get(
        EVENTS, params={"type": "webhook.created"}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    assert secret not in response.text
    [event] = response.json()["data"]
    assert event["type"] == "webhook.created"
    assert event["resourceType"] == "webhook"
    assert event["resourceId"] == hook["id"]
    assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert "secret" not in event["data"]["record"]
    assert event["data"]["record"] == one.json()["data"]


async def assert_stored_nowhere(database: Database, *secrets: str) -> None:
    """No column of any row holds the secrets (nor their random part), and on SQLite neither
    do the database file and its write-ahead log."""
    random_parts = [secret.removeprefix("whsec_") for secret in secrets]
    assert all(len(part) >= 40 for part in random_parts)
    rows = str(await snapshot(database))
    assert not any(part in rows for part in random_parts)
    if database.dialect == "sqlite":
        path = Path(str(database.engine.url.database))
        stored = b"".join(f.read_bytes() for f in (path, Path(f"{path}-wal")) if f.exists())
        assert not any(part.encode() in stored for part in random_parts)


async def test_create_stores_the_secret_encrypted(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace, active=False, description=None)
    assert hook["active"] is False
    assert hook["description"] is None
    async with database.session(platform=EVERY_WORKSPACE) as session:
        stored = await session.get(Webhook, uuid.UUID(hook["id"]))
    assert stored is not None
    assert stored.encrypted_secret.startswith("v1.")
    assert stored.tenant_id == workspace.id
    assert stored.event_types == ["contact.*"]
    await assert_stored_nowhere(database, hook["secret"])


REFUSED_URLS = [
    pytest.param("not a url", id="not-a-url"),
    pytest.param("ftp://93.184.215.14/x", id="ftp"),
    pytest.param("http://93.184.215.14/hook", id="plain-http"),
    pytest.param("https://127.0.0.1/hook", id="loopback-v4"),
    pytest.param("https://localhost/hook", id="localhost"),
    pytest.param("https://[::1]/hook", id="loopback-v6"),
    pytest.param("https://10.1.2.3/hook", id="private-10"),
    pytest.param("https://192.168.0.10/", id="private-192"),
    pytest.param("https://169.254.169.254/latest/meta-data", id="link-local-metadata"),
    pytest.param("https://[::ffff:127.0.0.1]/", id="ipv4-mapped-loopback"),
    pytest.param("https://user:pw@93.184.215.14/", id="credentials"),
    pytest.param("https://no-such-host.invalid/", id="unresolvable"),
    pytest.param("https:///hook", id="no-host"),
    pytest.param("https://93.184.215.14:99999/", id="port-out-of-range"),
    pytest.param("https://0.0.0.0/", id="unspecified"),
    pytest.param("https://a..com/", id="empty-label"),
    pytest.param("https://" + "a" * 64 + ".com/", id="label-of-64"),
]


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_create_refuses_an_unsafe_or_invalid_url(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, url: str
) -> None:
    before = await snapshot(database)
    response = await client.post(
        WEBHOOKS, json={"url": url, "eventTypes": ["contact.*"]}, headers=workspace.headers
    )
    error = invalid(response, "url")
    assert error["message"].startswith("url: ")
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"eventTypes": ["contact.exploded"]}, "eventTypes", id="unknown-type"),
        pytest.param({"eventTypes": ["deal.*"]}, "eventTypes", id="unknown-family"),
        pytest.param({"eventTypes": []}, "eventTypes", id="empty-list"),
        pytest.param({"eventTypes": [""]}, "eventTypes", id="empty-type"),
        pytest.param({"eventTypes": ["contact"]}, "eventTypes", id="family-without-star"),
        pytest.param({"eventTypes": "contact.*"}, "eventTypes", id="not-a-list"),
        pytest.param({"eventTypes": ["contact.*"], "colour": "red"}, "colour", id="unknown-field"),
        pytest.param({"eventTypes": ["contact.*"], "url": ""}, "url", id="empty-url"),
        pytest.param({"eventTypes": ["contact.*"], "description": "x" * 501}, "description"),
        pytest.param({"url": None, "eventTypes": ["contact.*"]}, "url", id="null-url"),
        pytest.param({"eventTypes": None}, "eventTypes", id="null-types"),
    ],
)
async def test_create_refuses_invalid_fields(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await client.post(
        WEBHOOKS, json={"url": PUBLIC_URL, **body}, headers=workspace.headers
    )
    error = invalid(response, field)
    if field == "colour":
        assert error["details"] == [{"field": "colour", "message": "Unknown field"}]
    assert await snapshot(database) == before


async def test_create_refuses_a_missing_event_type_list(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)
    response = await client.post(WEBHOOKS, json={"url": PUBLIC_URL}, headers=workspace.headers)
    invalid(response, "eventTypes")
    assert await snapshot(database) == before


async def test_unknown_event_type_error_names_the_type(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        WEBHOOKS,
        json={"url": PUBLIC_URL, "eventTypes": ["contact.created", "contact.exploded"]},
        headers=workspace.headers,
    )
    error = invalid(response, "eventTypes")
    assert "contact.exploded" in error["details"][0]["message"]


@pytest.mark.parametrize("types", [["*"], ["webhook.*"], list(EVENT_TYPES)])
async def test_create_accepts_every_documented_pattern(
    client: httpx.AsyncClient, workspace: Workspace, types: list[str]
) -> None:
    hook = await create(client, workspace, eventTypes=types)
    assert hook["eventTypes"] == types


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/ho\nok",
        "https://93.184.215.14/ho\tok",
        " https://93.184.215.14/hook",
        "https://93.184.215.14/hook ",
    ],
)
async def test_create_refuses_a_url_the_delivery_client_cannot_send_to(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, url: str
) -> None:
    before = await snapshot(database)
    response = await client.post(
        WEBHOOKS, json={"url": url, "eventTypes": ["contact.*"]}, headers=workspace.headers
    )
    invalid(response, "url")
    assert await snapshot(database) == before


async def test_a_development_server_accepts_loopback_over_plain_http(
    dev_client: httpx.AsyncClient, workspace: Workspace
) -> None:
    hook = await create(dev_client, workspace, "http://127.0.0.1:9/hook")
    assert hook["url"] == "http://127.0.0.1:9/hook"
    assert hook["secret"].startswith("whsec_")
    assert (await fetch(dev_client, workspace, hook["id"]))["url"] == "http://127.0.0.1:9/hook"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/x",
        "https://user:pw@127.0.0.1/",
        "https://no-such-host.invalid/",
        "http://a..com/",
        "http://" + "a" * 64 + ".com/",
    ],
)
async def test_a_development_server_still_refuses_other_schemes_credentials_and_bad_hosts(
    dev_client: httpx.AsyncClient, workspace: Workspace, database: Database, url: str
) -> None:
    before = await snapshot(database)
    response = await dev_client.post(
        WEBHOOKS, json={"url": url, "eventTypes": ["*"]}, headers=workspace.headers
    )
    invalid(response, "url")
    assert await snapshot(database) == before


# --- scopes ------------------------------------------------------------------------------------


async def test_a_key_without_crm_admin_may_not_manage_webhooks(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace)
    headers = await add_key(database, workspace, ["crm:read", "crm:write"])
    before = await snapshot(database)
    attempts = [
        client.get(WEBHOOKS, headers=headers),
        client.get(f"{WEBHOOKS}/event-types", headers=headers),
        client.get(f"{WEBHOOKS}/{hook['id']}", headers=headers),
        client.post(WEBHOOKS, json={"url": OTHER_PUBLIC_URL, "eventTypes": ["*"]}, headers=headers),
        client.patch(f"{WEBHOOKS}/{hook['id']}", json={"active": False}, headers=headers),
        client.delete(f"{WEBHOOKS}/{hook['id']}", headers=headers),
        client.post(f"{WEBHOOKS}/{hook['id']}/rotate-secret", headers=headers),
        client.get(f"{WEBHOOKS}/{hook['id']}/deliveries", headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert_error(response, 403, "FORBIDDEN")
        assert hook["secret"] not in response.text
    assert await snapshot(database) == before


async def test_without_credentials_webhooks_are_401(
    client: httpx.AsyncClient, database: Database
) -> None:
    before = await snapshot(database)
    response = await client.post(WEBHOOKS, json={"url": PUBLIC_URL, "eventTypes": ["*"]})
    assert_error(response, 401, "UNAUTHENTICATED")
    assert_error(await client.get(WEBHOOKS), 401, "UNAUTHENTICATED")
    assert await snapshot(database) == before


# --- event types, list, get ----------------------------------------------------------------------


async def test_event_types_lists_the_whole_catalogue(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.get(f"{WEBHOOKS}/event-types", headers=workspace.headers)
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    assert {t["type"]: t["description"] for t in listed} == EVENT_TYPES
    assert len(listed) == len(EVENT_TYPES)
    assert all(t["description"] for t in listed)


async def test_list_filters_by_active_and_pages(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    on = [await create(client, workspace, f"https://93.184.215.{n}/hook") for n in (10, 11, 12)]
    off = [
        await create(client, workspace, f"https://93.184.215.{n}/hook", active=False)
        for n in (20, 21)
    ]

    rows, meta = await listing(client, workspace, active="false")
    assert sorted(r["id"] for r in rows) == sorted(h["id"] for h in off)
    assert all(r["active"] is False for r in rows)
    assert meta["total"] == 2

    rows, meta = await listing(client, workspace, active="true")
    assert sorted(r["id"] for r in rows) == sorted(h["id"] for h in on)
    assert meta["total"] == 3

    rows, meta = await listing(client, workspace, take=2, sort="url:asc")
    assert [r["url"] for r in rows] == [on[0]["url"], on[1]["url"]]
    assert meta["total"] == 5
    assert meta["take"] == 2
    assert meta["skip"] == 0
    assert meta["page"] == 1
    assert meta["totalPages"] == 3
    assert meta["hasMore"] is True
    assert meta["nextCursor"]

    rows, meta = await listing(client, workspace, take=2, page=3, sort="url:asc")
    assert [r["url"] for r in rows] == [off[1]["url"]]
    assert meta["skip"] == 4
    assert meta["page"] == 3
    assert meta["hasMore"] is False
    assert meta["nextCursor"] is None

    seen: list[str] = []
    params: dict[str, Any] = {"take": 2, "sort": "url:asc"}
    while True:
        rows, meta = await listing(client, workspace, **params)
        seen += [r["url"] for r in rows]
        if not meta["hasMore"]:
            break
        params = {"take": 2, "cursor": meta["nextCursor"]}
    assert seen == sorted(h["url"] for h in on + off)


async def test_an_unknown_webhook_is_404(client: httpx.AsyncClient, workspace: Workspace) -> None:
    response = await client.get(f"{WEBHOOKS}/{uuid.uuid4()}", headers=workspace.headers)
    assert_error(response, 404, "NOT_FOUND")


async def test_a_malformed_webhook_id_is_400(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.get(f"{WEBHOOKS}/not-a-uuid", headers=workspace.headers)
    assert_error(response, 400, "INVALID_ID")


async def test_another_workspaces_webhook_is_404_and_untouched(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    hook = await create(client, workspace)
    await add_delivery(database, workspace, hook["id"])
    before = await snapshot(database)
    path = f"{WEBHOOKS}/{hook['id']}"
    headers = other_workspace.headers
    attempts = [
        client.get(path, headers=headers),
        client.patch(path, json={"description": "mine now"}, headers=headers),
        client.patch(path, json={"active": False}, headers=headers),
        client.post(f"{path}/rotate-secret", headers=headers),
        client.delete(path, headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert_error(response, 404, "NOT_FOUND")
        assert hook["secret"] not in response.text
    rows, meta = await listing(client, other_workspace)
    assert rows == []
    assert meta["total"] == 0
    assert await snapshot(database) == before
    assert (await fetch(client, workspace, hook["id"]))["description"] is None


# --- update --------------------------------------------------------------------------------------


async def test_patch_changes_fields_and_records_the_changes(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    hook = await create(client, workspace, description="first")
    updated = await patch(
        client,
        workspace,
        hook["id"],
        url=OTHER_PUBLIC_URL,
        eventTypes=["webhook.*", " contact.deleted", "webhook.*"],
        description="second",
        active=False,
    )
    assert updated["url"] == OTHER_PUBLIC_URL
    assert updated["eventTypes"] == ["webhook.*", "contact.deleted"]
    assert updated["description"] == "second"
    assert updated["active"] is False
    assert "secret" not in updated
    assert updated["updatedAt"] >= hook["updatedAt"]
    assert await fetch(client, workspace, hook["id"]) == updated

    [event] = await events_of_type(client, workspace, "webhook.updated")
    assert event["resourceId"] == hook["id"]
    assert event["data"]["record"] == updated
    assert event["data"]["changes"] == {
        "url": {"before": PUBLIC_URL, "after": OTHER_PUBLIC_URL},
        "eventTypes": {"before": ["contact.*"], "after": ["webhook.*", "contact.deleted"]},
        "description": {"before": "first", "after": "second"},
        "active": {"before": True, "after": False},
    }
    assert "secretRotated" not in event["data"]
    assert hook["secret"] not in str(event)


async def test_patch_of_one_field_leaves_the_others(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    hook = await create(client, workspace, description="keep me")
    updated = await patch(client, workspace, hook["id"], eventTypes=["*"])
    assert updated["eventTypes"] == ["*"]
    assert updated["url"] == PUBLIC_URL
    assert updated["description"] == "keep me"
    assert updated["active"] is True
    [event] = await events_of_type(client, workspace, "webhook.updated")
    assert event["data"]["changes"] == {"eventTypes": {"before": ["contact.*"], "after": ["*"]}}

    cleared = await patch(client, workspace, hook["id"], description=None)
    assert cleared["description"] is None


async def test_patch_without_a_change_records_no_event(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace)
    before = await snapshot(database)
    same = await patch(client, workspace, hook["id"], url=PUBLIC_URL, active=True)
    assert same["url"] == PUBLIC_URL
    assert await snapshot(database) == before
    assert await events_of_type(client, workspace, "webhook.updated") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"url": "https://10.0.0.1/hook"}, "url", id="private-url"),
        pytest.param({"url": "https://127.0.0.1/hook"}, "url", id="loopback-url"),
        pytest.param({"url": "http://93.184.215.14/hook"}, "url", id="plain-http"),
        pytest.param({"url": None}, "url", id="null-url"),
        pytest.param({"eventTypes": ["contact.exploded"]}, "eventTypes", id="unknown-type"),
        pytest.param({"eventTypes": []}, "eventTypes", id="empty-types"),
        pytest.param({"eventTypes": None}, "eventTypes", id="null-types"),
        pytest.param({"active": None}, "active", id="null-active"),
        pytest.param({"secret": "whsec_mine"}, "secret", id="secret-is-not-writable"),
        pytest.param({"description": "changed", "url": "https://192.168.1.1/"}, "url", id="mixed"),
        pytest.param({"url": "https://a..com/"}, "url", id="empty-label"),
        pytest.param({"url": "https://" + "a" * 64 + ".com/"}, "url", id="label-of-64"),
    ],
)
async def test_patch_refuses_invalid_changes_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    hook = await create(client, workspace, description="original")
    before = await snapshot(database)
    response = await client.patch(f"{WEBHOOKS}/{hook['id']}", json=body, headers=workspace.headers)
    invalid(response, field)
    assert await snapshot(database) == before


async def test_patch_active_re_enables_a_webhook_rapport_disabled(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace)
    await disable(database, hook["id"])
    disabled = await fetch(client, workspace, hook["id"])
    assert disabled["active"] is False
    assert disabled["disabledReason"] == "x"
    assert disabled["disabledAt"] is not None
    assert disabled["consecutiveFailures"] == 5
    rows, _meta = await listing(client, workspace, active="false")
    assert [r["id"] for r in rows] == [hook["id"]]

    enabled = await patch(client, workspace, hook["id"], active=True)
    assert enabled["active"] is True
    assert enabled["disabledReason"] is None
    assert enabled["disabledAt"] is None
    assert enabled["consecutiveFailures"] == 0
    assert await fetch(client, workspace, hook["id"]) == enabled

    [event] = await events_of_type(client, workspace, "webhook.updated")
    changes = event["data"]["changes"]
    assert changes["active"] == {"before": False, "after": True}
    assert changes["disabledReason"] == {"before": "x", "after": None}
    assert changes["consecutiveFailures"] == {"before": 5, "after": 0}
    assert changes["disabledAt"]["after"] is None


async def test_pausing_a_webhook_keeps_its_failure_record(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace)
    await disable(database, hook["id"])
    edited = await patch(client, workspace, hook["id"], active=False, description="noted")
    assert edited["active"] is False
    assert edited["description"] == "noted"
    assert edited["disabledReason"] == "x"
    assert edited["consecutiveFailures"] == 5


# --- rotate secret -------------------------------------------------------------------------------


async def test_rotate_secret_returns_a_new_secret_once(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace)
    response = await client.post(
        f"{WEBHOOKS}/{hook['id']}/rotate-secret", headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    rotated = response.json()["data"]
    assert rotated["id"] == hook["id"]
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != hook["secret"]
    assert rotated["url"] == hook["url"]

    shown = await client.get(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)
    assert rotated["secret"] not in shown.text
    await assert_stored_nowhere(database, hook["secret"], rotated["secret"])

    response = await client.get(
        EVENTS, params={"type": "webhook.updated"}, headers=workspace.headers
    )
    assert rotated["secret"] not in response.text
    assert hook["secret"] not in response.text
    [event] = response.json()["data"]
    assert event["resourceId"] == hook["id"]
    assert event["data"]["secretRotated"] is True
    assert "secret" not in event["data"]["record"]


async def test_rotate_secret_of_an_unknown_webhook_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)
    response = await client.post(
        f"{WEBHOOKS}/{uuid.uuid4()}/rotate-secret", headers=workspace.headers
    )
    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


# --- delete --------------------------------------------------------------------------------------


async def test_delete_removes_the_webhook_and_its_delivery_log(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace)
    await add_delivery(database, workspace, hook["id"])
    keep = await create(client, workspace, OTHER_PUBLIC_URL)
    kept_delivery = await add_delivery(database, workspace, keep["id"])

    response = await client.delete(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert_error(
        await client.get(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers), 404, "NOT_FOUND"
    )
    rows, _meta = await listing(client, workspace)
    assert [r["id"] for r in rows] == [keep["id"]]
    async with database.session(platform=EVERY_WORKSPACE) as session:
        left = (await session.scalars(select(WebhookDelivery.id))).all()
    assert left == [kept_delivery]

    response = await client.get(
        EVENTS, params={"type": "webhook.deleted"}, headers=workspace.headers
    )
    assert hook["secret"] not in response.text
    [event] = response.json()["data"]
    assert event["resourceId"] == hook["id"]
    assert event["data"]["record"]["url"] == PUBLIC_URL
    assert "secret" not in event["data"]["record"]

    before = await snapshot(database)
    again = await client.delete(f"{WEBHOOKS}/{hook['id']}", headers=workspace.headers)
    assert_error(again, 404, "NOT_FOUND")
    assert await snapshot(database) == before


# --- deliveries ----------------------------------------------------------------------------------


async def test_delivery_log_routes_of_another_workspace_or_unknown_ids_are_404(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    hook = await create(client, workspace)
    delivery_id = await add_delivery(database, workspace, hook["id"])
    sibling = await create(client, workspace, OTHER_PUBLIC_URL)
    path = f"{WEBHOOKS}/{hook['id']}/deliveries"
    before = await snapshot(database)

    for response in [
        await client.get(path, headers=other_workspace.headers),
        await client.get(f"{path}/{delivery_id}", headers=other_workspace.headers),
        await client.post(f"{path}/{delivery_id}/replay", headers=other_workspace.headers),
        await client.get(f"{WEBHOOKS}/{uuid.uuid4()}/deliveries", headers=workspace.headers),
        await client.get(f"{path}/{uuid.uuid4()}", headers=workspace.headers),
        await client.post(f"{path}/{uuid.uuid4()}/replay", headers=workspace.headers),
        # the delivery exists, but belongs to another webhook
        await client.get(
            f"{WEBHOOKS}/{sibling['id']}/deliveries/{delivery_id}", headers=workspace.headers
        ),
        await client.post(
            f"{WEBHOOKS}/{sibling['id']}/deliveries/{delivery_id}/replay",
            headers=workspace.headers,
        ),
    ]:
        assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before

    response = await client.get(path, headers=workspace.headers)
    assert response.status_code == 200, response.text
    assert [d["id"] for d in response.json()["data"]] == [str(delivery_id)]
    response = await client.get(f"{path}/{delivery_id}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    detail = response.json()["data"]
    assert detail["status"] == "succeeded"
    assert detail["attemptLog"] == []


async def test_replay_on_an_inactive_webhook_is_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace, active=False)
    delivery_id = await add_delivery(database, workspace, hook["id"])
    before = await snapshot(database)
    response = await client.post(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery_id}/replay", headers=workspace.headers
    )
    assert_error(response, 409, "WEBHOOK_INACTIVE")
    assert await snapshot(database) == before


async def test_replay_on_an_active_webhook_queues_a_new_delivery(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    hook = await create(client, workspace)
    delivery_id = await add_delivery(database, workspace, hook["id"])
    jobs_before = await count(database, Job)
    response = await client.post(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{delivery_id}/replay", headers=workspace.headers
    )
    assert response.status_code == 202, response.text
    replay = response.json()["data"]
    assert replay["id"] != str(delivery_id)
    assert replay["replayOf"] == str(delivery_id)
    assert replay["webhookId"] == hook["id"]
    assert replay["status"] == "pending"
    assert replay["attempts"] == 0
    assert await count(database, WebhookDelivery) == 2
    assert await count(database, Job) == jobs_before + 1


# --- idempotency ---------------------------------------------------------------------------------


async def test_create_with_an_idempotency_key_creates_one_webhook(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "create-hook-1"}
    body = {"url": PUBLIC_URL, "eventTypes": ["contact.*"]}
    first = await client.post(WEBHOOKS, json=body, headers=headers)
    assert first.status_code == 201, first.text
    created = first.json()["data"]
    assert created["secret"].startswith("whsec_")

    second = await client.post(WEBHOOKS, json=body, headers=headers)
    assert second.status_code == 201, second.text
    assert second.headers["Idempotent-Replayed"] == "true"
    replayed = second.json()["data"]
    assert replayed["id"] == created["id"]
    assert replayed["secret"] == "[shown once]"
    assert created["secret"] not in second.text
    assert {k: v for k, v in replayed.items() if k != "secret"} == {
        k: v for k, v in created.items() if k != "secret"
    }
    assert await count(database, Webhook) == 1
    assert len(await events_of_type(client, workspace, "webhook.created")) == 1

    reused = await client.post(WEBHOOKS, json={**body, "url": OTHER_PUBLIC_URL}, headers=headers)
    assert_error(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    assert await count(database, Webhook) == 1
