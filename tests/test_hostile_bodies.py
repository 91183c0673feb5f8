"""Hostile values in every field of every request body: lone surrogates, numbers no column or
JSON encoder holds, non-finite numbers, deep nesting, huge arrays and strings, NUL characters.

Every write operation and its body fields come from the OpenAPI document; each field is sent
a hostile value (as the field, inside an object field, as an item of an array field) in an
otherwise valid body, to records made first so that updates reach the body's checks. The
answer is never a 5xx, a 4xx carries the error envelope, and a refusal changes nothing. A
workspace with free properties takes every body; one without them takes hostile values for a
defined property of each type. Bodies are raw JSON text (`\\ud800`, `NaN`, `1e400` written
out), as no JSON encoder would produce them.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from rapport.app import create_app
from rapport.kit.db import Base, Database
from rapport.models import PropertyEntity, PropertyType
from tests.helpers import EVERY_WORKSPACE, Workspace, add_member, make_settings, make_workspace
from tests.mail.server import Certificate, MailServer, running_mail_server

API = "/api/v1"
MARK = "__hostile__"

KINDS: dict[str, str] = {
    "lone-surrogate": '"\\ud800"',
    "surrogate-in-text": '"a\\udc00b"',
    "integer-400-digits": "1" + "0" * 399,
    "10**30": str(10**30),
    "-2**63-1": str(-(2**63) - 1),
    "1e400": "1e400",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "array-depth-1000": "[" * 1000 + "]" * 1000,
    "object-depth-1000": '{"a":' * 1000 + "1" + "}" * 1000,
    "array-depth-50": "[" * 50 + "]" * 50,
    "object-depth-50": '{"a":' * 50 + "1" + "}" * 50,
    "array-100000-items": "[" + ",".join(["1"] * 100_000) + "]",
    "string-1MB": '"' + "a" * 1_000_000 + '"',
    "nul": '"a\\u0000b"',
}
"""Raw JSON of each hostile value."""

GROUPS = {
    "text": ["lone-surrogate", "surrogate-in-text", "nul"],
    "numbers": [
        "integer-400-digits",
        "10**30",
        "-2**63-1",
        "1e400",
        "NaN",
        "Infinity",
        "-Infinity",
    ],
    "nesting": ["array-depth-1000", "object-depth-1000", "array-depth-50", "object-depth-50"],
    "array-100000-items": ["array-100000-items"],
    "string-1MB": ["string-1MB"],
}
"""The kinds, a test each group (the big ones alone)."""

BIG = {"array-100000-items", "string-1MB"}
BIG_STRIDE = 4
"""Reading a big value takes a tenth of a second: the big kinds go into every object and
array field, but as a plain field into every fourth one only (the same type and length
checks refuse them in each), which saves a quarter of a minute per database."""

SURROGATE_KEY = '{"\\ud800": 1, "a\\udfffb": "x"}'
"""An object whose keys hold lone surrogates, sent as an object field."""

NEVER_STORED = {
    "nul",
    "lone-surrogate",
    "surrogate-in-text",
    "surrogate-key",
    "1e400",
    "NaN",
    "Infinity",
    "-Infinity",
}
"""Kinds no database column holds (no UTF-8 text has a lone surrogate, PostgreSQL text no
NUL, no number is infinite): accepting one is a failure too."""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    name: str
    example: dict[str, Any]
    shapes: dict[str, str]
    """Each body field's shape: "object", "array" or "value"."""


@dataclass(frozen=True)
class Case:
    operation: Operation
    field: str
    placement: str
    """"field" (the field is the value), "in-object" ({"fuzz": value}), "in-array" ([value]),
    "key" (an object with surrogate keys) or "value of <key>" (`raw` is the whole object)."""
    kind: str
    raw: str

    def fragment(self) -> str:
        if self.placement == "in-object":
            return f'{{"fuzz": {self.raw}}}'
        if self.placement == "in-array":
            return f"[{self.raw}]"
        return self.raw

    def __str__(self) -> str:
        return f"{self.operation.name} {self.field} [{self.placement}] {self.kind}"


