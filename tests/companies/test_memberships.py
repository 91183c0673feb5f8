"""Company memberships: linking contacts to companies (`/contacts/{ref}/companies` and the
`/contacts/{ref}/company-memberships` CRUD), listing both sides, one primary company per
contact, events, scopes and workspace isolation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from rapport.kit.db import Database
from rapport.models import CompanyMembership
from tests.helpers import (
    EVERY_WORKSPACE,
    Workspace,
    add_key,
    assert_error,
    events_of_type,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("app")

COMPANIES = "/api/v1/companies"
CONTACTS = "/api/v1/contacts"
EVENTS = "/api/v1/events"

MEMBERSHIP_FIELDS = {
    "id",
    "contactId",
    "companyId",
    "role",
    "isPrimary",
    "properties",
    "createdAt",
    "updatedAt",
}


async def new_company(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Acme Corp")
    response = await client.post(COMPANIES, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def new_contact(client: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await client.post(CONTACTS, json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def link(
    client: httpx.AsyncClient,
    ws: Workspace,
    contact_ref: str,
    company_id: str,
    *,
    path: str = "companies",
    **extra: Any,
) -> httpx.Response:
    return await client.post(
        f"{CONTACTS}/{contact_ref}/{path}",
        json={"companyId": company_id, **extra},
        headers=ws.headers,
    )


async def linked(
    client: httpx.AsyncClient, ws: Workspace, contact_ref: str, company_id: str, **extra: Any
) -> dict[str, Any]:
    response = await link(client, ws, contact_ref, company_id, **extra)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def patch_membership(
    client: httpx.AsyncClient, ws: Workspace, contact_ref: str, membership_id: str, body: Any
) -> httpx.Response:
    return await client.patch(
        f"{CONTACTS}/{contact_ref}/company-memberships/{membership_id}",
        json=body,
        headers=ws.headers,
    )


async def listing(
    client: httpx.AsyncClient, ws: Workspace, path: str, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = await client.get(path, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    return body["data"], body["meta"]


async def stored(database: Database) -> list[tuple[str, str, str | None, bool]]:
    """(contact id, company id, role, is primary) of every stored membership."""
    async with database.session(platform=EVERY_WORKSPACE) as session:
        rows = (await session.execute(select(CompanyMembership))).scalars().all()
    return sorted((str(m.contact_id), str(m.company_id), m.role, m.is_primary) for m in rows)


async def primaries(database: Database, contact_id: str) -> list[str]:
    """Company ids of the contact's primary memberships."""
    return [
        company
        for contact, company, _, primary in await stored(database)
        if primary and contact == contact_id
    ]


def detail_fields(error: dict[str, Any]) -> set[str | None]:
    return {d.get("field") for d in error["details"]}


def fill(template: Any, ids: dict[str, str]) -> Any:
    """`template` (a string, a dict of them, or None) with `{name}` replaced by `ids[name]`."""
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: fill(v, ids) for k, v in template.items()}
    return template


def membership_ids(rows: list[dict[str, Any]]) -> list[str]:
    """Membership ids of a listing of either shape (`membershipId` or a membership's `id`)."""
    return [row["membershipId"] if "membershipId" in row else row["id"] for row in rows]


# --- linking ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["companies", "company-memberships"])
async def test_link_returns_201_with_the_membership(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, path: str
) -> None:
    company = await new_company(client, workspace)
    contact = await new_contact(client, workspace, email="ada@example.com")

    response = await link(
        client, workspace, contact["id"], company["id"], path=path, role="  CTO ", isPrimary=True
    )

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"data"}
    data = response.json()["data"]
    assert set(data) == MEMBERSHIP_FIELDS
    assert uuid.UUID(data["id"]).version == 7
    assert data["contactId"] == contact["id"]
    assert data["companyId"] == company["id"]
    assert data["role"] == "CTO"
    assert data["isPrimary"] is True
    assert data["createdAt"].endswith("Z")
    assert await stored(database) == [(contact["id"], company["id"], "CTO", True)]


