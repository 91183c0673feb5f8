"""Email consent: recorded over the API, confirmed by the person through a double opt-in link
(mailed into the local maildir when the workspace has no SMTP connection)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.auth.scopes import Scope
from rapport.kit.db import Database
from tests.campaigns.conftest import API, body_of, call, http, maildir_messages
from tests.helpers import Workspace, add_key, assert_error, events_of_type, snapshot

__all__ = ["http"]

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
async def contact(http: httpx.AsyncClient, workspace: Workspace) -> dict[str, Any]:
    return await call(http, workspace, "POST", "/contacts", {"email": "ada@example.com"}, 201)


def path_of(contact: dict[str, Any]) -> str:
    return f"/contacts/{contact['id']}/subscriptions/email"


async def test_a_contact_with_no_consent_recorded_gets_no_marketing_email(
    http: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    data = await call(http, workspace, "GET", path_of(contact))

    assert data["status"] is None
    assert data["marketable"] is False
    assert data["reason"] == "No email consent recorded"


async def test_recording_consent_changes_the_status_once_with_an_event(
    http: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any]
) -> None:
    body = {"status": "subscribed", "source": "signup form"}
    data = await call(http, workspace, "PUT", path_of(contact), body)
    again = await call(http, workspace, "PUT", path_of(contact), body)

    assert data["status"] == again["status"] == "subscribed"
    assert data["source"] == "signup form"
    assert data["marketable"] is True
    assert data["reason"] is None
    events = await events_of_type(http, workspace, "contact.email_consent_changed")
    assert len(events) == 1
    assert events[0]["data"]["status"] == "subscribed"
    assert events[0]["data"]["previousStatus"] is None

    unsubscribed = await call(
        http, workspace, "PUT", path_of(contact), {"status": "unsubscribed", "source": "phone"}
    )
    assert unsubscribed["marketable"] is False
    assert unsubscribed["reason"] == "Unsubscribed"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"status": "pending"}, "status"), ({"status": "maybe"}, "status"), ({}, "status")],
)
async def test_a_status_that_cannot_be_recorded_is_refused_and_nothing_changes(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    contact: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await http.put(f"{API}{path_of(contact)}", json=body, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in {detail["field"] for detail in error["details"]}
    assert await snapshot(database) == before


async def test_recording_consent_needs_crm_write_and_the_workspace(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
    contact: dict[str, Any],
) -> None:
    reader = await add_key(database, workspace, [Scope.CRM_READ.value])
    before = await snapshot(database)
    body = {"status": "subscribed"}

    forbidden = await http.put(f"{API}{path_of(contact)}", json=body, headers=reader)
    foreign = await http.put(f"{API}{path_of(contact)}", json=body, headers=other_workspace.headers)

    assert_error(forbidden, 403, "FORBIDDEN")
    assert_error(foreign, 404, "NOT_FOUND")
    assert await snapshot(database) == before


async def test_double_opt_in_needs_the_link_the_confirmation_email_carries(
    http: httpx.AsyncClient, workspace: Workspace, contact: dict[str, Any], tmp_path: Path
) -> None:
    await call(http, workspace, "PATCH", "/workspace", {"settings": {"emailDoubleOptIn": True}})
    subscribed = await call(http, workspace, "PUT", path_of(contact), {"status": "subscribed"})
    assert subscribed["marketable"] is False
    assert "double opt-in" in subscribed["reason"]

    pending = await call(http, workspace, "POST", path_of(contact) + "/request-confirmation", {})
    assert pending["status"] == "pending"
    assert pending["confirmationSentAt"] is not None
    [mail] = maildir_messages(tmp_path, workspace, bulk=False)
    assert mail["To"] == "ada@example.com"
    link = re.search(r'href="([^"]+)"', body_of(mail))
    assert link is not None
    path = link.group(1).removeprefix("http://127.0.0.1:8000")

    page = await http.get(path)
    assert page.status_code == 200
    assert "<form" in page.text
    assert (await call(http, workspace, "GET", path_of(contact)))["status"] == "pending"

    confirmed = await http.post(path, headers={"User-Agent": "Mail Browser/1.0"})
    assert confirmed.status_code == 200
    data = await call(http, workspace, "GET", path_of(contact))
    assert data["status"] == "subscribed"
    assert data["marketable"] is True
    assert data["confirmedAt"] is not None
    assert data["confirmationUserAgent"] == "Mail Browser/1.0"
    assert (await http.post(path)).status_code == 200  # again: nothing changes
    events = await events_of_type(http, workspace, "contact.email_consent_changed")
    assert [e["data"]["confirmed"] for e in events] == [True, False, False]

    already = await http.post(
        f"{API}{path_of(contact)}/request-confirmation", json={}, headers=workspace.headers
    )
    assert_error(already, 409, "ALREADY_CONFIRMED")


async def test_an_altered_confirmation_link_is_not_found(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    contact: dict[str, Any],
    tmp_path: Path,
) -> None:
    await call(http, workspace, "POST", path_of(contact) + "/request-confirmation", {})
    [mail] = maildir_messages(tmp_path, workspace, bulk=False)
    link = re.search(r'href="http://[^/]+([^"]+)"', body_of(mail))
    assert link is not None
    path = link.group(1)
    before = await snapshot(database)

    for altered in (path[:-1] + ("A" if path[-1] != "A" else "B"), path + "x", "/email/confirm/x"):
        response = await http.post(altered)
        assert response.status_code == 404, altered
    assert await snapshot(database) == before