def write_operations(spec: dict[str, Any]) -> list[Operation]:
    """Every operation with a JSON body, the workspace's own settings last (a change there
    would change how later bodies are read)."""
    components = spec["components"]["schemas"]

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def shape(schema: dict[str, Any]) -> str:
        kinds = {resolved(s).get("type") for s in schema.get("anyOf", [schema])}
        return "object" if "object" in kinds else "array" if "array" in kinds else "value"

    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is None or "application/json" not in body["content"]:
                continue  # uploads: their hostile files and options are tested in tests/imports
            schema = resolved(body["content"]["application/json"]["schema"])
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    name=f"{method.upper()} {path}",
                    example=schema["examples"][0],
                    shapes={k: shape(v) for k, v in schema["properties"].items()},
                )
            )
    return sorted(found, key=lambda op: op.path.endswith("/workspace"))


def cases_of(operations: list[Operation], kinds: list[str]) -> list[Case]:
    """Each kind as each field (see BIG_STRIDE), inside each object field, as an item of each
    array field."""
    fields = [(op, name, shape) for op in operations for name, shape in op.shapes.items()]
    cases = []
    for kind in kinds:
        raw = KINDS[kind]
        for index, (operation, name, shape) in enumerate(fields):
            if shape != "value" or kind not in BIG or index % BIG_STRIDE == 0:
                cases.append(Case(operation, name, "field", kind, raw))
            if shape == "object":
                cases.append(Case(operation, name, "in-object", kind, raw))
            if shape == "array":
                cases.append(Case(operation, name, "in-array", kind, raw))
    return cases


UNIQUE_VALUES = {
    "email": "fuzz{n}@example.com",
    "externalId": "fuzz-{n}",
    "domain": "fuzz{n}.example",
    "key": "fuzz{n}",
}
"""Values unique in a workspace, made afresh for each body."""
LOOPBACK_HOOK = "http://127.0.0.1:9/hook"
ERASE = f"{API}/contacts/{{ref}}/erase"
MEMBERSHIP_CREATES = {
    f"{API}/contacts/{{ref}}/companies",
    f"{API}/contacts/{{ref}}/company-memberships",
}


