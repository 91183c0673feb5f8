"""The OpenAPI document explains every operation: a description, every parameter described, a
request example and a response example, each accepted by its own schema; and every request
example is accepted by a demo workspace (path parameters and id fields filled with its
records, and the SMTP server of the outbound email connection example with a real one on
loopback, which accepts the example's login)."""

from __future__ import annotations

import copy
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from rapport.demo.service import seed_demo
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.tenancy.service import WorkspaceService
from tests.helpers import EVERY_WORKSPACE, Workspace, add_member, custom_client, make_workspace
from tests.mail.server import Certificate, MailServer, running_mail_server, trusting

pytestmark = pytest.mark.usefixtures("app")

API = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        if path.startswith(API)
        for method, operation in item.items()
        if method in METHODS
    ]


def request_example(spec: dict[str, Any], operation: dict[str, Any]) -> Any:
    media = operation["requestBody"]["content"]["application/json"]
    if "example" in media:
        return media["example"]
    schema = resolved(spec, media["schema"])
    examples = schema.get("examples") or []
    return examples[0] if examples else None


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    found: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema
    return found


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": spec["components"]})


def test_every_operation_has_a_description(app: FastAPI) -> None:
    missing = [
        f"{m.upper()} {p}" for p, m, op in operations(app.openapi()) if not op.get("description")
    ]
    assert missing == []


def test_every_parameter_has_a_description(app: FastAPI) -> None:
    missing = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, method, operation in operations(app.openapi())
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert missing == []


def json_bodied(operation: dict[str, Any]) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def test_every_request_body_has_an_example_its_schema_accepts(app: FastAPI) -> None:
    spec = app.openapi()
    problems = []
    for path, method, operation in operations(spec):
        if not json_bodied(operation):
            continue
        example = request_example(spec, operation)
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        if example is None:
            problems.append(f"{method.upper()} {path}: no example")
        elif not validator(spec, schema).is_valid(example):
            problems.append(f"{method.upper()} {path}: example refused by its schema")
    assert problems == []


def test_every_success_response_has_an_example_its_schema_accepts(app: FastAPI) -> None:
    spec = app.openapi()
    problems = []
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            for media_type, media in response.get("content", {}).items():
                if not status.startswith("2"):
                    continue
                where = f"{method.upper()} {path} {status} {media_type}"
                if "example" not in media:
                    problems.append(f"{where}: no example")
                    continue
                errors = [
                    str(error)
                    for error in validator(spec, media["schema"]).iter_errors(media["example"])
                ]
                if errors:
                    problems.append(f"{where}: {errors[:2]}")
    assert problems == []


def test_every_part_of_a_form_body_is_described(app: FastAPI) -> None:
    """Uploads (multipart/form-data) have no JSON example to give: each part says what it
    holds instead (their refusals are tested with their domain, tests/imports)."""
    spec = app.openapi()
    problems = []
    for path, method, operation in operations(spec):
        content = operation.get("requestBody", {}).get("content", {})
        if "multipart/form-data" not in content:
            continue
        schema = resolved(spec, content["multipart/form-data"]["schema"])
        for name, part in schema.get("properties", {}).items():
            if not resolved(spec, part).get("description") and not part.get("description"):
                problems.append(f"{method.upper()} {path}: the part {name!r} is not described")
    assert problems == []


def test_list_sorting_names_the_fields_and_the_default(app: FastAPI) -> None:
    parameters = app.openapi()["paths"][f"{API}/companies"]["get"]["parameters"]
    sort_by = next(p for p in parameters if p["name"] == "sortBy")
    sort = next(p for p in parameters if p["name"] == "sort")

    assert sort_by["schema"]["enum"] == ["createdAt", "updatedAt", "name", "domain"]
    assert sort["schema"]["enum"][:3] == ["createdAt", "createdAt:asc", "createdAt:desc"]
    assert "default createdAt, descending" in sort_by["description"]


# --- request examples against a demo workspace -----------------------------------------------

PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names resolve to a public address: this machine has no public DNS, and the webhook
    example names example.com, which resolves on any connected machine."""
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("example.com", b"example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


CONNECTIONS = f"{API}/outbound-email-connections"


@pytest.fixture
def mail_server(app: FastAPI, smtp_certificate: Certificate) -> Iterator[MailServer]:
    """The SMTP server the outbound email connection example is sent to (the example names
    smtp.example.com, which no test may reach): it accepts the example's login over
    STARTTLS, with a certificate the client trusts meanwhile."""
    spec = app.openapi()
    example = request_example(spec, spec["paths"][CONNECTIONS]["post"])
    with (
        running_mail_server(
            smtp_certificate, username=example["username"], password=example["password"]
        ) as server,
        trusting(smtp_certificate),
    ):
        yield server


@pytest.fixture
async def dev_client(database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a server that may reach SMTP servers on loopback, such as `mail_server`."""
    async with custom_client(database, tmp_path, allow_private_smtp=True) as http:
        yield http