async def test_link_defaults_to_no_role_and_not_primary(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    company = await new_company(client, workspace)
    contact = await new_contact(client, workspace, email="ada@example.com")

    data = await linked(client, workspace, contact["id"], company["id"])

    assert data["role"] is None
    assert data["isPrimary"] is False


@pytest.mark.parametrize("ref_kind", ["id", "email", "externalId"])
async def test_the_contact_may_be_named_by_id_email_or_external_id(
    client: httpx.AsyncClient, workspace: Workspace, ref_kind: str
) -> None:
    company = await new_company(client, workspace)
    contact = await new_contact(client, workspace, email="ada@example.com", externalId="crm-7")
    ref = {"id": contact["id"], "email": "Ada@Example.com", "externalId": "crm-7"}[ref_kind]

    data = await linked(client, workspace, ref, company["id"], role="CEO")
    companies, _ = await listing(client, workspace, f"{CONTACTS}/{ref}/companies")

    assert data["contactId"] == contact["id"]
    assert [c["membershipId"] for c in companies] == [data["id"]]


@pytest.mark.parametrize("path", ["companies", "company-memberships"])
async def test_linking_the_same_pair_again_is_409(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, path: str
) -> None:
    primary = await new_company(client, workspace, name="Primary Co", domain="primary.com")
    other = await new_company(client, workspace, name="Other Co", domain="other.com")
    contact = await new_contact(client, workspace, email="ada@example.com")
    await linked(client, workspace, contact["id"], primary["id"], isPrimary=True)
    await linked(client, workspace, contact["id"], other["id"], role="CTO")
    before = await snapshot(database)

    response = await link(
        client, workspace, "ada@example.com", other["id"], path=path, role="CEO", isPrimary=True
    )

    assert_error(response, 409, "ALREADY_ASSOCIATED")
    assert await snapshot(database) == before
    assert await primaries(database, contact["id"]) == [primary["id"]]


async def test_unknown_company_is_422_naming_company_id(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace, email="ada@example.com")
    before = await snapshot(database)

    response = await link(client, workspace, contact["id"], str(uuid.uuid4()))

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"companyId"}
    assert await snapshot(database) == before