@dataclass
class Records:
    """The records hostile bodies are sent about: path parameters and the ids a valid body
    names."""

    client: httpx.AsyncClient
    ws: Workspace
    mail_server: MailServer
    user_id: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    default_stages: list[str] = field(default_factory=list)
    counter: int = 0

    async def post(self, path: str, body: dict[str, Any]) -> str:
        response = await self.client.post(f"{API}{path}", json=body, headers=self.ws.headers)
        assert response.status_code == 201, response.text
        record_id: str = response.json()["data"]["id"]
        return record_id

    async def make(self) -> None:
        contact = await self.post("/contacts", {"email": "ada@example.com", "name": "Ada"})
        company = await self.post("/companies", {"name": "Acme", "domain": "acme.com"})
        self.ids = {
            "ref": contact,
            "company_ref": company,
            "loser": await self.post("/contacts", {"email": "bob@example.com"}),
            "membership_id": await self.post(
                f"/contacts/{contact}/company-memberships", {"companyId": company}
            ),
            "free_company": await self.post("/companies", {"name": "Free"}),
            "tag_id": await self.post("/tags", {"key": "vip", "name": "VIP"}),
            "property_id": await self.post(
                "/properties",
                {"key": "city", "entity": "CONTACT", "label": "City", "type": "TEXT"},
            ),
            "activity_id": await self.post(
                "/activities", {"type": "CALL", "contactId": contact, "subject": "Hello"}
            ),
            "note_id": await self.post(f"/contacts/{contact}/notes", {"content": "A note"}),
            "task_id": await self.post("/tasks", {"title": "Call back", "contactId": contact}),
            "webhook_id": await self.post("/webhooks", {"url": LOOPBACK_HOOK, "eventTypes": ["*"]}),
            "connection_id": await self.post(
                "/outbound-email-connections", self.mail_server.connection()
            ),
            "integration_key": "hubspot-main",
            "pipeline_id": await self.post("/pipelines", {"name": "Partners"}),
            "list_id": await self.post("/lists", {"name": "Newsletter"}),
            "template_id": await self.post(
                "/templates", {"name": "Welcome", "subject": "Hi", "htmlBody": "<p>Hi</p>"}
            ),
            "campaign_id": await self.post(
                "/campaigns",
                {
                    "name": "Spring",
                    "subject": "Hi",
                    "htmlBody": "<p>Hi</p>",
                    "fromAddress": "news@acme.example",
                    "audience": {"filter": "email exists"},
                },
            ),
        }
        self.ids["stage_id"] = await self.post(
            "/pipeline-stages", {"name": "Scoping", "pipelineId": self.ids["pipeline_id"]}
        )
        self.ids["lead_id"] = await self.post("/leads", {"title": "Acme", "contactId": contact})
        response = await self.client.get(f"{API}/pipeline-stages", headers=self.ws.headers)
        self.default_stages = [stage["id"] for stage in response.json()["data"]]

    def url(self, operation: Operation) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self.ids[m.group(1)], operation.path)

    def body(self, operation: Operation) -> dict[str, Any]:
        """The operation's example with this workspace's ids and values no earlier request
        holds (an accepted hostile body must not make the next one a conflict)."""
        self.counter += 1
        body = dict(operation.example)
        references = {
            "contactId": self.ids["ref"],
            "companyId": self.ids["company_ref"],
            "loserId": self.ids["loser"],
            "tagId": self.ids["tag_id"],
            "ownerUserId": self.user_id,
            "assigneeUserId": self.user_id,
            "leadId": self.ids["lead_id"],
            "stageId": self.default_stages[1],
            "moveLeadsTo": self.default_stages[0],
            "stageIds": self.default_stages,
            "connectionId": self.ids["connection_id"],
            "listId": self.ids["list_id"],
        }
        if operation.path in MEMBERSHIP_CREATES:
            references["companyId"] = self.ids["free_company"]
        for name in body.keys() & references.keys():
            body[name] = references[name]
        for name in body.keys() & UNIQUE_VALUES.keys():
            body[name] = UNIQUE_VALUES[name].format(n=self.counter)
        if "url" in body:  # no name resolves here
            body["url"] = LOOPBACK_HOOK
        return body

    async def accepted(self, operation: Operation) -> None:
        """After a hostile body was accepted: a membership needs a company the contact has
        not joined yet, and an erased contact is gone (the next bodies are about another)."""
        if operation.path in MEMBERSHIP_CREATES:
            self.ids["free_company"] = await self.post("/companies", {"name": "Free"})
        if operation.path == ERASE:
            self.ids["ref"] = await self.post("/contacts", {"name": "Ada"})