class Demo:
    """The demo workspace's records, handed out so that no two operations share a contact."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        ws: Workspace,
        user_id: uuid.UUID,
        mail_server: MailServer,
    ) -> None:
        self.client = client
        self.ws = ws
        self.user_id = user_id
        self.mail_server = mail_server
        self.contacts: list[dict[str, Any]] = []
        self.companies: list[dict[str, Any]] = []
        self.tags: dict[str, str] = {}
        self.properties: dict[str, str] = {}
        self.created: dict[str, str] = {}
        self.static_list = ""

    async def load(self) -> None:
        self.contacts = await self.rows("/contacts", take=100)
        self.companies = await self.rows("/companies", take=100)
        self.tags = {t["key"]: t["id"] for t in await self.rows("/tags", take=100)}
        self.properties = {p["key"]: p["id"] for p in await self.rows("/properties")}
        lists = await self.rows("/lists", isDynamic="false")
        self.static_list = next(row["id"] for row in lists if row["name"] == "Newsletter")

    async def rows(self, path: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(f"{API}{path}", params=params, headers=self.ws.headers)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["data"]
        return rows

    def contact(self) -> dict[str, Any]:
        return self.contacts.pop()

    def company_apart_from(self, contact: dict[str, Any]) -> str:
        """A company the contact is not a member of (demo contacts belong to the company of
        their email's domain)."""
        domain = contact["email"].rsplit("@", 1)[1]
        return next(c["id"] for c in self.companies if c["domain"] != domain)

    async def membership_of(self, contact: dict[str, Any]) -> str:
        rows = await self.rows(f"/contacts/{contact['id']}/company-memberships")
        return str(rows[0]["id"])


async def filled(demo: Demo, path: str, body: Any) -> tuple[str, Any]:
    """The operation's URL with demo records in its path, and the example with the demo's ids
    in its id fields."""
    contact = demo.contact()
    values = {
        "ref": contact["id"],
        "company_ref": demo.companies[0]["id"],
        "tag_id": demo.tags["vip"],
        "property_id": demo.properties["city"],
        "integration_key": "hubspot-main",
        "list_id": demo.static_list,
    }
    if "{membership_id}" in path:
        values["membership_id"] = await demo.membership_of(contact)
    if "{note_id}" in path:
        values["ref"], values["note_id"] = demo.created["note_contact"], demo.created["note_id"]
    for name in (
        "activity_id",
        "task_id",
        "webhook_id",
        "connection_id",
        "pipeline_id",
        "stage_id",
        "lead_id",
        "template_id",
        "campaign_id",
    ):
        if name in demo.created:
            values[name] = demo.created[name]
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    stages = await demo.rows("/pipeline-stages")
    ids: dict[str, Callable[[], Any]] = {
        "contactId": lambda: str(demo.contact()["id"]),
        "companyId": lambda: demo.company_apart_from(contact),
        "loserId": lambda: str(demo.contact()["id"]),
        "tagId": lambda: demo.tags["vip"],
        "ownerUserId": lambda: str(demo.user_id),
        "assigneeUserId": lambda: str(demo.user_id),
        "pipelineId": lambda: stages[0]["pipelineId"],
        "stageId": lambda: next(s["id"] for s in stages if s["systemKey"] == "qualified"),
        "moveLeadsTo": lambda: next(s["id"] for s in stages if s["systemKey"] == "new"),
        "stageIds": lambda: [s["id"] for s in reversed(stages)],
        "leadId": lambda: demo.created["lead_id"],
        "connectionId": lambda: demo.created["connection_id"],
        "listId": lambda: demo.static_list,
        "entityIds": lambda: [str(demo.contact()["id"])],
    }
    body = copy.deepcopy(body)
    if isinstance(body, dict):
        for field in body.keys() & ids.keys():
            body[field] = ids[field]()
    if path == CONNECTIONS:
        body.update(host=demo.mail_server.host, port=demo.mail_server.port)
    if CREATES.get(path) == "note_id":
        demo.created["note_contact"] = contact["id"]
    return url, body


CREATES = {
    f"{API}/activities": "activity_id",
    f"{API}/tasks": "task_id",
    f"{API}/webhooks": "webhook_id",
    f"{API}/pipelines": "pipeline_id",
    f"{API}/pipeline-stages": "stage_id",
    f"{API}/leads": "lead_id",
    f"{API}/contacts/{{ref}}/notes": "note_id",
    CONNECTIONS: "connection_id",
    f"{API}/templates": "template_id",
    f"{API}/campaigns": "campaign_id",
}
"""Operations whose record a later example updates, and the path parameter naming it."""


def run_order(item: tuple[str, str, dict[str, Any]]) -> tuple[int, bool, str]:
    """Creates first (later updates name what they made), a connection before the email sent
    through it, a campaign sent after its draft was changed, the workspace's own settings last
    (they may lower its rate limits)."""
    path, method, _operation = item
    creates = method == "post" and not path.endswith("/send")
    rank = 2 if path.endswith("/workspace") else (0 if creates else 1)
    return rank, path != CONNECTIONS, path


@pytest.mark.usefixtures("public_dns")
async def test_every_request_example_is_accepted_by_the_demo_workspace(
    app: FastAPI, dev_client: httpx.AsyncClient, database: Database, mail_server: MailServer
) -> None:
    spec = app.openapi()
    demo_ws = await make_workspace(database, "Demo workspace", settings={})
    async with database.transaction(workspace=demo_ws.id) as session:
        await seed_demo(Context.bound(session, demo_ws.id), count=100, seed=3)
    owner = await add_member(database, demo_ws, "owner@example.com")
    demo = Demo(dev_client, demo_ws, owner, mail_server)
    await demo.load()
    with_bodies = sorted(
        ((p, m, op) for p, m, op in operations(spec) if json_bodied(op)), key=run_order
    )
    login = next(op for p, m, op in with_bodies if p.endswith("/auth/login"))
    credentials = request_example(spec, login)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await WorkspaceService(session).add_user(
            demo_ws.id, credentials["email"], credentials["password"], name="Example user"
        )

    refused = []
    for path, method, operation in with_bodies:
        url, body = await filled(demo, path, request_example(spec, operation))
        response = await dev_client.request(method, url, json=body, headers=demo_ws.headers)
        if response.status_code >= 300:
            refused.append(f"{method.upper()} {path} -> {response.status_code} {response.text}")
            continue
        if method == "post" and path in CREATES:
            demo.created[CREATES[path]] = response.json()["data"]["id"]
    assert refused == []
