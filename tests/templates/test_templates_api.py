"""Email templates API: CRUD with names unique in the workspace, content that must compile
(422 with field and line, nothing stored), previews for a contact of the workspace or a
sample one, the crm:campaigns scope, isolation between workspaces, and events."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from rapport.kit.db import Database
from tests.helpers import Workspace, add_key, assert_error, events_of_type, snapshot

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1"
TEMPLATES = f"{API}/templates"
FIELDS = {
    "id",
    "name",
    "subject",
    "preheader",
    "htmlBody",
    "textBody",
    "createdAt",
    "updatedAt",
}
BODY = {
    "name": "Renewal",
    "subject": "{{ contact.givenName | default('Hello') }}, your {{ company.name }} renewal",
    "preheader": "Plan: {{ contact.properties.plan }}",
    "htmlBody": "<p>Hi {{ contact.givenName | default('there') }},</p>\n"
    "<p>Your {{ contact.properties.plan | default('Starter') }} plan renews soon.</p>\n"
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
}


async def create(http: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await http.post(TEMPLATES, json={**BODY, **body}, headers=ws.headers)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{TEMPLATES}/{response.json()['data']['id']}"
    data: dict[str, Any] = response.json()["data"]
    return data


async def new_contact(http: httpx.AsyncClient, ws: Workspace, **body: Any) -> dict[str, Any]:
    response = await http.post(f"{API}/contacts", json=body, headers=ws.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_create_read_list_update_delete(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace)
    assert set(created) == FIELDS
    assert created["name"] == "Renewal"
    assert created["htmlBody"] == BODY["htmlBody"]
    assert created["textBody"] is None

    response = await client.get(f"{TEMPLATES}/{created['id']}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == created

    second = await create(client, workspace, name="Welcome", preheader=None)
    response = await client.get(TEMPLATES, params={"sortBy": "name"}, headers=workspace.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [t["name"] for t in body["data"]] == ["Renewal", "Welcome"]
    assert body["meta"]["total"] == 2
    assert second["preheader"] is None

    response = await client.patch(
        f"{TEMPLATES}/{created['id']}",
        json={"name": "Renewal v2", "preheader": None, "textBody": "Hi {{ contact.name }}"},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert (updated["name"], updated["preheader"], updated["textBody"]) == (
        "Renewal v2",
        None,
        "Hi {{ contact.name }}",
    )
    assert updated["subject"] == BODY["subject"]

    response = await client.delete(f"{TEMPLATES}/{created['id']}", headers=workspace.headers)
    assert response.status_code == 204
    response = await client.get(f"{TEMPLATES}/{created['id']}", headers=workspace.headers)
    assert_error(response, 404, "NOT_FOUND")
    response = await client.delete(f"{TEMPLATES}/{created['id']}", headers=workspace.headers)
    assert_error(response, 404, "NOT_FOUND")


async def test_events_are_recorded(client: httpx.AsyncClient, workspace: Workspace) -> None:
    created = await create(client, workspace)
    await client.patch(
        f"{TEMPLATES}/{created['id']}",
        json={"htmlBody": "<p>New</p>", "subject": "New subject"},
        headers=workspace.headers,
    )
    await client.delete(f"{TEMPLATES}/{created['id']}", headers=workspace.headers)

    [made] = await events_of_type(client, workspace, "template.created")
    assert made["resourceType"] == "template"
    assert made["resourceId"] == created["id"]
    record = made["data"]["record"]
    assert record["name"] == "Renewal"
    assert "htmlBody" not in record

    [changed] = await events_of_type(client, workspace, "template.updated")
    assert changed["data"]["changedFields"] == ["htmlBody", "subject"]
    assert changed["data"]["changes"]["subject"] == {
        "before": BODY["subject"],
        "after": "New subject",
    }
    [gone] = await events_of_type(client, workspace, "template.deleted")
    assert gone["data"]["record"]["id"] == created["id"]


async def test_a_patch_changing_nothing_emits_nothing(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace)
    response = await client.patch(
        f"{TEMPLATES}/{created['id']}",
        json={"name": "Renewal", "subject": BODY["subject"]},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == created
    assert await events_of_type(client, workspace, "template.updated") == []


async def test_a_taken_name_is_409_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    first = await create(client, workspace)
    second = await create(client, workspace, name="Other")
    before = await snapshot(database)

    response = await client.post(TEMPLATES, json=BODY, headers=workspace.headers)
    error = assert_error(response, 409, "TEMPLATE_NAME_EXISTS")
    assert error["details"] == [
        {"field": "name", "message": "Already taken", "existingId": first["id"]}
    ]
    response = await client.patch(
        f"{TEMPLATES}/{second['id']}", json={"name": "Renewal"}, headers=workspace.headers
    )
    assert_error(response, 409, "TEMPLATE_NAME_EXISTS")
    assert await snapshot(database) == before


async def test_names_are_unique_per_workspace_only(
    client: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    await create(client, workspace)
    await create(client, other_workspace)


@pytest.mark.parametrize(
    ("body", "field", "line"),
    [
        ({"subject": "Hi {{ contact.givenName "}, "subject", 1),
        ({"preheader": "{% if %}"}, "preheader", 1),
        ({"htmlBody": "<p>one</p>\n<p>two</p>\n<p>{{ contact. }}</p>"}, "htmlBody", 3),
        ({"textBody": "one\n{% for x in y %}"}, "textBody", 2),
        ({"htmlBody": "<p>x</p>\n\n{{ 'x' | nosuchfilter }}"}, "htmlBody", 3),
    ],
)
async def test_a_syntax_error_is_422_with_field_and_line_and_nothing_stored(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
    line: int,
) -> None:
    created = await create(client, workspace)
    before = await snapshot(database)

    response = await client.post(
        TEMPLATES, json={**BODY, "name": "New", **body}, headers=workspace.headers
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    [detail] = error["details"]
    assert (detail["field"], detail["line"]) == (field, line)
    assert detail["message"]

    response = await client.patch(
        f"{TEMPLATES}/{created['id']}", json=body, headers=workspace.headers
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert [(d["field"], d["line"]) for d in error["details"]] == [(field, line)]
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "  "}, "name"),
        ({"subject": " "}, "subject"),
        ({"htmlBody": "\n"}, "htmlBody"),
        ({"textBody": " "}, "textBody"),
        ({"name": "two\nlines"}, "name"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_invalid_fields_are_422(
    client: httpx.AsyncClient,
    workspace: Workspace,
    database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await client.post(TEMPLATES, json={**BODY, **body}, headers=workspace.headers)
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in {d["field"] for d in error["details"]}
    assert await snapshot(database) == before


async def test_patch_refuses_null_for_required_fields(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    created = await create(client, workspace)
    for field in ("name", "subject", "htmlBody"):
        response = await client.patch(
            f"{TEMPLATES}/{created['id']}", json={field: None}, headers=workspace.headers
        )
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert error["details"][0]["field"] == field


async def test_preview_renders_for_a_real_contact(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    template = await create(client, workspace)
    contact = await new_contact(
        client,
        workspace,
        email="grace@example.com",
        givenName="<b>Grace</b>",
        familyName="Hopper",
        properties={"plan": "Enterprise"},
    )
    response = await client.post(
        f"{API}/companies",
        json={"name": "Cobol & Co", "domain": "cobol.example"},
        headers=workspace.headers,
    )
    assert response.status_code == 201, response.text
    company = response.json()["data"]
    response = await client.post(
        f"{API}/contacts/{contact['id']}/company-memberships",
        json={"companyId": company["id"], "isPrimary": True},
        headers=workspace.headers,
    )
    assert response.status_code == 201, response.text

    response = await client.post(
        f"{TEMPLATES}/{template['id']}/preview",
        json={"contactId": contact["id"]},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    preview = response.json()["data"]
    assert set(preview) == {"subject", "preheader", "html", "text"}
    assert preview["subject"] == "<b>Grace</b>, your Cobol & Co renewal"
    assert preview["preheader"] == "Plan: Enterprise"
    assert preview["html"].startswith('<div style="display:none;')
    assert "<p>Hi &lt;b&gt;Grace&lt;/b&gt;,</p>" in preview["html"]
    assert "<p>Your Enterprise plan renews soon.</p>" in preview["html"]
    assert '<a href="https://example.com/unsubscribe/preview"' in preview["html"]
    assert preview["text"] == (
        "Hi <b>Grace</b>,\n\nYour Enterprise plan renews soon.\n\n"
        "Unsubscribe (https://example.com/unsubscribe/preview)"
    )


async def test_preview_without_company_or_values(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    template = await create(client, workspace)
    contact = await new_contact(client, workspace, email="anon@example.com")
    response = await client.post(
        f"{TEMPLATES}/{template['id']}/preview",
        json={"contactId": contact["id"]},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    preview = response.json()["data"]
    assert preview["subject"] == "Hello, your renewal"
    assert preview["preheader"] == "Plan:"
    assert "<p>Hi there,</p>" in preview["html"]
    assert "Starter plan" in preview["html"]


async def test_preview_of_another_workspaces_contact_is_404(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    template = await create(client, workspace)
    stranger = await new_contact(client, other_workspace, email="secret@example.com")
    before = await snapshot(database)
    for url, body in (
        (f"{TEMPLATES}/{template['id']}/preview", {"contactId": stranger["id"]}),
        (f"{TEMPLATES}/preview", {**_draft(), "contactId": stranger["id"]}),
        (f"{TEMPLATES}/{template['id']}/preview", {"contactId": str(uuid.uuid4())}),
    ):
        response = await client.post(url, json=body, headers=workspace.headers)
        error = assert_error(response, 404, "NOT_FOUND")
        assert "secret" not in response.text
        assert error["message"] == "Contact not found"
    assert await snapshot(database) == before


def _draft() -> dict[str, Any]:
    return {key: BODY[key] for key in ("subject", "preheader", "htmlBody")}


async def test_draft_preview_with_the_sample_contact(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    before = await snapshot(database)
    response = await client.post(
        f"{TEMPLATES}/preview",
        json={**_draft(), "textBody": "Hi {{ contact.givenName }} of {{ company.name }}"},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    preview = response.json()["data"]
    assert preview["subject"] == "Ada, your Analytical Engines Ltd renewal"
    assert preview["preheader"] == "Plan: Enterprise"
    assert "<p>Hi Ada,</p>" in preview["html"]
    assert preview["text"] == "Hi Ada of Analytical Engines Ltd"
    assert await snapshot(database) == before


async def test_draft_preview_for_a_contact(client: httpx.AsyncClient, workspace: Workspace) -> None:
    contact = await new_contact(
        client, workspace, email="lin@example.com", givenName="Lin", properties={"plan": "Pro"}
    )
    response = await client.post(
        f"{TEMPLATES}/preview",
        json={**_draft(), "contactId": contact["id"]},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["subject"] == "Lin, your renewal"
    assert "<p>Your Pro plan renews soon.</p>" in response.json()["data"]["html"]


async def test_a_render_error_in_a_preview_is_422_not_500(
    client: httpx.AsyncClient, workspace: Workspace
) -> None:
    # Saved: it compiles; it fails only when rendered.
    template = await create(
        client, workspace, htmlBody="<p>ok</p>\n{{ ''.__class__.__mro__[1].__subclasses__() }}"
    )
    contact = await new_contact(client, workspace, email="x@example.com")
    response = await client.post(
        f"{TEMPLATES}/{template['id']}/preview",
        json={"contactId": contact["id"]},
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    [detail] = error["details"]
    assert (detail["field"], detail["line"]) == ("htmlBody", 2)

    response = await client.post(
        f"{TEMPLATES}/preview",
        json={"subject": "x", "htmlBody": "<p>{{ 'x' * 3000000 }}</p>"},
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "htmlBody"

    response = await client.post(
        f"{TEMPLATES}/preview",
        json={"subject": "x", "htmlBody": "<p>\n{% endif %}</p>"},
        headers=workspace.headers,
    )
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert (error["details"][0]["field"], error["details"][0]["line"]) == ("htmlBody", 2)


async def test_without_the_campaigns_scope_is_403_and_changes_nothing(
    client: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    template = await create(client, workspace)
    contact = await new_contact(client, workspace, email="x@example.com")
    headers = await add_key(database, workspace, ["crm:read", "crm:write", "crm:admin"])
    before = await snapshot(database)
    one = f"{TEMPLATES}/{template['id']}"
    for method, url, body in (
        ("GET", TEMPLATES, None),
        ("POST", TEMPLATES, {**BODY, "name": "New"}),
        ("GET", one, None),
        ("PATCH", one, {"name": "Changed"}),
        ("DELETE", one, None),
        ("POST", f"{one}/preview", {"contactId": contact["id"]}),
        ("POST", f"{TEMPLATES}/preview", _draft()),
    ):
        response = await client.request(method, url, json=body, headers=headers)
        assert_error(response, 403, "FORBIDDEN")
    assert await snapshot(database) == before


async def test_another_workspaces_template_is_404(
    client: httpx.AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    database: Database,
) -> None:
    template = await create(client, workspace)
    contact = await new_contact(client, other_workspace, email="x@example.com")
    before = await snapshot(database)
    one = f"{TEMPLATES}/{template['id']}"
    for method, url, body in (
        ("GET", one, None),
        ("PATCH", one, {"name": "Changed"}),
        ("DELETE", one, None),
        ("POST", f"{one}/preview", {"contactId": contact["id"]}),
    ):
        response = await client.request(method, url, json=body, headers=other_workspace.headers)
        assert_error(response, 404, "NOT_FOUND")
        assert "Renewal" not in response.text
    response = await client.get(TEMPLATES, headers=other_workspace.headers)
    assert response.json()["data"] == []
    assert await snapshot(database) == before
