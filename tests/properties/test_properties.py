"""Custom properties API: define, list, read, change and archive property definitions (with
events, scopes and isolation), and the checks every write of contact and company `properties`
passes in a strict workspace: undefined keys, value types and their normalised forms, options,
required properties, archived properties, and key-by-key merging on update."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from rapport.kit.db import Database
from rapport.models import PropertyEntity
from rapport.properties.system import SYSTEM_FIELDS
from tests.helpers import Workspace, add_key, assert_error, events_of_type, make_workspace, snapshot

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1/properties"
CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"
EVENTS = "/api/v1/events"
WORKSPACE = "/api/v1/workspace"

PROPERTY_FIELDS = {
    "id",
    "entity",
    "key",
    "label",
    "type",
    "group",
    "description",
    "options",
    "isRequired",
    "isSystem",
    "archived",
    "createdAt",
    "updatedAt",
}

TYPES = [
    "TEXT",
    "NUMBER",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "EMAIL",
    "PHONE",
    "URL",
    "SELECT",
    "MULTI_SELECT",
    "CURRENCY",
    "TEXTAREA",
]
ENTITIES = ["CONTACT", "COMPANY", "CONTACT_COMPANY", "LEAD"]
CHOICES = ("SELECT", "MULTI_SELECT")
TIERS = [
    {"value": "gold", "label": "Gold"},
    {"value": "silver", "label": "Silver"},
]


def system_keys(entity: str) -> list[str]:
    return [f.key for f in SYSTEM_FIELDS[PropertyEntity(entity)]]


def definition(key: str, type_: str, entity: str = "CONTACT", **extra: Any) -> dict[str, Any]:
    """A valid definition body (choice types get the tier options)."""
    body: dict[str, Any] = {"key": key, "entity": entity, "label": key.title(), "type": type_}
    if type_ in CHOICES:
        body["options"] = TIERS
    body.update(extra)
    return body


async def define(
    client: httpx.AsyncClient,
    ws: Workspace,
    key: str,
    type_: str,
    entity: str = "CONTACT",
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        API, json=definition(key, type_, entity, **extra), headers=ws.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def fetch(client: httpx.AsyncClient, ws: Workspace, property_id: str) -> httpx.Response:
    return await client.get(f"{API}/{property_id}", headers=ws.headers)


async def patch(
    client: httpx.AsyncClient, ws: Workspace, property_id: str, body: Any
) -> httpx.Response:
    return await client.patch(f"{API}/{property_id}", json=body, headers=ws.headers)


async def archive(client: httpx.AsyncClient, ws: Workspace, property_id: str) -> httpx.Response:
    return await client.delete(f"{API}/{property_id}", headers=ws.headers)


async def listing(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(API, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def keys_listed(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[str]:
    return [row["key"] for row in await listing(client, ws, **params)]


async def new_record(
    client: httpx.AsyncClient, ws: Workspace, path: str = CONTACTS, **body: Any
) -> dict[str, Any]:
    body.setdefault("name", "Alice")
    response = await client.post(path, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def properties_of(
    client: httpx.AsyncClient, ws: Workspace, record_id: str, path: str = CONTACTS
) -> dict[str, Any]:
    response = await client.get(f"{path}/{record_id}", headers=ws.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]["properties"]
    return data


async def write(
    client: httpx.AsyncClient,
    ws: Workspace,
    method: str,
    properties: Any,
    path: str = CONTACTS,
    record_id: str | None = None,
) -> httpx.Response:
    """POST a new record, or PATCH `record_id`, with these properties."""
    if method == "POST":
        return await client.post(
            path, json={"name": "Bob", "properties": properties}, headers=ws.headers
        )
    assert record_id is not None
    return await client.patch(
        f"{path}/{record_id}", json={"properties": properties}, headers=ws.headers
    )


def refused_field(response: httpx.Response) -> str | None:
    """The field a 422 names first."""
    error = assert_error(response, 422, "VALIDATION_FAILED")
    field: str | None = error["details"][0].get("field")
    return field


def detail_fields(error: dict[str, Any]) -> set[str | None]:
    return {d.get("field") for d in error["details"]}


@pytest.fixture
async def strict(database: Database, app: FastAPI) -> Workspace:
    """A workspace that refuses `properties` keys without a definition."""
    return await make_workspace(database, "Strict", settings={})


@pytest.fixture
async def lenient_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 500 response of an unhandled error instead of the exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


# --- define -------------------------------------------------------------------------------------


async def test_create_returns_201_with_the_definition(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    response = await client.post(
        API,
        json={"key": "mrr", "entity": "CONTACT", "label": "Monthly Revenue", "type": "CURRENCY"},
        headers=strict.headers,
    )

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert set(data) == PROPERTY_FIELDS
    assert uuid.UUID(data["id"])
    assert data["entity"] == "CONTACT"
    assert data["key"] == "mrr"
    assert data["label"] == "Monthly Revenue"
    assert data["type"] == "CURRENCY"
    assert data["group"] == "CUSTOM"
    assert data["description"] is None
    assert data["options"] == []
    assert data["isRequired"] is False
    assert data["isSystem"] is False
    assert data["archived"] is False
    assert data["createdAt"].endswith("Z")
    assert data["updatedAt"].endswith("Z")
    again = await fetch(client, strict, data["id"])
    assert again.status_code == 200, again.text
    assert again.json() == {"data": data}


async def test_create_keeps_group_description_options_and_required(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    data = await define(
        client,
        strict,
        "tier",
        "SELECT",
        group="BASIC",
        description="  Pricing tier  ",
        isRequired=True,
        label="  Tier ",
    )

    assert data["group"] == "BASIC"
    assert data["description"] == "Pricing tier"
    assert data["options"] == TIERS
    assert data["isRequired"] is True
    assert data["label"] == "Tier"


async def test_create_emits_property_created_with_the_record(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    data = await define(client, strict, "mrr", "NUMBER")

    [event] = await events_of_type(client, strict, "property.created")

    assert event["resourceType"] == "property"
    assert event["resourceId"] == data["id"]
    assert event["actor"] == {"type": "api_key", "id": str(strict.key_id)}
    assert event["data"] == {"record": data}


@pytest.mark.parametrize("entity", ENTITIES)
async def test_every_type_can_be_defined_for_every_entity(
    client: httpx.AsyncClient, strict: Workspace, entity: str
) -> None:
    created = {t: await define(client, strict, f"p_{t.lower()}", t, entity) for t in TYPES}

    for type_, data in created.items():
        assert data["entity"] == entity
        assert data["type"] == type_
        assert data["options"] == (TIERS if type_ in CHOICES else [])
    listed = await listing(client, strict, entity=entity, isSystem="false")
    assert {row["type"] for row in listed} == set(TYPES)
    assert [row["id"] for row in listed] == [
        created[t]["id"] for t in sorted(TYPES, key=lambda t: f"p_{t.lower()}")
    ]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "", definition("mrr", "NUMBER")),
        ("PATCH", "/{id}", {"label": "Changed"}),
        ("DELETE", "/{id}", None),
    ],
)
async def test_a_write_only_key_cannot_manage_properties(
    client: httpx.AsyncClient,
    strict: Workspace,
    database: Database,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    existing = await define(client, strict, "tier", "TEXT")
    writer = await add_key(database, strict, ["crm:read", "crm:write"])
    before = await snapshot(database)

    response = await client.request(
        method, API + suffix.format(id=existing["id"]), json=body, headers=writer
    )

    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:admin" in error["message"]
    assert await snapshot(database) == before


async def test_a_read_key_may_list_and_read(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    existing = await define(client, strict, "tier", "TEXT")
    reader = await add_key(database, strict, ["crm:read"])

    listed = await client.get(API, params={"isSystem": "false"}, headers=reader)
    one = await client.get(f"{API}/{existing['id']}", headers=reader)

    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == [existing]
    assert one.status_code == 200, one.text
    assert one.json()["data"] == existing


async def test_missing_credentials_are_401(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json=definition("mrr", "NUMBER"))

    assert_error(response, 401, "UNAUTHENTICATED")
    assert await snapshot(database) == before


# --- define refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["MRR", "1st", "has-dash", "", "a" * 65, "has space", "mrr\n", "_x"]
)
async def test_bad_key_is_422_naming_key(
    client: httpx.AsyncClient, strict: Workspace, database: Database, key: str
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json=definition(key, "TEXT"), headers=strict.headers)

    assert refused_field(response) == "key"
    assert await snapshot(database) == before


async def test_a_key_of_64_characters_is_accepted(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    data = await define(client, strict, "a" + "b_9" * 21, "TEXT")

    assert len(data["key"]) == 64


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (definition("mrr", "COLOR"), "type"),
        (definition("mrr", "NUMBER", entity="DEAL"), "entity"),
        (definition("mrr", "NUMBER", group="MISC"), "group"),
        (definition("mrr", "NUMBER", label=""), "label"),
        (definition("mrr", "NUMBER", label="x" * 201), "label"),
        (definition("mrr", "NUMBER", description="x" * 1001), "description"),
        (definition("mrr", "NUMBER", isRequired="maybe"), "isRequired"),
        (definition("mrr", "NUMBER", colour="red"), "colour"),
        ({"entity": "CONTACT", "label": "Mrr", "type": "NUMBER"}, "key"),
        ({"key": "mrr", "label": "Mrr", "type": "NUMBER"}, "entity"),
        ({"key": "mrr", "entity": "CONTACT", "type": "NUMBER"}, "label"),
        ({"key": "mrr", "entity": "CONTACT", "label": "Mrr"}, "type"),
        (
            definition("tier", "SELECT", options=[{"value": "", "label": "Empty"}]),
            "options.0.value",
        ),
        (definition("tier", "SELECT", options=[{"value": "gold"}]), "options.0.label"),
    ],
)
async def test_invalid_definition_is_422_naming_the_field(
    client: httpx.AsyncClient,
    strict: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json=body, headers=strict.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


OPTION_REFUSALS = [
    pytest.param(definition("tier", "SELECT", options=[]), id="select-without-options"),
    pytest.param(definition("tags", "MULTI_SELECT", options=[]), id="multi-without-options"),
    pytest.param(
        {"key": "tier", "entity": "CONTACT", "label": "Tier", "type": "SELECT"},
        id="select-options-omitted",
    ),
    pytest.param(definition("note", "TEXT", options=TIERS), id="options-on-text"),
    pytest.param(
        definition("tier", "SELECT", options=[*TIERS, {"value": "gold", "label": "Again"}]),
        id="duplicate-option-values",
    ),
]


@pytest.mark.parametrize("body", OPTION_REFUSALS)
async def test_options_that_do_not_fit_the_type_are_422(
    client: httpx.AsyncClient, strict: Workspace, database: Database, body: dict[str, Any]
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json=body, headers=strict.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert "options" in error["message"]
    assert await snapshot(database) == before


@pytest.mark.parametrize("body", OPTION_REFUSALS)
async def test_option_refusals_name_the_options_field(
    client: httpx.AsyncClient, strict: Workspace, body: dict[str, Any]
) -> None:
    response = await client.post(API, json=body, headers=strict.headers)

    assert refused_field(response) == "options"


async def test_empty_options_on_a_text_property_are_accepted(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    data = await define(client, strict, "note", "TEXT", options=[])

    assert data["options"] == []


async def test_a_key_defined_twice_for_an_entity_is_409(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    await define(client, strict, "mrr", "NUMBER")
    before = await snapshot(database)

    response = await client.post(API, json=definition("mrr", "TEXT"), headers=strict.headers)

    assert_error(response, 409, "PROPERTY_KEY_EXISTS")
    assert await snapshot(database) == before


async def test_an_archived_key_stays_taken(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    old = await define(client, strict, "mrr", "NUMBER")
    assert (await archive(client, strict, old["id"])).status_code == 200
    before = await snapshot(database)

    response = await client.post(API, json=definition("mrr", "NUMBER"), headers=strict.headers)

    assert_error(response, 409, "PROPERTY_KEY_EXISTS")
    assert await snapshot(database) == before


async def test_the_same_key_may_be_defined_for_another_entity_or_workspace(
    client: httpx.AsyncClient, strict: Workspace, other_workspace: Workspace
) -> None:
    contact = await define(client, strict, "mrr", "NUMBER", "CONTACT")
    company = await define(client, strict, "mrr", "CURRENCY", "COMPANY")
    membership = await define(client, strict, "mrr", "TEXT", "CONTACT_COMPANY")
    theirs = await define(client, other_workspace, "mrr", "NUMBER", "CONTACT")

    assert len({contact["id"], company["id"], membership["id"], theirs["id"]}) == 4
    assert company["type"] == "CURRENCY"


@pytest.mark.parametrize(
    ("entity", "key"),
    [
        ("CONTACT", "email"),
        ("CONTACT", "name"),
        ("CONTACT", "phone"),
        ("CONTACT", "status"),
        ("COMPANY", "domain"),
        ("COMPANY", "website"),
        ("COMPANY", "industry"),
        ("CONTACT_COMPANY", "role"),
    ],
)
async def test_a_built_in_field_key_is_409(
    client: httpx.AsyncClient, strict: Workspace, database: Database, entity: str, key: str
) -> None:
    before = await snapshot(database)

    response = await client.post(API, json=definition(key, "TEXT", entity), headers=strict.headers)

    assert_error(response, 409, "PROPERTY_KEY_EXISTS")
    assert await snapshot(database) == before


async def test_a_built_in_key_of_another_entity_is_free(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    domain = await define(client, strict, "domain", "URL", "CONTACT")
    email = await define(client, strict, "email", "EMAIL", "COMPANY")

    assert (domain["entity"], email["entity"]) == ("CONTACT", "COMPANY")


# --- list and read ------------------------------------------------------------------------------


async def test_list_shows_built_in_fields_first_then_custom_ones(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    await define(client, strict, "zeta", "TEXT")
    await define(client, strict, "alpha", "NUMBER")

    rows = await listing(client, strict, entity="CONTACT")

    builtin = system_keys("CONTACT")
    assert [r["key"] for r in rows] == [*builtin, "alpha", "zeta"]
    for row in rows[: len(builtin)]:
        assert set(row) == PROPERTY_FIELDS
        assert row["isSystem"] is True
        assert row["id"] is None
        assert row["archived"] is False
        assert row["entity"] == "CONTACT"
    for row in rows[len(builtin) :]:
        assert row["isSystem"] is False
        assert row["id"] is not None
    email = rows[0]
    assert (email["key"], email["type"], email["group"]) == ("email", "EMAIL", "CONTACT_INFO")
    status = next(r for r in rows if r["key"] == "status")
    assert [o["value"] for o in status["options"]] == ["ACTIVE", "ARCHIVED", "DELETED"]


async def test_list_without_filters_has_every_entity_system_fields_first(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    custom = await define(client, strict, "mrr", "NUMBER", "COMPANY")

    rows = await listing(client, strict)

    builtin = sum(len(system_keys(e)) for e in ENTITIES)
    assert len(rows) == builtin + 1
    assert all(r["isSystem"] for r in rows[:builtin])
    assert rows[-1] == custom
    assert {r["entity"] for r in rows} == set(ENTITIES)


async def test_list_filters_by_entity_group_and_is_system(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    await define(client, strict, "mrr", "NUMBER", "CONTACT", group="BASIC")
    await define(client, strict, "twitter", "URL", "CONTACT", group="SOCIAL")
    await define(client, strict, "arr", "CURRENCY", "COMPANY", group="BASIC")

    assert await keys_listed(client, strict, entity="COMPANY", isSystem="false") == ["arr"]
    assert await keys_listed(client, strict, entity="CONTACT", isSystem="false") == [
        "mrr",
        "twitter",
    ]
    assert await keys_listed(client, strict, entity="CONTACT", isSystem="true") == system_keys(
        "CONTACT"
    )
    assert await keys_listed(client, strict, group="SOCIAL") == ["twitter"]
    assert await keys_listed(client, strict, entity="CONTACT", group="CONTACT_INFO") == [
        "email",
        "phone",
    ]
    assert await keys_listed(client, strict, entity="CONTACT", group="BASIC", isSystem="false") == [
        "mrr"
    ]
    assert await keys_listed(client, strict, group="CUSTOM") == []
    system_only = await listing(client, strict, isSystem="true")
    assert system_only
    assert all(r["isSystem"] for r in system_only)


@pytest.mark.parametrize(
    ("param", "value"),
    [("entity", "DEAL"), ("group", "MISC"), ("isSystem", "sometimes"), ("includeArchived", "x")],
)
async def test_bad_list_filter_is_400(
    client: httpx.AsyncClient, strict: Workspace, param: str, value: str
) -> None:
    response = await client.get(API, params={param: value}, headers=strict.headers)

    error = assert_error(response, 400, "INVALID_REQUEST")
    assert param in detail_fields(error)


async def test_archived_properties_are_listed_only_when_asked(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    kept = await define(client, strict, "kept", "TEXT")
    gone = await define(client, strict, "gone", "TEXT")
    assert (await archive(client, strict, gone["id"])).status_code == 200

    hidden = await listing(client, strict, isSystem="false")
    shown = await listing(client, strict, isSystem="false", includeArchived="true")

    assert [r["id"] for r in hidden] == [kept["id"]]
    assert [(r["key"], r["archived"]) for r in shown] == [("gone", True), ("kept", False)]


async def test_an_archived_property_can_still_be_read(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    gone = await define(client, strict, "gone", "TEXT")
    await archive(client, strict, gone["id"])

    response = await fetch(client, strict, gone["id"])

    assert response.status_code == 200, response.text
    assert response.json()["data"]["archived"] is True


async def test_an_unknown_id_is_404_and_a_bad_id_400(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    unknown = await fetch(client, strict, str(uuid.uuid4()))
    bad = await fetch(client, strict, "not-a-uuid")

    assert_error(unknown, 404, "NOT_FOUND")
    assert_error(bad, 400, "INVALID_ID")


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"label": "Mine now"}), ("DELETE", None)]
)
async def test_a_property_of_another_workspace_is_404(
    client: httpx.AsyncClient,
    strict: Workspace,
    other_workspace: Workspace,
    database: Database,
    method: str,
    body: dict[str, Any] | None,
) -> None:
    theirs = await define(client, other_workspace, "mrr", "NUMBER")
    before = await snapshot(database)

    response = await client.request(
        method, f"{API}/{theirs['id']}", json=body, headers=strict.headers
    )

    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before
    assert await keys_listed(client, strict, isSystem="false") == []


# --- update -------------------------------------------------------------------------------------


async def test_patch_changes_label_group_description_and_required(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    created = await define(client, strict, "mrr", "NUMBER")

    response = await patch(
        client,
        strict,
        created["id"],
        {
            "label": "Monthly revenue",
            "group": "BASIC",
            "description": "In euros",
            "isRequired": True,
        },
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["label"] == "Monthly revenue"
    assert data["group"] == "BASIC"
    assert data["description"] == "In euros"
    assert data["isRequired"] is True
    for fixed in ("id", "key", "entity", "type", "createdAt", "options"):
        assert data[fixed] == created[fixed], fixed
    assert (await fetch(client, strict, created["id"])).json()["data"] == data


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    created = await define(client, strict, "mrr", "NUMBER", description="Kept", group="BASIC")

    response = await patch(client, strict, created["id"], {"label": "Only the label"})

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["label"] == "Only the label"
    assert (data["description"], data["group"], data["isRequired"]) == ("Kept", "BASIC", False)


async def test_patch_clears_the_description_with_null(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    created = await define(client, strict, "mrr", "NUMBER", description="Old")

    response = await patch(client, strict, created["id"], {"description": None})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["description"] is None


async def test_patch_replaces_the_options_of_a_select(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    created = await define(client, strict, "tier", "SELECT")
    options = [{"value": "bronze", "label": "Bronze"}, *TIERS]

    response = await patch(client, strict, created["id"], {"options": options})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["options"] == options


async def test_new_options_decide_which_values_are_accepted(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    created = await define(client, strict, "tier", "SELECT")
    await patch(client, strict, created["id"], {"options": [{"value": "bronze", "label": "B"}]})

    accepted = await write(client, strict, "POST", {"tier": "bronze"})
    refused = await write(client, strict, "POST", {"tier": "gold"})

    assert accepted.status_code == 201, accepted.text
    assert refused_field(refused) == "properties.tier"


async def test_patch_emits_property_updated_with_changes(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    created = await define(client, strict, "mrr", "NUMBER", label="Old")

    response = await patch(client, strict, created["id"], {"label": "New", "isRequired": True})

    [event] = await events_of_type(client, strict, "property.updated")
    assert event["resourceType"] == "property"
    assert event["resourceId"] == created["id"]
    assert event["data"]["record"] == response.json()["data"]
    assert event["data"]["changes"] == {
        "label": {"before": "Old", "after": "New"},
        "isRequired": {"before": False, "after": True},
    }


async def test_a_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    created = await define(client, strict, "mrr", "NUMBER", label="Same")
    before = await snapshot(database)

    response = await patch(client, strict, created["id"], {"label": "Same", "isRequired": False})

    assert response.status_code == 200, response.text
    assert response.json()["data"] == created
    assert await snapshot(database) == before
    assert await events_of_type(client, strict, "property.updated") == []


@pytest.mark.parametrize(
    ("type_", "body", "field"),
    [
        ("NUMBER", {"key": "other"}, "key"),
        ("NUMBER", {"type": "TEXT"}, "type"),
        ("NUMBER", {"entity": "COMPANY"}, "entity"),
        ("TEXT", {"options": TIERS}, "options"),
        ("TEXT", {"options": None}, "options"),
        ("SELECT", {"options": []}, "options"),
        ("SELECT", {"options": None}, "options"),
        ("SELECT", {"options": [*TIERS, {"value": "gold", "label": "G"}]}, "options"),
        ("NUMBER", {"label": None}, "label"),
        ("NUMBER", {"label": ""}, "label"),
        ("NUMBER", {"group": None}, "group"),
        ("NUMBER", {"group": "MISC"}, "group"),
        ("NUMBER", {"isRequired": None}, "isRequired"),
        ("NUMBER", {"description": "x" * 1001}, "description"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    strict: Workspace,
    database: Database,
    type_: str,
    body: dict[str, Any],
    field: str,
) -> None:
    created = await define(client, strict, "prop", type_)
    before = await snapshot(database)

    response = await patch(client, strict, created["id"], body)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before
    assert (await fetch(client, strict, created["id"])).json()["data"] == created


async def test_unknown_fields_in_a_patch_are_named(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    created = await define(client, strict, "mrr", "NUMBER")
    before = await snapshot(database)

    response = await patch(client, strict, created["id"], {"key": "x", "type": "TEXT"})

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert {"field": "key", "message": "Unknown field"} in error["details"]
    assert {"field": "type", "message": "Unknown field"} in error["details"]
    assert await snapshot(database) == before


@pytest.mark.parametrize(("label", "stored"), [("  Monthly revenue  ", "Monthly revenue")])
async def test_patch_strips_the_label_like_create(
    client: httpx.AsyncClient, strict: Workspace, label: str, stored: str
) -> None:
    created = await define(client, strict, "mrr", "NUMBER")

    stripped = await patch(client, strict, created["id"], {"label": label})
    blank = await patch(client, strict, created["id"], {"label": "   "})

    assert stripped.status_code == 200, stripped.text
    assert stripped.json()["data"]["label"] == stored
    assert blank.status_code in (200, 422), blank.text
    assert (await fetch(client, strict, created["id"])).json()["data"]["label"].strip()


# --- archive ------------------------------------------------------------------------------------


async def test_delete_archives_and_emits_property_archived_once(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    created = await define(client, strict, "mrr", "NUMBER")

    first = await archive(client, strict, created["id"])
    before = await snapshot(database)
    second = await archive(client, strict, created["id"])

    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert data["archived"] is True
    assert data["id"] == created["id"]
    assert data["key"] == "mrr"
    assert second.status_code == 200, second.text
    assert second.json()["data"] == data
    assert await snapshot(database) == before
    [event] = await events_of_type(client, strict, "property.archived")
    assert event["resourceId"] == created["id"]
    assert event["data"] == {"record": data}


async def test_archiving_keeps_stored_values_and_refuses_new_ones(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    created = await define(client, strict, "mrr", "NUMBER")
    await define(client, strict, "plan", "TEXT")
    alice = await new_record(client, strict, properties={"mrr": 10, "plan": "pro"})
    await archive(client, strict, created["id"])
    before = await snapshot(database)

    posted = await write(client, strict, "POST", {"mrr": 20})
    patched = await write(client, strict, "PATCH", {"mrr": 30}, record_id=alice["id"])

    for response in (posted, patched):
        assert refused_field(response) == "properties.mrr"
        assert "archived" in response.json()["error"]["message"]
    assert await snapshot(database) == before
    assert await properties_of(client, strict, alice["id"]) == {"mrr": 10, "plan": "pro"}
    other = await write(client, strict, "PATCH", {"plan": "team"}, record_id=alice["id"])
    assert other.status_code == 200, other.text
    assert other.json()["data"]["properties"] == {"mrr": 10, "plan": "team"}


async def test_an_archived_required_property_is_no_longer_required(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    created = await define(client, strict, "mrr", "NUMBER", isRequired=True)
    await archive(client, strict, created["id"])

    data = await new_record(client, strict)

    assert data["properties"] == {}


@pytest.mark.parametrize("properties", [{"mrr": None}, None], ids=["key-null", "all-null"])
async def test_a_value_of_an_archived_property_can_be_removed(
    client: httpx.AsyncClient, strict: Workspace, properties: dict[str, Any] | None
) -> None:
    created = await define(client, strict, "mrr", "NUMBER")
    alice = await new_record(client, strict, properties={"mrr": 10})
    await archive(client, strict, created["id"])

    response = await write(client, strict, "PATCH", properties, record_id=alice["id"])

    assert response.status_code == 200, response.text
    assert response.json()["data"]["properties"] == {}


# --- values of contacts -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_an_undefined_key_is_refused_until_free_properties_are_allowed(
    client: httpx.AsyncClient, strict: Workspace, database: Database, method: str
) -> None:
    alice = await new_record(client, strict)
    before = await snapshot(database)

    refused = await write(client, strict, method, {"colour": "red"}, record_id=alice["id"])

    assert refused_field(refused) == "properties.colour"
    assert await snapshot(database) == before
    opened = await client.patch(
        WORKSPACE, json={"settings": {"allowFreeProperties": True}}, headers=strict.headers
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["data"]["settings"]["allowFreeProperties"] is True
    accepted = await write(client, strict, method, {"colour": "red"}, record_id=alice["id"])
    assert accepted.status_code in (200, 201), accepted.text
    assert accepted.json()["data"]["properties"] == {"colour": "red"}


async def test_a_definition_of_another_entity_or_workspace_does_not_count(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    await define(client, strict, "arr", "NUMBER", "COMPANY")
    open_ws = await make_workspace(database, "Open-defs", settings={})
    await define(client, open_ws, "mrr", "NUMBER", "CONTACT")
    before = await snapshot(database)

    wrong_entity = await write(client, strict, "POST", {"arr": 1})
    wrong_workspace = await write(client, strict, "POST", {"mrr": 1})

    assert refused_field(wrong_entity) == "properties.arr"
    assert refused_field(wrong_workspace) == "properties.mrr"
    assert await snapshot(database) == before


async def test_removing_an_undefined_key_is_allowed(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    alice = await new_record(client, strict)

    created = await write(client, strict, "POST", {"colour": None})
    patched = await write(client, strict, "PATCH", {"colour": None}, record_id=alice["id"])

    assert created.status_code == 201, created.text
    assert created.json()["data"]["properties"] == {}
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["properties"] == {}


INVALID_VALUES = [
    ("NUMBER", "12"),
    ("NUMBER", True),
    ("NUMBER", [1]),
    ("CURRENCY", "9.99"),
    ("CURRENCY", False),
    ("BOOLEAN", "yes"),
    ("BOOLEAN", 1),
    ("BOOLEAN", "true"),
    ("DATE", "23/11/2026"),
    ("DATE", "2026-13-01"),
    ("DATE", 20261123),
    ("DATETIME", "tomorrow"),
    ("DATETIME", "2026-11-23T25:00:00"),
    ("DATETIME", 1700000000),
    ("EMAIL", "not-an-email"),
    ("EMAIL", "alice@"),
    ("EMAIL", 42),
    ("PHONE", "12"),
    ("PHONE", "not a phone"),
    ("PHONE", "415 555 2671"),
    ("PHONE", 4155552671),
    ("URL", "ftp://x"),
    ("URL", "https://acme .com"),
    ("URL", "http://[acme.com"),
    ("URL", "https://a..com/"),
    ("URL", "https://" + "a" * 64 + ".com/"),
    ("URL", 7),
    ("SELECT", "platinum"),
    ("SELECT", "GOLD"),
    ("SELECT", ["gold"]),
    ("MULTI_SELECT", ["gold", "platinum"]),
    ("MULTI_SELECT", "gold"),
    ("MULTI_SELECT", [["gold"]]),
    ("TEXT", "x" * 1001),
    ("TEXT", 42),
    ("TEXT", {"nested": "object"}),
    ("TEXTAREA", "x" * 65_537),
]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize(("type_", "value"), INVALID_VALUES)
async def test_a_value_of_the_wrong_form_is_422(
    lenient_client: httpx.AsyncClient,
    strict: Workspace,
    database: Database,
    method: str,
    type_: str,
    value: Any,
) -> None:
    await define(lenient_client, strict, "prop", type_)
    alice = await new_record(lenient_client, strict)
    before = await snapshot(database)

    response = await write(lenient_client, strict, method, {"prop": value}, record_id=alice["id"])

    assert refused_field(response) == "properties.prop"
    assert type_ in response.json()["error"]["message"]
    assert await snapshot(database) == before


VALID_VALUES = [
    ("NUMBER", 42, 42),
    ("NUMBER", -4.5, -4.5),
    ("NUMBER", 0, 0),
    ("CURRENCY", 9.99, 9.99),
    ("BOOLEAN", False, False),
    ("BOOLEAN", True, True),
    ("DATE", "2026-11-23", "2026-11-23"),
    ("DATETIME", "2026-11-23T10:00:00+01:00", "2026-11-23T09:00:00Z"),
    ("DATETIME", "2026-11-23T09:00:00Z", "2026-11-23T09:00:00Z"),
    ("DATETIME", "2026-11-23T09:00:00", "2026-11-23T09:00:00Z"),
    ("EMAIL", "Alice@Example.COM", "alice@example.com"),
    ("PHONE", "+1 (415) 555-2671", "+14155552671"),
    ("PHONE", "+44 20 7946 0958", "+442079460958"),
    ("URL", "acme.com/pricing", "https://acme.com/pricing"),
    ("URL", "http://acme.com", "http://acme.com"),
    ("SELECT", "gold", "gold"),
    ("MULTI_SELECT", ["gold", "silver", "gold"], ["gold", "silver"]),
    ("MULTI_SELECT", ["silver"], ["silver"]),
    ("TEXT", "x" * 1000, "x" * 1000),
    ("TEXT", "Hello", "Hello"),
    ("TEXTAREA", "x" * 1001, "x" * 1001),
]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize(("type_", "given", "stored"), VALID_VALUES)
async def test_a_valid_value_is_stored_normalised(
    client: httpx.AsyncClient,
    strict: Workspace,
    method: str,
    type_: str,
    given: Any,
    stored: Any,
) -> None:
    await define(client, strict, "prop", type_)
    alice = await new_record(client, strict)

    response = await write(client, strict, method, {"prop": given}, record_id=alice["id"])

    assert response.status_code in (200, 201), response.text
    data = response.json()["data"]
    assert data["properties"] == {"prop": stored}
    assert await properties_of(client, strict, data["id"]) == {"prop": stored}


async def test_a_phone_without_country_code_uses_the_workspace_region(
    client: httpx.AsyncClient, database: Database
) -> None:
    british = await make_workspace(database, "British", settings={"defaultPhoneRegion": "GB"})
    await define(client, british, "mobile", "PHONE")

    data = await new_record(client, british, properties={"mobile": "020 7946 0958"})

    assert data["properties"] == {"mobile": "+442079460958"}


@pytest.mark.parametrize("type_", ["NUMBER", "CURRENCY"])
async def test_a_huge_integer_is_422_not_500(
    lenient_client: httpx.AsyncClient, strict: Workspace, database: Database, type_: str
) -> None:
    await define(lenient_client, strict, "prop", type_)
    before = await snapshot(database)

    response = await lenient_client.post(
        CONTACTS,
        content='{"name": "Bob", "properties": {"prop": 1' + "0" * 400 + "}}",
        headers={**strict.headers, "Content-Type": "application/json"},
    )

    assert refused_field(response) == "properties.prop"
    assert await snapshot(database) == before


@pytest.mark.parametrize("blank", ["", "   "])
async def test_a_blank_url_is_not_stored_as_null_on_create(
    client: httpx.AsyncClient, strict: Workspace, blank: str
) -> None:
    await define(client, strict, "site", "URL")

    response = await write(client, strict, "POST", {"site": blank})

    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        assert "site" not in response.json()["data"]["properties"]


# --- required properties ------------------------------------------------------------------------


@pytest.mark.parametrize("properties", [{}, {"mrr": None}, {"other": "x"}])
async def test_a_required_property_missing_on_create_is_422(
    client: httpx.AsyncClient, strict: Workspace, database: Database, properties: dict[str, Any]
) -> None:
    await define(client, strict, "mrr", "NUMBER", isRequired=True)
    await define(client, strict, "other", "TEXT")
    before = await snapshot(database)

    response = await write(client, strict, "POST", properties)

    assert refused_field(response) == "properties.mrr"
    assert await snapshot(database) == before


async def test_a_required_property_present_on_create_is_accepted(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    await define(client, strict, "mrr", "NUMBER", isRequired=True)
    await define(client, strict, "flag", "BOOLEAN", isRequired=True)

    data = await new_record(client, strict, properties={"mrr": 0, "flag": False})

    assert data["properties"] == {"mrr": 0, "flag": False}


@pytest.mark.parametrize(
    "properties", [{"mrr": None}, None, {"mrr": None, "plan": "pro"}], ids=["key", "all", "mixed"]
)
async def test_a_required_property_cannot_be_removed(
    client: httpx.AsyncClient,
    strict: Workspace,
    database: Database,
    properties: dict[str, Any] | None,
) -> None:
    await define(client, strict, "mrr", "NUMBER", isRequired=True)
    await define(client, strict, "plan", "TEXT")
    alice = await new_record(client, strict, properties={"mrr": 10, "plan": "team"})
    before = await snapshot(database)

    response = await write(client, strict, "PATCH", properties, record_id=alice["id"])

    assert refused_field(response) == "properties.mrr"
    assert await snapshot(database) == before
    assert await properties_of(client, strict, alice["id"]) == {"mrr": 10, "plan": "team"}


async def test_other_fields_change_without_sending_the_required_property(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    await define(client, strict, "mrr", "NUMBER", isRequired=True)
    await define(client, strict, "plan", "TEXT")
    alice = await new_record(client, strict, properties={"mrr": 10})

    renamed = await client.patch(
        f"{CONTACTS}/{alice['id']}", json={"name": "Alice B"}, headers=strict.headers
    )
    other = await write(client, strict, "PATCH", {"plan": "pro"}, record_id=alice["id"])

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["data"]["name"] == "Alice B"
    assert other.status_code == 200, other.text
    assert other.json()["data"]["properties"] == {"mrr": 10, "plan": "pro"}


async def test_a_property_made_required_later_does_not_block_other_updates(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    mrr = await define(client, strict, "mrr", "NUMBER")
    await define(client, strict, "plan", "TEXT")
    alice = await new_record(client, strict)
    await patch(client, strict, mrr["id"], {"isRequired": True})

    response = await write(client, strict, "PATCH", {"plan": "pro"}, record_id=alice["id"])
    created = await write(client, strict, "POST", {"plan": "pro"})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["properties"] == {"plan": "pro"}
    assert refused_field(created) == "properties.mrr"


# --- merging ------------------------------------------------------------------------------------


async def test_patch_merges_properties_key_by_key(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    for key in ("a", "b", "c"):
        await define(client, strict, key, "TEXT")
    alice = await new_record(client, strict, properties={"a": "1", "b": "2"})

    response = await write(client, strict, "PATCH", {"b": None, "c": "3"}, record_id=alice["id"])

    assert response.status_code == 200, response.text
    assert response.json()["data"]["properties"] == {"a": "1", "c": "3"}
    assert await properties_of(client, strict, alice["id"]) == {"a": "1", "c": "3"}


async def test_patch_with_empty_properties_changes_nothing(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    await define(client, strict, "a", "TEXT")
    alice = await new_record(client, strict, properties={"a": "1"})
    before = await snapshot(database)

    response = await write(client, strict, "PATCH", {}, record_id=alice["id"])

    assert response.status_code == 200, response.text
    assert response.json()["data"]["properties"] == {"a": "1"}
    assert await snapshot(database) == before


async def test_patch_with_null_properties_clears_them_all(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    await define(client, strict, "a", "TEXT")
    await define(client, strict, "b", "NUMBER")
    alice = await new_record(client, strict, properties={"a": "1", "b": 2})

    response = await write(client, strict, "PATCH", None, record_id=alice["id"])

    assert response.status_code == 200, response.text
    assert response.json()["data"]["properties"] == {}


async def test_a_refused_key_in_a_patch_keeps_every_other_key(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    await define(client, strict, "a", "TEXT")
    await define(client, strict, "n", "NUMBER")
    alice = await new_record(client, strict, properties={"a": "1", "n": 1})
    before = await snapshot(database)

    response = await write(client, strict, "PATCH", {"a": "2", "n": "two"}, record_id=alice["id"])

    assert refused_field(response) == "properties.n"
    assert await snapshot(database) == before
    assert await properties_of(client, strict, alice["id"]) == {"a": "1", "n": 1}


# --- values of companies ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_company_values_are_checked_against_company_definitions(
    client: httpx.AsyncClient, strict: Workspace, database: Database, method: str
) -> None:
    await define(client, strict, "arr", "CURRENCY", "COMPANY")
    await define(client, strict, "tier", "SELECT", "COMPANY")
    await define(client, strict, "mrr", "NUMBER", "CONTACT")
    acme = await new_record(client, strict, COMPANIES, name="Acme", properties={"arr": 1})
    before = await snapshot(database)

    wrong_type = await write(client, strict, method, {"arr": "lots"}, COMPANIES, acme["id"])
    wrong_option = await write(client, strict, method, {"tier": "bronze"}, COMPANIES, acme["id"])
    undefined = await write(client, strict, method, {"colour": "red"}, COMPANIES, acme["id"])
    contact_key = await write(client, strict, method, {"mrr": 5}, COMPANIES, acme["id"])

    assert refused_field(wrong_type) == "properties.arr"
    assert refused_field(wrong_option) == "properties.tier"
    assert refused_field(undefined) == "properties.colour"
    assert refused_field(contact_key) == "properties.mrr"
    assert await snapshot(database) == before
    accepted = await write(
        client, strict, method, {"arr": 12.5, "tier": "gold"}, COMPANIES, acme["id"]
    )
    assert accepted.status_code in (200, 201), accepted.text
    assert accepted.json()["data"]["properties"] == {"arr": 12.5, "tier": "gold"}


async def test_a_required_company_property(
    client: httpx.AsyncClient, strict: Workspace, database: Database
) -> None:
    await define(client, strict, "arr", "NUMBER", "COMPANY", isRequired=True)
    await define(client, strict, "note", "TEXT", "COMPANY")
    before = await snapshot(database)

    missing = await write(client, strict, "POST", {"note": "x"}, COMPANIES)

    assert refused_field(missing) == "properties.arr"
    assert await snapshot(database) == before
    acme = await new_record(client, strict, COMPANIES, name="Acme", properties={"arr": 100})
    assert acme["properties"] == {"arr": 100}
    before = await snapshot(database)
    removed = await write(client, strict, "PATCH", {"arr": None}, COMPANIES, acme["id"])
    cleared = await write(client, strict, "PATCH", None, COMPANIES, acme["id"])
    assert refused_field(removed) == "properties.arr"
    assert refused_field(cleared) == "properties.arr"
    assert await snapshot(database) == before
    renamed = await client.patch(
        f"{COMPANIES}/{acme['id']}", json={"name": "Acme Inc"}, headers=strict.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["data"]["properties"] == {"arr": 100}


async def test_company_values_are_normalised_and_merged(
    client: httpx.AsyncClient, strict: Workspace
) -> None:
    await define(client, strict, "site", "URL", "COMPANY")
    await define(client, strict, "founded", "DATE", "COMPANY")
    await define(client, strict, "note", "TEXT", "COMPANY")
    acme = await new_record(
        client, strict, COMPANIES, name="Acme", properties={"site": "acme.com", "note": "x"}
    )

    response = await write(
        client, strict, "PATCH", {"founded": "2001-02-03", "note": None}, COMPANIES, acme["id"]
    )

    assert acme["properties"] == {"site": "https://acme.com", "note": "x"}
    assert response.status_code == 200, response.text
    assert response.json()["data"]["properties"] == {
        "site": "https://acme.com",
        "founded": "2001-02-03",
    }
