"""Email consent attacked from outside: another workspace's contacts and connections,
confirmation links altered, swapped, expired or followed after the person withdrew, and
contacts erased, deleted or merged between the email and the click. A refusal is a clear 4xx
(a page for links) and changes nothing; nothing is ever a 500."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from tests.campaigns.attack_helpers import links, path_of, token_variants
from tests.campaigns.conftest import API, body_of, call, http, mail_server, maildir_messages
from tests.helpers import Workspace, assert_error, events_of_type, snapshot
from tests.mail.server import MailServer

__all__ = ["http", "mail_server"]

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
async def ada(http: httpx.AsyncClient, workspace: Workspace) -> dict[str, Any]:
    data: dict[str, Any] = await call(
        http,
        workspace,
        "POST",
        "/contacts",
        {"email": "ada@example.com", "givenName": "Ada", "externalId": "ada-1"},
        201,
    )
    return data


def consent_path(contact: dict[str, Any]) -> str:
    return f"/contacts/{contact['id']}/subscriptions/email"


async def consent_of(http: httpx.AsyncClient, ws: Workspace, contact_id: str) -> dict[str, Any]:
    data: dict[str, Any] = await call(
        http, ws, "GET", f"/contacts/{contact_id}/subscriptions/email"
    )
    return data


async def confirmation_link(
    http: httpx.AsyncClient, ws: Workspace, contact: dict[str, Any], tmp_path: Path
) -> str:
    """Request a confirmation email for the contact; the path of the link it carries."""
    await call(http, ws, "POST", consent_path(contact) + "/request-confirmation", {})
    mail = maildir_messages(tmp_path, ws, bulk=False)[-1]
    found = re.search(r'href="(http[^"]+/email/confirm/[^"]+)"', body_of(mail))
    assert found is not None
    return path_of(found.group(1))


async def double_opt_in(http: httpx.AsyncClient, ws: Workspace) -> None:
    await call(http, ws, "PATCH", "/workspace", {"settings": {"emailDoubleOptIn": True}})


# --- another workspace's contacts and connections ---------------------------------------------


async def test_another_workspaces_contact_is_never_read_nor_changed(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
    ada: dict[str, Any],
    tmp_path: Path,
) -> None:
    await call(http, workspace, "PUT", consent_path(ada), {"status": "subscribed"})
    before = await snapshot(database)

    for ref in (ada["id"], "ada@example.com", "ADA@EXAMPLE.COM", "ada-1"):
        path = f"{API}/contacts/{ref}/subscriptions/email"
        for method, suffix, body in (
            ("GET", "", None),
            ("PUT", "", {"status": "unsubscribed"}),
            ("POST", "/request-confirmation", {}),
        ):
            response = await http.request(
                method, path + suffix, json=body, headers=other_workspace.headers
            )
            assert_error(response, 404, "NOT_FOUND")
    assert await snapshot(database) == before
    assert not (tmp_path / "maildir" / str(other_workspace.id)).exists()


async def test_another_workspaces_connection_never_sends_a_confirmation(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
    mail_server: MailServer,
    ada: dict[str, Any],
    tmp_path: Path,
) -> None:
    theirs = await call(
        http,
        other_workspace,
        "POST",
        "/outbound-email-connections",
        mail_server.connection(fromAddress="sales@globex.example"),
        201,
    )
    before = await snapshot(database)

    response = await http.post(
        f"{API}{consent_path(ada)}/request-confirmation",
        json={"connectionId": theirs["id"]},
        headers=workspace.headers,
    )

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert "connectionId" in {d["field"] for d in error["details"]}
    assert await snapshot(database) == before
    assert mail_server.received == []
    assert not (tmp_path / "maildir").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "subscribed", "source": "x" * 201}, "source"),
        ({"status": None}, "status"),
        ({"status": "subscribed", "confirmedAt": "2020-01-01T00:00:00Z"}, "confirmedAt"),
        (
            {"status": "subscribed", "contactId": "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"},
            "contactId",
        ),
        ({"status": ["subscribed"]}, "status"),
    ],
)
async def test_a_consent_that_cannot_be_recorded_is_refused_naming_the_field(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    ada: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    before = await snapshot(database)
    response = await http.put(f"{API}{consent_path(ada)}", json=body, headers=workspace.headers)

    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert field in {d["field"] for d in error["details"]}, error
    assert await snapshot(database) == before


async def test_a_confirmation_request_with_a_bad_body_is_refused(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, ada: dict[str, Any]
) -> None:
    before = await snapshot(database)
    for body in ({"connectionId": "nope"}, {"to": "evil@example.com"}, []):
        response = await http.post(
            f"{API}{consent_path(ada)}/request-confirmation", json=body, headers=workspace.headers
        )
        assert_error(response, 422, "VALIDATION_FAILED")
    assert await snapshot(database) == before


# --- confirmation links ------------------------------------------------------------------------

_SPOILED = [
    name for name in token_variants("a.b.c.d", "x") if name not in ("null byte", "encoded slash")
]


@pytest.mark.parametrize("variant", _SPOILED)
async def test_a_spoiled_confirmation_link_is_a_404_page_and_confirms_nothing(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    ada: dict[str, Any],
    tmp_path: Path,
    variant: str,
) -> None:
    await double_opt_in(http, workspace)
    path = await confirmation_link(http, workspace, ada, tmp_path)
    token = path.rsplit("/", 1)[1]
    # A validly signed link of another kind, for the same contact and workspace.
    other_kind = links().unsubscribe(workspace.id, uuid.UUID(ada["id"]))
    before = await snapshot(database)

    spoiled = token_variants(token, other_kind.rsplit("/", 1)[1])[variant]
    for method in ("GET", "POST"):
        response = await http.request(method, f"/email/confirm/{spoiled}")
        assert response.status_code == 404, (method, spoiled, response.text)
        assert response.headers["content-type"].startswith("text/html"), response.text
    assert await snapshot(database) == before
    assert (await consent_of(http, workspace, ada["id"]))["status"] == "pending"


async def test_links_of_one_kind_never_pass_as_another(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, ada: dict[str, Any]
) -> None:
    """A confirmation token on the unsubscribe or view page, and the reverse: 404 pages."""
    signer = links()
    contact_id = uuid.UUID(ada["id"])
    confirm = signer.confirmation(workspace.id, contact_id, utcnow()).rsplit("/", 1)[1]
    unsubscribe = signer.unsubscribe(workspace.id, contact_id).rsplit("/", 1)[1]
    view = signer.view(workspace.id, contact_id).rsplit("/", 1)[1]
    before = await snapshot(database)

    for method, path in (
        ("POST", f"/email/unsubscribe/{confirm}"),
        ("GET", f"/email/view/{confirm}"),
        ("POST", f"/email/confirm/{unsubscribe}"),
        ("POST", f"/email/confirm/{view}"),
        ("GET", f"/email/confirm/{view}"),
    ):
        response = await http.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"].startswith("text/html")
    assert await snapshot(database) == before


async def test_an_expired_confirmation_link_is_a_404_page(
    http: httpx.AsyncClient, database: Database, workspace: Workspace, ada: dict[str, Any]
) -> None:
    await double_opt_in(http, workspace)
    old = links().confirmation(workspace.id, uuid.UUID(ada["id"]), utcnow() - timedelta(days=31))
    before = await snapshot(database)

    for method in ("GET", "POST"):
        response = await http.request(method, path_of(old))
        assert response.status_code == 404
        assert "expired" in response.text
    assert await snapshot(database) == before


async def test_another_workspaces_confirmation_link_never_reaches_this_ones_contact(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    other_workspace: Workspace,
    ada: dict[str, Any],
) -> None:
    """Signed for the other workspace with this workspace's contact id: the other workspace
    has no such contact."""
    forged = links().confirmation(other_workspace.id, uuid.UUID(ada["id"]), utcnow())
    before = await snapshot(database)

    response = await http.post(path_of(forged))

    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert await snapshot(database) == before
    assert (await consent_of(http, workspace, ada["id"]))["status"] is None


@pytest.mark.parametrize("withdrawn", ["unsubscribed", "complained", "bounced"])
async def test_an_old_confirmation_link_never_undoes_a_later_withdrawal(
    http: httpx.AsyncClient,
    workspace: Workspace,
    ada: dict[str, Any],
    tmp_path: Path,
    withdrawn: str,
) -> None:
    await double_opt_in(http, workspace)
    path = await confirmation_link(http, workspace, ada, tmp_path)
    assert (await http.post(path)).status_code == 200
    assert (await consent_of(http, workspace, ada["id"]))["marketable"] is True
    await call(http, workspace, "PUT", consent_path(ada), {"status": withdrawn, "source": "phone"})

    again = await http.post(path)

    assert again.status_code in (200, 404, 410), again.text
    data = await consent_of(http, workspace, ada["id"])
    assert data["status"] == withdrawn, data
    assert data["marketable"] is False


async def test_a_confirmation_link_of_an_erased_contact_is_a_404_page(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    ada: dict[str, Any],
    tmp_path: Path,
) -> None:
    await double_opt_in(http, workspace)
    path = await confirmation_link(http, workspace, ada, tmp_path)
    await call(http, workspace, "POST", f"/contacts/{ada['id']}/erase", {})
    before = await snapshot(database)

    response = await http.post(path)

    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert await snapshot(database) == before


async def test_a_confirmation_link_of_a_deleted_contact_confirms_nothing(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    ada: dict[str, Any],
    tmp_path: Path,
) -> None:
    await double_opt_in(http, workspace)
    path = await confirmation_link(http, workspace, ada, tmp_path)
    await call(http, workspace, "DELETE", f"/contacts/{ada['id']}")
    before = await snapshot(database)

    response = await http.post(path)

    assert response.status_code == 404, response.text
    assert await snapshot(database) == before


async def test_a_confirmation_link_of_a_merged_contact_confirms_the_survivor(
    http: httpx.AsyncClient, workspace: Workspace, ada: dict[str, Any], tmp_path: Path
) -> None:
    await double_opt_in(http, workspace)
    survivor = await call(http, workspace, "POST", "/contacts", {"email": "ada.l@example.com"}, 201)
    path = await confirmation_link(http, workspace, ada, tmp_path)
    await call(http, workspace, "POST", f"/contacts/{survivor['id']}/merge", {"loserId": ada["id"]})

    response = await http.post(path)

    assert response.status_code == 200, response.text
    data = await consent_of(http, workspace, survivor["id"])
    assert data["status"] == "subscribed", data
    assert data["confirmedAt"] is not None


async def test_a_confirmation_goes_only_to_a_contact_that_may_get_one(
    http: httpx.AsyncClient,
    database: Database,
    workspace: Workspace,
    tmp_path: Path,
) -> None:
    nobody = await call(http, workspace, "POST", "/contacts", {"givenName": "No address"}, 201)
    blocked = await call(http, workspace, "POST", "/contacts", {"email": "b@example.com"}, 201)
    await call(http, workspace, "POST", "/suppressions", {"email": "b@example.com"}, 201)
    before = await snapshot(database)

    for contact, code in ((nobody, "NO_EMAIL_ADDRESS"), (blocked, "EMAIL_SUPPRESSED")):
        response = await http.post(
            f"{API}{consent_path(contact)}/request-confirmation", json={}, headers=workspace.headers
        )
        assert_error(response, 409, code)
    assert await snapshot(database) == before
    assert not (tmp_path / "maildir").exists()
    assert await events_of_type(http, workspace, "contact.email_consent_changed") == []