async def test_another_workspaces_company_is_422(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    theirs = await new_company(client, other_workspace, name="Globex")
    contact = await new_contact(client, workspace, email="ada@example.com")
    before = await snapshot(database)

    for path in ("companies", "company-memberships"):
        response = await link(client, workspace, contact["id"], theirs["id"], path=path)
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert detail_fields(error) == {"companyId"}

    assert await snapshot(database) == before


@pytest.mark.parametrize("ref", [str(uuid.uuid4()), "nobody@example.com", "no-such-ref"])
async def test_unknown_contact_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, ref: str
) -> None:
    company = await new_company(client, workspace)
    before = await snapshot(database)

    for path in ("companies", "company-memberships"):
        assert_error(await link(client, workspace, ref, company["id"], path=path), 404, "NOT_FOUND")
        response = await client.get(f"{CONTACTS}/{ref}/{path}", headers=workspace.headers)
        assert_error(response, 404, "NOT_FOUND")

    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "companyId"),
        ({"companyId": "not-a-uuid"}, "companyId"),
        ({"companyId": None}, "companyId"),
        ({"companyId": "{company}", "isPrimary": None}, "isPrimary"),
        ({"companyId": "{company}", "isPrimary": "often"}, "isPrimary"),
        ({"companyId": "{company}", "role": "x" * 201}, "role"),
        ({"companyId": "{company}", "title": "CTO"}, "title"),
    ],
)
async def test_invalid_link_body_is_422(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    company = await new_company(client, workspace)
    contact = await new_contact(client, workspace, email="ada@example.com")
    before = await snapshot(database)

    response = await client.post(
        f"{CONTACTS}/{contact['id']}/companies",
        json=fill(body, {"company": company["id"]}),
        headers=workspace.headers,
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


# --- listing both sides -------------------------------------------------------------------------


async def test_contact_companies_list_each_company_with_role_and_primary_flag(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    acme = await new_company(client, workspace, name="Acme", domain="acme.com")
    globex = await new_company(client, workspace, name="Globex", externalId="glx-1")
    contact = await new_contact(client, workspace, email="ada@example.com")
    first = await linked(client, workspace, contact["id"], acme["id"], role="CTO", isPrimary=True)
    second = await linked(client, workspace, contact["id"], globex["id"], role="Advisor")

    rows, meta = await listing(client, workspace, f"{CONTACTS}/{contact['id']}/companies")

    assert rows == [
        {"membershipId": second["id"], "role": "Advisor", "isPrimary": False, "company": globex},
        {"membershipId": first["id"], "role": "CTO", "isPrimary": True, "company": acme},
    ]
    assert meta["total"] == 2


async def test_company_contacts_list_each_contact_with_role_and_primary_flag(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    acme = await new_company(client, workspace, name="Acme", externalId="cmp-1")
    other = await new_company(client, workspace, name="Other")
    ada = await new_contact(client, workspace, email="ada@example.com", name="Ada")
    bob = await new_contact(client, workspace, email="bob@example.com", name="Bob")
    outsider = await new_contact(client, workspace, email="eve@example.com")
    ada_in = await linked(client, workspace, ada["id"], acme["id"], role="CTO", isPrimary=True)
    bob_in = await linked(client, workspace, bob["id"], acme["id"])
    await linked(client, workspace, outsider["id"], other["id"])

    by_id, meta = await listing(client, workspace, f"{COMPANIES}/{acme['id']}/contacts")
    by_external_id, _ = await listing(client, workspace, f"{COMPANIES}/cmp-1/contacts")

    assert by_id == [
        {"membershipId": bob_in["id"], "role": None, "isPrimary": False, "contact": bob},
        {"membershipId": ada_in["id"], "role": "CTO", "isPrimary": True, "contact": ada},
    ]
    assert meta["total"] == 2
    assert by_external_id == by_id


async def test_company_memberships_list_is_the_membership_records(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    globex = await new_company(client, workspace, name="Globex")
    contact = await new_contact(client, workspace, email="ada@example.com")
    first = await linked(client, workspace, contact["id"], acme["id"], role="CTO")
    second = await linked(client, workspace, contact["id"], globex["id"], isPrimary=True)

    rows, meta = await listing(client, workspace, f"{CONTACTS}/ada@example.com/company-memberships")

    assert rows == [second, first]
    assert meta["total"] == 2


async def test_contacts_filtered_by_company_id_are_only_its_members(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    empty = await new_company(client, workspace, name="Empty")
    theirs = await new_company(client, other_workspace, name="Globex")
    ada = await new_contact(client, workspace, email="ada@example.com")
    bob = await new_contact(client, workspace, email="bob@example.com")
    await new_contact(client, workspace, email="eve@example.com")
    await linked(client, workspace, ada["id"], acme["id"])
    await linked(client, workspace, bob["id"], acme["id"])

    members, meta = await listing(client, workspace, CONTACTS, companyId=acme["id"])
    nobody, _ = await listing(client, workspace, CONTACTS, companyId=empty["id"])
    foreign, _ = await listing(client, workspace, CONTACTS, companyId=theirs["id"])
    unknown, _ = await listing(client, workspace, CONTACTS, companyId=str(uuid.uuid4()))

    assert [c["id"] for c in members] == [bob["id"], ada["id"]]
    assert meta["total"] == 2
    assert nobody == foreign == unknown == []


async def test_contacts_filter_with_a_malformed_company_id_is_400(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    response = await client.get(CONTACTS, params={"companyId": "acme"}, headers=workspace.headers)

    error = assert_error(response, 400, "INVALID_REQUEST")
    assert detail_fields(error) == {"companyId"}


async def walk(client: httpx.AsyncClient, ws: Workspace, path: str, **params: Any) -> list[str]:
    """Every membership id met by following meta.nextCursor until hasMore is false."""
    rows, meta = await listing(client, ws, path, **params)
    seen = [r["membershipId"] for r in rows]
    while meta["hasMore"]:
        rows, meta = await listing(client, ws, path, **params, cursor=meta["nextCursor"])
        seen += [r["membershipId"] for r in rows]
        assert len(seen) < 50
    assert meta["nextCursor"] is None
    return seen


async def test_pagination_on_both_sides(client: httpx.AsyncClient, workspace: Workspace) -> None:
    hub = await new_company(client, workspace, name="Hub")
    person = await new_contact(client, workspace, email="hub.person@example.com")
    by_company: list[str] = []
    by_contact: list[str] = []
    for n in range(5):
        contact = await new_contact(client, workspace, email=f"p{n}@example.com")
        by_company.append((await linked(client, workspace, contact["id"], hub["id"]))["id"])
        company = await new_company(client, workspace, name=f"Company {n}")
        by_contact.append((await linked(client, workspace, person["id"], company["id"]))["id"])
    company_path = f"{COMPANIES}/{hub['id']}/contacts"
    contact_path = f"{CONTACTS}/{person['id']}/companies"

    for path, expected in ((company_path, by_company), (contact_path, by_contact)):
        newest_first = list(reversed(expected))
        rows, meta = await listing(client, workspace, path, page=2, pageSize=2)
        skipped, _ = await listing(client, workspace, path, skip=2, take=2)
        oldest, _ = await listing(client, workspace, path, sort="createdAt:asc", limit=3)
        assert [r["membershipId"] for r in rows] == newest_first[2:4]
        assert skipped == rows
        assert meta["total"] == 5
        assert meta["totalPages"] == 3
        assert meta["hasMore"] is True
        assert [r["membershipId"] for r in oldest] == expected[:3]
        assert await walk(client, workspace, path, take=2) == newest_first
        bad = await client.get(path, params={"sortBy": "name"}, headers=workspace.headers)
        assert_error(bad, 400, "INVALID_REQUEST")


# --- one primary company per contact ------------------------------------------------------------


async def test_a_new_primary_membership_demotes_the_previous_one(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    globex = await new_company(client, workspace, name="Globex")
    contact = await new_contact(client, workspace, email="ada@example.com")
    first = await linked(client, workspace, contact["id"], acme["id"], isPrimary=True)

    second = await linked(client, workspace, contact["id"], globex["id"], isPrimary=True)

    assert second["isPrimary"] is True
    assert await primaries(database, contact["id"]) == [globex["id"]]
    rows, _ = await listing(client, workspace, f"{CONTACTS}/{contact['id']}/company-memberships")
    flags = {r["id"]: r["isPrimary"] for r in rows}
    assert flags == {first["id"]: False, second["id"]: True}
    [demoted] = await events_of_type(client, workspace, "company_membership.updated")
    assert demoted["resourceType"] == "company_membership"
    assert demoted["resourceId"] == first["id"]
    assert demoted["data"]["record"]["isPrimary"] is False
    assert demoted["data"]["changes"]["isPrimary"] == {"before": True, "after": False}


async def test_a_non_primary_membership_leaves_the_primary_alone(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    globex = await new_company(client, workspace, name="Globex")
    contact = await new_contact(client, workspace, email="ada@example.com")
    await linked(client, workspace, contact["id"], acme["id"], isPrimary=True)

    await linked(client, workspace, contact["id"], globex["id"], isPrimary=False)

    assert await primaries(database, contact["id"]) == [acme["id"]]
    assert await events_of_type(client, workspace, "company_membership.updated") == []


async def test_primaries_of_different_contacts_are_independent(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    ada = await new_contact(client, workspace, email="ada@example.com")
    bob = await new_contact(client, workspace, email="bob@example.com")

    await linked(client, workspace, ada["id"], acme["id"], isPrimary=True)
    await linked(client, workspace, bob["id"], acme["id"], isPrimary=True)

    assert await primaries(database, ada["id"]) == [acme["id"]]
    assert await primaries(database, bob["id"]) == [acme["id"]]


async def test_patching_is_primary_true_demotes_the_previous_primary(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    globex = await new_company(client, workspace, name="Globex")
    initech = await new_company(client, workspace, name="Initech")
    contact = await new_contact(client, workspace, email="ada@example.com")
    first = await linked(client, workspace, contact["id"], acme["id"], isPrimary=True)
    second = await linked(client, workspace, contact["id"], globex["id"], role="CTO")
    await linked(client, workspace, contact["id"], initech["id"])

    response = await patch_membership(
        client, workspace, contact["id"], second["id"], {"isPrimary": True}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["isPrimary"] is True
    assert response.json()["data"]["role"] == "CTO"
    assert await primaries(database, contact["id"]) == [globex["id"]]
    updates = await events_of_type(client, workspace, "company_membership.updated")
    assert [(e["resourceId"], e["data"]["record"]["isPrimary"]) for e in updates] == [
        (second["id"], True),
        (first["id"], False),
    ]
    assert updates[0]["data"]["changes"]["isPrimary"] == {"before": False, "after": True}
    assert updates[0]["data"]["record"] == response.json()["data"]


@pytest.fixture
async def lenient_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 500 response of an unhandled error instead of the exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_concurrent_primary_links_never_fail_with_500(
    lenient_client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    statuses: list[int] = []
    for n in range(5):
        contact = await new_contact(lenient_client, workspace, email=f"p{n}@example.com")
        first = await new_company(lenient_client, workspace, name=f"First {n}")
        second = await new_company(lenient_client, workspace, name=f"Second {n}")
        responses = await asyncio.gather(
            link(lenient_client, workspace, contact["id"], first["id"], isPrimary=True),
            link(lenient_client, workspace, contact["id"], second["id"], isPrimary=True),
        )
        statuses += [r.status_code for r in responses]
        assert len(await primaries(database, contact["id"])) == 1

    assert set(statuses) <= {201, 409}, statuses


# --- the company-memberships CRUD ---------------------------------------------------------------


async def test_patch_changes_and_clears_the_role(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    contact = await new_contact(client, workspace, email="ada@example.com")
    membership = await linked(client, workspace, contact["id"], acme["id"], role="CTO")

    renamed = await patch_membership(
        client, workspace, "ada@example.com", membership["id"], {"role": " Decision Maker "}
    )
    cleared = await patch_membership(
        client, workspace, contact["id"], membership["id"], {"role": None}
    )

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["data"]["role"] == "Decision Maker"
    assert renamed.json()["data"]["id"] == membership["id"]
    assert set(renamed.json()["data"]) == MEMBERSHIP_FIELDS
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["data"]["role"] is None
    assert await stored(database) == [(contact["id"], acme["id"], None, False)]
    updates = await events_of_type(client, workspace, "company_membership.updated")
    assert [e["data"]["changes"] for e in updates] == [
        {"role": {"before": "Decision Maker", "after": None}},
        {"role": {"before": "CTO", "after": "Decision Maker"}},
    ]


async def test_patch_is_primary_false_unsets_the_primary(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    contact = await new_contact(client, workspace, email="ada@example.com")
    membership = await linked(client, workspace, contact["id"], acme["id"], isPrimary=True)

    response = await patch_membership(
        client, workspace, contact["id"], membership["id"], {"isPrimary": False}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["isPrimary"] is False
    assert await primaries(database, contact["id"]) == []


@pytest.mark.parametrize("body", [{}, {"role": "CTO"}, {"role": "  CTO  ", "isPrimary": True}])
async def test_a_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database, body: dict[str, Any]
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    contact = await new_contact(client, workspace, email="ada@example.com")
    membership = await linked(
        client, workspace, contact["id"], acme["id"], role="CTO", isPrimary=True
    )
    before = await snapshot(database)

    response = await patch_membership(client, workspace, contact["id"], membership["id"], body)

    assert response.status_code == 200, response.text
    assert response.json()["data"] == membership
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"isPrimary": None}, "isPrimary"),
        ({"isPrimary": "yes please"}, "isPrimary"),
        ({"role": "x" * 201}, "role"),
        ({"companyId": str(uuid.uuid4())}, "companyId"),
    ],
)
async def test_invalid_membership_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    contact = await new_contact(client, workspace, email="ada@example.com")
    membership = await linked(client, workspace, contact["id"], acme["id"], role="CTO")
    before = await snapshot(database)

    response = await patch_membership(
        client, workspace, contact["id"], membership["id"], {"role": "CEO", **body}
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in detail_fields(error)
    assert await snapshot(database) == before


async def test_delete_membership_is_204_then_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    contact = await new_contact(client, workspace, email="ada@example.com")
    membership = await linked(client, workspace, contact["id"], acme["id"], isPrimary=True)
    url = f"{CONTACTS}/{contact['id']}/company-memberships/{membership['id']}"

    response = await client.delete(url, headers=workspace.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert await stored(database) == []
    rows, _ = await listing(client, workspace, f"{CONTACTS}/{contact['id']}/company-memberships")
    assert rows == []
    assert (
        await client.get(f"{CONTACTS}/{contact['id']}", headers=workspace.headers)
    ).status_code == 200
    assert (
        await client.get(f"{COMPANIES}/{acme['id']}", headers=workspace.headers)
    ).status_code == 200

    before = await snapshot(database)
    assert_error(await client.delete(url, headers=workspace.headers), 404, "NOT_FOUND")
    response = await patch_membership(
        client, workspace, contact["id"], membership["id"], {"role": "X"}
    )
    assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before

    again = await linked(client, workspace, contact["id"], acme["id"])
    assert again["id"] != membership["id"]


async def test_another_contacts_membership_id_in_the_path_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    ada = await new_contact(client, workspace, email="ada@example.com")
    bob = await new_contact(client, workspace, email="bob@example.com")
    adas = await linked(client, workspace, ada["id"], acme["id"], role="CTO")
    before = await snapshot(database)

    url = f"{CONTACTS}/{bob['id']}/company-memberships/{adas['id']}"
    patched = await client.patch(url, json={"role": "CEO"}, headers=workspace.headers)
    deleted = await client.delete(url, headers=workspace.headers)
    unknown = await client.delete(
        f"{CONTACTS}/{ada['id']}/company-memberships/{uuid.uuid4()}", headers=workspace.headers
    )

    for response in (patched, deleted, unknown):
        assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_malformed_membership_id_is_400(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    contact = await new_contact(client, workspace, email="ada@example.com")
    before = await snapshot(database)

    url = f"{CONTACTS}/{contact['id']}/company-memberships/not-an-id"
    patched = await client.patch(url, json={"role": "CEO"}, headers=workspace.headers)
    deleted = await client.delete(url, headers=workspace.headers)
    unlinked = await client.delete(
        f"{CONTACTS}/{contact['id']}/companies/not-an-id", headers=workspace.headers
    )

    for response in (patched, deleted, unlinked):
        assert_error(response, 400, "INVALID_ID")
    assert await snapshot(database) == before


# --- unlinking by company -----------------------------------------------------------------------


async def test_unlink_by_company_id_is_204(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    globex = await new_company(client, workspace, name="Globex")
    contact = await new_contact(client, workspace, email="ada@example.com", externalId="crm-7")
    await linked(client, workspace, contact["id"], acme["id"], role="CTO")
    await linked(client, workspace, contact["id"], globex["id"])

    response = await client.delete(
        f"{CONTACTS}/crm-7/companies/{acme['id']}", headers=workspace.headers
    )

    assert response.status_code == 204
    assert await stored(database) == [(contact["id"], globex["id"], None, False)]
    rows, _ = await listing(client, workspace, f"{COMPANIES}/{acme['id']}/contacts")
    assert rows == []


async def test_unlinking_an_unlinked_pair_is_404(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    globex = await new_company(client, workspace, name="Globex")
    ada = await new_contact(client, workspace, email="ada@example.com")
    bob = await new_contact(client, workspace, email="bob@example.com")
    await linked(client, workspace, ada["id"], acme["id"])
    await linked(client, workspace, bob["id"], globex["id"])
    before = await snapshot(database)

    for contact_id, company_id in (
        (ada["id"], globex["id"]),
        (bob["id"], acme["id"]),
        (ada["id"], str(uuid.uuid4())),
    ):
        response = await client.delete(
            f"{CONTACTS}/{contact_id}/companies/{company_id}", headers=workspace.headers
        )
        assert_error(response, 404, "NOT_FOUND")

    assert await snapshot(database) == before


# --- events -------------------------------------------------------------------------------------


async def test_membership_events_carry_the_record(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    globex = await new_company(client, workspace, name="Globex")
    contact = await new_contact(client, workspace, email="ada@example.com")
    first = await linked(client, workspace, contact["id"], acme["id"], role="CTO")
    second = await linked(client, workspace, contact["id"], globex["id"])
    patched = await patch_membership(client, workspace, contact["id"], first["id"], {"role": "CEO"})
    assert patched.status_code == 200
    by_membership = await client.delete(
        f"{CONTACTS}/{contact['id']}/company-memberships/{first['id']}", headers=workspace.headers
    )
    by_company = await client.delete(
        f"{CONTACTS}/{contact['id']}/companies/{globex['id']}", headers=workspace.headers
    )
    assert (by_membership.status_code, by_company.status_code) == (204, 204)

    created = await events_of_type(client, workspace, "company_membership.created")
    updated = await events_of_type(client, workspace, "company_membership.updated")
    deleted = await events_of_type(client, workspace, "company_membership.deleted")
    family = await events_of_type(client, workspace, "company_membership.*")

    assert [e["data"] for e in created] == [{"record": second}, {"record": first}]
    [update] = updated
    assert update["data"] == {
        "record": patched.json()["data"],
        "changes": {"role": {"before": "CTO", "after": "CEO"}},
    }
    assert [e["data"] for e in deleted] == [{"record": second}, {"record": patched.json()["data"]}]
    for event in family:
        assert event["resourceType"] == "company_membership"
        assert event["actor"] == {"type": "api_key", "id": str(workspace.key_id)}
    assert [e["resourceId"] for e in deleted] == [second["id"], first["id"]]
    assert len(family) == 5


async def test_refused_membership_writes_leave_no_event(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    acme = await new_company(client, workspace, name="Acme")
    contact = await new_contact(client, workspace, email="ada@example.com")
    await linked(client, workspace, contact["id"], acme["id"])

    refused = [
        await link(client, workspace, contact["id"], acme["id"]),
        await link(client, workspace, contact["id"], str(uuid.uuid4())),
        await client.delete(
            f"{CONTACTS}/{contact['id']}/companies/{uuid.uuid4()}", headers=workspace.headers
        ),
    ]

    assert [r.status_code for r in refused] == [409, 422, 404]
    assert len(await events_of_type(client, workspace, "company_membership.*")) == 1


# --- scopes and workspaces ----------------------------------------------------------------------


async def seeded(client: httpx.AsyncClient, ws: Workspace) -> dict[str, str]:
    """A contact in two companies: one linked (`membership`), one not yet (`spare`)."""
    acme = await new_company(client, ws, name="Acme", externalId="cmp-1")
    spare = await new_company(client, ws, name="Spare")
    contact = await new_contact(client, ws, email="ada@example.com", externalId="crm-7")
    membership = await linked(client, ws, contact["id"], acme["id"], role="CTO", isPrimary=True)
    return {
        "contact": contact["id"],
        "company": acme["id"],
        "spare": spare["id"],
        "membership": membership["id"],
    }


WRITES = [
    ("POST", "/contacts/{contact}/companies", {"companyId": "{spare}"}),
    ("POST", "/contacts/{contact}/company-memberships", {"companyId": "{spare}"}),
    ("PATCH", "/contacts/{contact}/company-memberships/{membership}", {"role": "CEO"}),
    ("PATCH", "/contacts/{contact}/company-memberships/{membership}", {"isPrimary": False}),
    ("DELETE", "/contacts/{contact}/company-memberships/{membership}", None),
    ("DELETE", "/contacts/{contact}/companies/{company}", None),
]
READS = [
    "/contacts/{contact}/companies",
    "/contacts/{contact}/company-memberships",
    "/companies/{company}/contacts",
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_read_only_key_cannot_write_memberships(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    ids = await seeded(client, workspace)
    reader = await add_key(database, workspace, ["crm:read"])
    before = await snapshot(database)

    response = await client.request(
        method, "/api/v1" + fill(path, ids), json=fill(body, ids), headers=reader
    )

    error = assert_error(response, 403, "FORBIDDEN")
    assert "crm:write" in error["message"]
    assert await snapshot(database) == before


async def test_read_only_key_can_read_memberships(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    ids = await seeded(client, workspace)
    reader = await add_key(database, workspace, ["crm:read"])

    for path in READS:
        response = await client.get("/api/v1" + fill(path, ids), headers=reader)
        assert response.status_code == 200, response.text
        assert membership_ids(response.json()["data"]) == [ids["membership"]]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_another_workspace_cannot_write_the_owners_memberships(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    ids = await seeded(client, workspace)
    await seeded(client, other_workspace)  # the same email and externalIds exist there too
    before = await snapshot(database)

    response = await client.request(
        method, "/api/v1" + fill(path, ids), json=fill(body, ids), headers=other_workspace.headers
    )

    assert_error(response, 404, "NOT_FOUND")

    assert await snapshot(database) == before


async def test_another_workspace_cannot_read_the_owners_memberships(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    ids = await seeded(client, workspace)
    before = await snapshot(database)

    for ref in (ids["contact"], "ada@example.com", "crm-7"):
        for path in READS[:2]:
            response = await client.get(
                "/api/v1" + fill(path, {**ids, "contact": ref}), headers=other_workspace.headers
            )
            assert_error(response, 404, "NOT_FOUND")
    for ref in (ids["company"], "cmp-1"):
        response = await client.get(f"{COMPANIES}/{ref}/contacts", headers=other_workspace.headers)
        assert_error(response, 404, "NOT_FOUND")
    listed, _ = await listing(client, other_workspace, CONTACTS, companyId=ids["company"])
    assert listed == []

    assert await snapshot(database) == before


async def test_another_workspace_cannot_link_its_contact_to_the_owners_company(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    ids = await seeded(client, workspace)
    theirs = await new_contact(client, other_workspace, email="eve@example.com")
    before = await snapshot(database)

    response = await link(client, other_workspace, theirs["id"], ids["company"])

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert detail_fields(error) == {"companyId"}
    assert await snapshot(database) == before


async def test_deleted_contacts_are_not_listed_among_a_companys_contacts(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    company = await new_company(client, workspace, name="Acme")
    kept = await new_contact(client, workspace, email="kept@example.com")
    gone = await new_contact(client, workspace, email="gone@example.com")
    for contact in (kept, gone):
        await link(client, workspace, contact["id"], company["id"])
    response = await client.delete(f"/api/v1/contacts/{gone['id']}", headers=workspace.headers)
    assert response.status_code == 200

    response = await client.get(
        f"/api/v1/companies/{company['id']}/contacts", headers=workspace.headers
    )
    assert [row["contact"]["id"] for row in response.json()["data"]] == [kept["id"]]
    assert response.json()["meta"]["total"] == 1
