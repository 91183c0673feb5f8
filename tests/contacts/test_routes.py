"""Contacts API: create, read, update, soft delete, input validation and scopes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.contacts.requests import API, RECORD_FIELDS, as_read
from tests.helpers import Workspace, add_key, assert_error, snapshot


async def create(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await client.post(API, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def fetch(client: httpx.AsyncClient, ws: Workspace, ref: str) -> httpx.Response:
    return await client.get(f"{API}/{ref}", headers=ws.headers)


async def patch(
    client: httpx.AsyncClient,
    ws: Workspace,
    ref: str,
    body: Any,
    if_match: str | None = None,
) -> httpx.Response:
    headers = dict(ws.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.patch(f"{API}/{ref}", json=body, headers=headers)


async def delete(
    client: httpx.AsyncClient, ws: Workspace, ref: str, if_match: str | None = None
) -> httpx.Response:
    headers = dict(ws.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.delete(f"{API}/{ref}", headers=headers)


def detail_fields(error: dict[str, Any]) -> set[str]:
    return {d.get("field") for d in error["details"]}


# --- create -------------------------------------------------------------------------------------


async def test_create_returns_201_with_location_etag_and_full_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    body = {
        "email": "alice@example.com",
        "name": "Alice Johnson",
        "givenName": "Alice",
        "familyName": "Johnson",
        "phone": "+14155552671",
        "externalId": "crm-1042",
        "lifecycleStage": "LEAD",
        "properties": {"mrr": 4999, "plan": "Enterprise"},
    }
    response = await client.post(API, json=body, headers=workspace.headers)

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(response.json()) == {"data"}
    assert set(data) == RECORD_FIELDS
    assert data["email"] == "alice@example.com"
    assert data["name"] == "Alice Johnson"
    assert data["givenName"] == "Alice"
    assert data["familyName"] == "Johnson"
    assert data["phone"] == "+14155552671"
    assert data["externalId"] == "crm-1042"
    assert data["status"] == "ACTIVE"
    assert data["lifecycleStage"] == "LEAD"
    assert data["properties"] == {"mrr": 4999, "plan": "Enterprise"}
    assert data["isIdentified"] is True
    assert data["lastActivityAt"] is None
    assert data["createdAt"].endswith("Z")
    assert data["updatedAt"].endswith("Z")
    assert uuid.UUID(data["id"]).version == 7
    assert response.headers["Location"] == f"{API}/{data['id']}"
    etag = response.headers["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')

    again = await client.get(response.headers["Location"], headers=workspace.headers)
    assert again.status_code == 200
    assert again.json() == {"data": as_read(data)}
    assert again.headers["ETag"] == etag


async def test_create_defaults(client: httpx.AsyncClient, workspace: Workspace) -> None:
    data = await create(client, workspace, email="bob@example.com")

    assert data["status"] == "ACTIVE"
    assert data["lifecycleStage"] is None
    assert data["properties"] == {}
    assert data["name"] is None
    assert data["phone"] is None
    assert data["externalId"] is None


async def test_create_lowercases_and_trims_email(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    data = await create(client, workspace, email="  Alice.Smith@Example.COM ")

    assert data["email"] == "alice.smith@example.com"


async def test_create_stores_phone_as_e164(client: httpx.AsyncClient, workspace: Workspace) -> None:
    spellings = {
        "+1 415 555 2671": "+14155552671",
        "+1 (415) 555-2671": "+14155552671",
        "+44 20 7946 0958": "+442079460958",
    }

    stored = {s: (await create(client, workspace, phone=s))["phone"] for s in spellings}

    assert stored == spellings


async def test_create_derives_name_from_given_and_family_name(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    both = await create(client, workspace, givenName="Alice", familyName="Johnson")
    given_only = await create(client, workspace, givenName="Carol")

    assert both["name"] == "Alice Johnson"
    assert given_only["name"] == "Carol"
    assert given_only["familyName"] is None


async def test_create_keeps_an_explicit_name(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    data = await create(client, workspace, name="Ally J", givenName="Alice", familyName="Johnson")

    assert data["name"] == "Ally J"


@pytest.mark.parametrize(
    ("body", "identified"),
    [
        ({"email": "id@example.com"}, True),
        ({"externalId": "ext-1"}, True),
        ({"phone": "+14155552671"}, False),
        ({"name": "Anonymous Visitor"}, False),
    ],
)
async def test_is_identified_means_an_email_or_external_id(
    client: httpx.AsyncClient, workspace: Workspace, body: dict[str, Any], identified: bool
) -> None:
    data = await create(client, workspace, **body)

    assert data["isIdentified"] is identified


async def test_phone_without_country_code_is_refused_without_a_default_region(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json={"phone": "415 555 2671"}, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"phone"}
    assert await snapshot(database) == before


async def test_phone_without_country_code_uses_the_workspace_default_region(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    settings = await client.patch(
        "/api/v1/workspace",
        json={"settings": {"defaultPhoneRegion": "US"}},
        headers=workspace.headers,
    )
    assert settings.status_code == 200, settings.text

    data = await create(client, workspace, phone="(415) 555-2671")

    assert data["phone"] == "+14155552671"


# --- uniqueness ---------------------------------------------------------------------------------


async def test_duplicate_email_is_409_whatever_its_case(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace, email="alice@example.com")
    before = await snapshot(database)

    response = await client.post(
        API, json={"email": "ALICE@Example.com", "name": "Other"}, headers=workspace.headers
    )

    assert_error(response, 409, "CONTACT_EMAIL_EXISTS")
    assert await snapshot(database) == before


async def test_duplicate_external_id_is_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace, externalId="crm-7")
    before = await snapshot(database)

    response = await client.post(
        API, json={"externalId": "crm-7", "email": "new@example.com"}, headers=workspace.headers
    )

    assert_error(response, 409, "CONTACT_EXTERNAL_ID_EXISTS")
    assert await snapshot(database) == before


async def test_a_deleted_contacts_email_and_external_id_can_be_reused(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    old = await create(client, workspace, email="reuse@example.com", externalId="crm-9")
    assert (await delete(client, workspace, old["id"])).status_code == 200

    new = await create(client, workspace, email="Reuse@example.com", externalId="crm-9")

    assert new["id"] != old["id"]
    by_email = await fetch(client, workspace, "reuse@example.com")
    assert by_email.json()["data"]["id"] == new["id"]
    by_external_id = await fetch(client, workspace, "crm-9")
    assert by_external_id.json()["data"]["id"] == new["id"]


async def test_the_same_email_may_exist_in_another_workspace(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    mine = await create(client, workspace, email="shared@example.com")
    theirs = await create(client, other_workspace, email="shared@example.com")

    assert mine["id"] != theirs["id"]


# --- read ---------------------------------------------------------------------------------------


async def test_get_by_id(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await create(client, workspace, email="alice@example.com", name="Alice")

    response = await fetch(client, workspace, created["id"])

    assert response.status_code == 200
    assert response.json() == {"data": as_read(created)}
    assert response.headers["ETag"].startswith('"')


async def test_get_by_email_in_any_case(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await create(client, workspace, email="alice@example.com")

    for spelling in ("alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"):
        response = await fetch(client, workspace, spelling)
        assert response.status_code == 200, spelling
        assert response.json()["data"]["id"] == created["id"]


async def test_get_by_external_id(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await create(client, workspace, externalId="crm-1042", name="Ext")

    response = await fetch(client, workspace, "crm-1042")

    assert response.status_code == 200
    assert response.json()["data"]["id"] == created["id"]


async def test_unknown_contact_is_404(client: httpx.AsyncClient, workspace: Workspace) -> None:
    await create(client, workspace, email="alice@example.com", externalId="crm-1")

    for ref in (str(uuid.uuid4()), "nobody@example.com", "no-such-external-id"):
        error = assert_error(await fetch(client, workspace, ref), 404, "NOT_FOUND")
        assert set(error) == {"code", "message", "requestId", "details"}


async def test_another_workspaces_contact_is_404(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    theirs = await create(client, other_workspace, email="theirs@example.com", externalId="t-1")

    for ref in (theirs["id"], "theirs@example.com", "t-1"):
        assert_error(await fetch(client, workspace, ref), 404, "NOT_FOUND")


async def test_a_deleted_contact_stays_readable(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace, email="gone@example.com", externalId="gone-1")
    await delete(client, workspace, created["id"])

    for ref in (created["id"], "gone@example.com", "gone-1"):
        response = await fetch(client, workspace, ref)
        assert response.status_code == 200
        assert response.json()["data"]["id"] == created["id"]
        assert response.json()["data"]["status"] == "DELETED"


# --- update -------------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(
        client,
        workspace,
        email="alice@example.com",
        name="Alice",
        phone="+14155552671",
        lifecycleStage="LEAD",
        properties={"plan": "Pro"},
    )

    response = await patch(client, workspace, created["id"], {"lifecycleStage": "CUSTOMER"})

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["lifecycleStage"] == "CUSTOMER"
    unchanged = {k: v for k, v in created.items() if k not in ("lifecycleStage", "updatedAt")}
    assert {k: v for k, v in data.items() if k not in ("lifecycleStage", "updatedAt")} == unchanged
    assert data["updatedAt"] >= created["updatedAt"]
    assert (await fetch(client, workspace, created["id"])).json() == {"data": as_read(data)}


async def test_patch_null_clears_a_field(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await create(
        client, workspace, email="alice@example.com", phone="+14155552671", lifecycleStage="LEAD"
    )

    response = await patch(
        client, workspace, created["id"], {"phone": None, "lifecycleStage": None}
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["phone"] is None
    assert data["lifecycleStage"] is None
    assert data["email"] == "alice@example.com"


async def test_patch_merges_properties_key_by_key(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(
        client, workspace, name="Props", properties={"plan": "Pro", "mrr": 1, "old": "x"}
    )

    response = await patch(
        client, workspace, created["id"], {"properties": {"mrr": 2, "old": None, "new": True}}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["properties"] == {"plan": "Pro", "mrr": 2, "new": True}


async def test_patch_normalises_email_and_phone(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace, name="Norm")

    response = await patch(
        client, workspace, created["id"], {"email": "NORM@Example.com", "phone": "+44 20 7946 0958"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["email"] == "norm@example.com"
    assert response.json()["data"]["phone"] == "+442079460958"
    assert response.json()["data"]["isIdentified"] is True


async def test_patch_by_email_reference(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await create(client, workspace, email="alice@example.com")

    response = await patch(client, workspace, "ALICE@example.com", {"name": "Alice"})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == created["id"]
    assert response.json()["data"]["name"] == "Alice"


async def test_patch_changes_the_etag(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await client.post(API, json={"name": "Tag"}, headers=workspace.headers)
    first_etag = created.headers["ETag"]
    ref = created.json()["data"]["id"]

    response = await patch(client, workspace, ref, {"name": "Tagged"})

    assert response.status_code == 200
    assert response.headers["ETag"] != first_etag
    assert (await fetch(client, workspace, ref)).headers["ETag"] == response.headers["ETag"]


async def test_patch_with_the_current_etag_succeeds(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace, name="Before")
    etag = (await fetch(client, workspace, created["id"])).headers["ETag"]

    response = await patch(client, workspace, created["id"], {"name": "After"}, if_match=etag)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == "After"


async def test_patch_with_a_stale_etag_is_412(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    created = await create(client, workspace, name="V1")
    stale = (await fetch(client, workspace, created["id"])).headers["ETag"]
    assert (await patch(client, workspace, created["id"], {"name": "V2"})).status_code == 200
    before = await snapshot(database)

    response = await patch(client, workspace, created["id"], {"name": "V3"}, if_match=stale)

    assert_error(response, 412, "PRECONDITION_FAILED")
    assert await snapshot(database) == before
    assert (await fetch(client, workspace, created["id"])).json()["data"]["name"] == "V2"


async def test_patch_to_another_contacts_email_is_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace, email="taken@example.com")
    mine = await create(client, workspace, email="mine@example.com")
    before = await snapshot(database)

    response = await patch(client, workspace, mine["id"], {"email": "Taken@example.com"})

    assert_error(response, 409, "CONTACT_EMAIL_EXISTS")
    assert await snapshot(database) == before


async def test_patch_to_another_contacts_external_id_is_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    await create(client, workspace, externalId="crm-1")
    mine = await create(client, workspace, externalId="crm-2")
    before = await snapshot(database)

    response = await patch(client, workspace, mine["id"], {"externalId": "crm-1"})

    assert_error(response, 409, "CONTACT_EXTERNAL_ID_EXISTS")
    assert await snapshot(database) == before


async def test_patch_own_email_in_another_case_is_not_a_conflict(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    mine = await create(client, workspace, email="mine@example.com")

    response = await patch(client, workspace, mine["id"], {"email": "MINE@example.com"})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["email"] == "mine@example.com"


async def test_empty_patch_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    created = await client.post(API, json={"name": "Same"}, headers=workspace.headers)
    before = await snapshot(database)

    response = await patch(client, workspace, created.json()["data"]["id"], {})

    assert response.status_code == 200
    assert response.json() == created.json()
    assert response.headers["ETag"] == created.headers["ETag"]
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"status": None}, "status"),
        ({"lifecycleStage": "BOGUS"}, "lifecycleStage"),
        ({"properties": ["a"]}, "properties"),
        ({"emial": "x@example.com"}, "emial"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    created = await create(client, workspace, email="alice@example.com", phone="+14155552671")
    before = await snapshot(database)

    response = await patch(client, workspace, created["id"], body)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_patch_unknown_contact_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await patch(client, workspace, str(uuid.uuid4()), {"name": "Ghost"})

    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


# --- delete -------------------------------------------------------------------------------------


async def test_delete_is_soft_and_returns_the_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await client.post(
        API, json={"email": "bye@example.com", "name": "Bye"}, headers=workspace.headers
    )
    ref = created.json()["data"]["id"]

    response = await delete(client, workspace, ref)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data == {**created.json()["data"], "status": "DELETED", "updatedAt": data["updatedAt"]}
    assert response.headers["ETag"] != created.headers["ETag"]
    assert response.headers["ETag"] == (await fetch(client, workspace, ref)).headers["ETag"]


async def test_deleted_contacts_are_listed_only_with_status_deleted(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    kept = await create(client, workspace, name="Kept")
    gone = await create(client, workspace, name="Gone")
    await delete(client, workspace, gone["id"])

    default = await client.get(API, headers=workspace.headers)
    deleted = await client.get(API, params={"status": "DELETED"}, headers=workspace.headers)

    assert [c["id"] for c in default.json()["data"]] == [kept["id"]]
    assert default.json()["meta"]["total"] == 1
    assert [c["id"] for c in deleted.json()["data"]] == [gone["id"]]


async def test_second_delete_is_a_no_op(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    created = await create(client, workspace, name="Twice")
    first = await delete(client, workspace, created["id"])
    before = await snapshot(database)

    second = await delete(client, workspace, created["id"])

    assert second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert await snapshot(database) == before


async def test_delete_with_a_stale_etag_is_412(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    created = await client.post(API, json={"name": "V1"}, headers=workspace.headers)
    ref = created.json()["data"]["id"]
    assert (await patch(client, workspace, ref, {"name": "V2"})).status_code == 200
    before = await snapshot(database)

    response = await delete(client, workspace, ref, if_match=created.headers["ETag"])

    assert_error(response, 412, "PRECONDITION_FAILED")
    assert await snapshot(database) == before


async def test_delete_with_the_current_etag_succeeds(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await client.post(API, json={"name": "V1"}, headers=workspace.headers)

    response = await delete(
        client, workspace, created.json()["data"]["id"], if_match=created.headers["ETag"]
    )

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "DELETED"


async def test_delete_unknown_contact_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    assert_error(await delete(client, workspace, "nobody@example.com"), 404, "NOT_FOUND")
    assert await snapshot(database) == before


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "alice@"}, "email"),
        ({"email": 42}, "email"),
        ({"phone": "not a phone"}, "phone"),
        ({"phone": "+1 555"}, "phone"),
        ({"emial": "alice@example.com"}, "emial"),
        ({"name": "Al", "properties": ["plan", "Pro"]}, "properties"),
        ({"name": "Al", "lifecycleStage": "BOGUS"}, "lifecycleStage"),
        ({"name": "Al", "status": "GONE"}, "status"),
        ({"name": "x" * 301}, "name"),
        ({"externalId": ""}, "externalId"),
    ],
)
async def test_invalid_create_is_422_with_the_field_and_stores_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json=body, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert all(d["message"] for d in error["details"])
    assert await snapshot(database) == before


async def test_unknown_field_is_named_in_the_details(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        API, json={"emial": "alice@example.com"}, headers=workspace.headers
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"] == [{"field": "emial", "message": "Unknown field"}]


async def test_empty_body_needs_some_identity(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json={}, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"]
    assert detail_fields(error) <= {"email", "phone", "externalId", "name"}
    assert await snapshot(database) == before


async def test_blank_strings_do_not_count_as_identity(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await client.post(
        API, json={"name": "   ", "givenName": " "}, headers=workspace.headers
    )

    assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


async def test_malformed_json_is_400(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await client.post(
        API,
        content=b'{"email": "alice@example.com",',
        headers={**workspace.headers, "Content-Type": "application/json"},
    )

    assert_error(response, 400, "INVALID_REQUEST")
    assert await snapshot(database) == before


@pytest.mark.parametrize("raw", [b'["alice@example.com"]', b'"alice@example.com"', b"42", b"null"])
async def test_non_object_json_body_is_422(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, raw: bytes
) -> None:
    before = await snapshot(database)

    response = await client.post(
        API, content=raw, headers={**workspace.headers, "Content-Type": "application/json"}
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"]
    assert all(d["message"] for d in error["details"])
    assert await snapshot(database) == before


# --- scopes and credentials ---------------------------------------------------------------------


async def test_read_only_key_can_list_and_get(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    created = await create(client, workspace, email="alice@example.com")
    reader = await add_key(database, workspace, ["crm:read"])

    listed = await client.get(API, headers=reader)
    one = await client.get(f"{API}/{created['id']}", headers=reader)

    assert listed.status_code == 200
    assert listed.json()["data"] == [created]
    assert one.status_code == 200
    assert one.json()["data"] == as_read(created)


@pytest.mark.parametrize(
    ("method", "path_suffix", "body"),
    [
        ("POST", "", {"email": "new@example.com"}),
        ("PATCH", "/alice@example.com", {"name": "Changed"}),
        ("DELETE", "/alice@example.com", None),
    ],
)
async def test_read_only_key_cannot_write(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    method: str,
    path_suffix: str,
    body: dict[str, Any] | None,
) -> None:
    await create(client, workspace, email="alice@example.com")
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)

    response = await client.request(method, API + path_suffix, json=body, headers=reader)

    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:write" in error["message"]
    assert await snapshot(database) == before


async def test_key_without_read_scope_cannot_list(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    other = await add_key(database, workspace, ["crm:analytics"])

    error = assert_error(await client.get(API, headers=other), 403, "FORBIDDEN")

    assert "crm:read" in error["message"]


async def test_missing_credentials_are_401(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json={"email": "anon@example.com"})

    assert_error(response, 401, "UNAUTHENTICATED")
    assert await snapshot(database) == before