@pytest.fixture
async def hostile_client(database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """No rate limits (thousands of writes per minute), and webhooks and outbound email
    connections may name loopback."""
    settings = make_settings(
        tmp_path, rate_limits_enabled=False, allow_private_webhooks=True, allow_private_smtp=True
    )
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def mail_server(smtp_certificate: Certificate) -> Iterator[MailServer]:
    """The SMTP server of the outbound email connection hostile bodies are sent about."""
    with running_mail_server(smtp_certificate) as server:
        yield server


async def records_in(
    client: httpx.AsyncClient, database: Database, settings: dict[str, Any], smtp: MailServer
) -> Records:
    ws = await make_workspace(database, "Hostile", settings=settings)
    owner = await add_member(database, ws, "owner@example.com")
    records = Records(client, ws, smtp, str(owner))
    await records.make()
    return records


async def fingerprint(database: Database) -> tuple[Any, ...]:
    """Rows per table and the latest change of each table having `updated_at`: what a write
    alters. (helpers.snapshot() compares every row, but accepted hostile values, megabytes
    of them, make every later snapshot slow.)"""
    parts: list[Any] = []
    for table in Base.metadata.sorted_tables:
        parts.append(select(func.count()).select_from(table).scalar_subquery())
        if "updated_at" in table.c:
            parts.append(select(func.max(table.c.updated_at)).scalar_subquery())
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return tuple((await session.execute(select(*parts))).one())


def summary(exc: BaseException) -> str:
    """The exception's first line and the last line of ours it passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/rapport/" in f.filename]
    where = ""
    if frames:
        where = f" at rapport/{frames[-1].filename.rsplit('/rapport/', 1)[1]}:{frames[-1].lineno}"
    message = str(exc).split("\n", 1)[0][:160]
    return f"500 {type(exc).__name__}: {message}{where}"


async def failed(problem: str, database: Database, before: Any) -> tuple[str, Any]:
    after = await fingerprint(database)
    return (problem if after == before else f"{problem}; the database changed"), after


async def send(
    records: Records, database: Database, case: Case, body: dict[str, Any], before: Any
) -> tuple[str | None, Any]:
    """Send one hostile body; what is wrong with the answer (None if nothing), and the state
    of the database afterwards."""
    raw = json.dumps({**body, case.field: MARK}).replace(f'"{MARK}"', case.fragment())
    headers = {**records.ws.headers, "Content-Type": "application/json"}
    try:
        response = await records.client.request(
            case.operation.method,
            records.url(case.operation),
            content=raw.encode(),
            headers=headers,
        )
    except Exception as exc:  # the app's own 500: the transport hands us its exception
        return await failed(summary(exc), database, before)
    status = response.status_code
    if status >= 500:
        return await failed(f"{status} {response.text[:200]}", database, before)
    if status < 300:
        await records.accepted(case.operation)
        problem = f"{status} accepted" if case.kind in NEVER_STORED else None
        return problem, await fingerprint(database)
    after = await fingerprint(database)
    if not has_envelope(response):
        return f"{status} without the error envelope: {response.text[:200]}", after
    if after != before:
        return f"{status} refused, but the database changed", after
    return None, after


def has_envelope(response: httpx.Response) -> bool:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return all(error.get(name) for name in ("code", "message", "requestId"))


async def run(records: Records, database: Database, cases: list[Case]) -> list[str]:
    failures = []
    state = await fingerprint(database)
    for case in cases:
        problem, state = await send(records, database, case, records.body(case.operation), state)
        if problem is not None:
            failures.append(f"{case}: {problem}")
    return failures


@pytest.mark.parametrize("group", list(GROUPS))
async def test_every_body_field_refuses_a_hostile_value_cleanly(
    app: FastAPI,
    hostile_client: httpx.AsyncClient,
    database: Database,
    mail_server: MailServer,
    group: str,
) -> None:
    records = await records_in(hostile_client, database, {"allowFreeProperties": True}, mail_server)
    cases = cases_of(write_operations(app.openapi()), GROUPS[group])
    failures = await run(records, database, cases)
    assert failures == [], "\n".join(failures)


async def test_object_fields_refuse_keys_with_lone_surrogates(
    app: FastAPI, hostile_client: httpx.AsyncClient, database: Database, mail_server: MailServer
) -> None:
    records = await records_in(hostile_client, database, {"allowFreeProperties": True}, mail_server)
    cases = [
        Case(operation, name, "key", "surrogate-key", SURROGATE_KEY)
        for operation in write_operations(app.openapi())
        for name, shape in operation.shapes.items()
        if shape == "object"
    ]
    assert len(cases) > 10
    failures = await run(records, database, cases)
    assert failures == [], "\n".join(failures)


ENTITY_OPERATIONS = {
    PropertyEntity.CONTACT: "POST /api/v1/contacts",
    PropertyEntity.COMPANY: "PATCH /api/v1/companies/{company_ref}",
    PropertyEntity.CONTACT_COMPANY: (
        "PATCH /api/v1/contacts/{ref}/company-memberships/{membership_id}"
    ),
}
"""Where each entity's properties are written: a create and updates (every operation taking
properties gets hostile values in the free workspace)."""


@pytest.mark.parametrize("group", list(GROUPS))
async def test_defined_properties_of_every_type_refuse_a_hostile_value_cleanly(
    app: FastAPI,
    hostile_client: httpx.AsyncClient,
    database: Database,
    mail_server: MailServer,
    group: str,
) -> None:
    """In a workspace without free properties, the value of a defined property of each type
    (on contacts, companies and memberships) is hostile."""
    records = await records_in(hostile_client, database, {}, mail_server)
    operations = {op.name: op for op in write_operations(app.openapi())}
    cases = []
    for entity, name in ENTITY_OPERATIONS.items():
        for kind_of_property in PropertyType:
            key = f"{entity.value}_{kind_of_property.value}".lower()
            options = [{"value": "a", "label": "A"}]
            await records.post(
                "/properties",
                {
                    "key": key,
                    "entity": entity.value,
                    "label": key,
                    "type": kind_of_property.value,
                    **({"options": options} if "SELECT" in kind_of_property.value else {}),
                },
            )
            for kind in GROUPS[group]:
                raw = f'{{"{key}": {KINDS[kind]}}}'
                cases.append(Case(operations[name], "properties", f"value of {key}", kind, raw))
    failures = await run(records, database, cases)
    assert failures == [], "\n".join(failures)


# --- generated values --------------------------------------------------------------------------

HOSTILE_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\ud800", "\udfff", "\ufeff", "\u202e"]),
    ),
    max_size=20,
)


class RawNumber(str):
    """A number written as is: NaN, Infinity, 1e400."""


HOSTILE_NUMBERS = st.one_of(
    st.integers(min_value=2**53, max_value=10**40),
    st.integers(min_value=-(10**40), max_value=-(2**53)),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400"]).map(RawNumber),
)


def raw_json(value: Any) -> str:
    """JSON text of a generated value; strings escape every character outside printable
    ASCII as \\uXXXX, so lone surrogates survive."""
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, str):
        escaped = "".join(
            c if " " <= c <= "~" and c not in '"\\' else f"\\u{ord(c):04x}" for c in value
        )
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ",".join(raw_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{raw_json(k)}:{raw_json(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


HOSTILE_VALUES = st.recursive(
    st.one_of(HOSTILE_TEXT, HOSTILE_NUMBERS, st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(HOSTILE_TEXT, inner, max_size=4)
    ),
    max_leaves=12,
)
GENERATED_EXAMPLES = 150


def generated_cases(operations: list[Operation]) -> list[Case]:
    """A deterministic sample of (field, generated hostile value), drawn by hypothesis."""
    fields = [(op, name) for op in operations for name in op.shapes]
    drawn: dict[str, Case] = {}

    @given(st.sampled_from(fields), HOSTILE_VALUES, st.sampled_from(["field", "in-object"]))
    @settings(
        max_examples=GENERATED_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def draw(target: tuple[Operation, str], value: Any, placement: str) -> None:
        operation, name = target
        raw = raw_json(value)
        case = Case(operation, name, placement, f"generated {raw[:60]}", raw)
        drawn.setdefault(str(case), case)

    draw()
    return list(drawn.values())


async def test_generated_hostile_values_are_refused_cleanly(
    app: FastAPI, hostile_client: httpx.AsyncClient, database: Database, mail_server: MailServer
) -> None:
    records = await records_in(hostile_client, database, {"allowFreeProperties": True}, mail_server)
    cases = generated_cases(write_operations(app.openapi()))
    assert len(cases) > GENERATED_EXAMPLES // 2
    failures = await run(records, database, cases)
    assert failures == [], "\n".join(failures)
