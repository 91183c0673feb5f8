"""POST /query against a plain-Python reading of the query language (tests/query/evaluator.py).

A seeded random workspace is written through the API once per test (contacts with and without
each field, custom properties of six types, tags, companies); filter trees are drawn over it,
and each tree, sent as the JSON `filter` and as the text `where`, must return exactly the
contacts the evaluator picks, or be refused by both (400 INVALID_QUERY when a condition does
not fit its field, 422 for a NUL anywhere in the body). A mismatch is narrowed down to a
smallest tree that still fails before it is reported.

The trees come from one generator fed by two sources of choices, both the same on every run: a
seeded random.Random (even coverage of fields, operators and values), and hypothesis,
derandomized, through `st.data()` in a plain function called before the async test sends the
trees (drawing happens outside the event loop, sending inside it; hypothesis leans to the
edges: first options, short lists, the same value again).
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from tests.helpers import Workspace, custom_client, snapshot
from tests.query.evaluator import (
    STAGES,
    STATUSES,
    Ago,
    CompanyRow,
    Cond,
    ContactRow,
    Evaluator,
    Grp,
    Invalid,
    Neg,
    Node,
    PropertyDef,
    Span,
    World,
    conditions_in,
    describe,
    quoted,
    simpler,
    to_filter,
    to_where,
)

API = "/api/v1"

# --- The data ---------------------------------------------------------------------------

PROPERTIES = (
    PropertyDef("mrr", "NUMBER"),
    PropertyDef("city", "TEXT"),
    PropertyDef("renewal", "DATE"),
    PropertyDef("vip_flag", "BOOLEAN"),
    PropertyDef("tier", "SELECT", ("gold", "silver", "bronze")),
    PropertyDef("plans", "MULTI_SELECT", ("basic", "pro", "team")),
)
TAG_KEYS = ("vip", "churn-risk", "beta_user", "q3")
COMPANIES = (("Acme", "SaaS"), ("Globex", "saas"), ("Initech", "Retail"), ("Umbrella", None))
NAMES = (
    "Ann Lee",
    "ann lee",
    "Bob",
    "BOB Smith",
    "O'Neil",
    "Eve_99",
    "50% Off",
    "Back\\Slash",
    "Zed",
    "Ann-Marie",
    "al",
    None,
    None,
)
EMAIL_LOCALS = ("Ann.Lee", "bob", "o.neil", "Eve_99", "SALES", "zed")
EMAIL_DOMAINS = ("Example.com", "example.org", "MAIL.example.com")
CITIES = ("Berlin", "berlin", "Paris", "New York", "", "Sao Paulo", None, None)
NUMBERS = (0, 10, 12.5, 40, 40, 99.99, 120, 1000, -3)


async def post(client: httpx.AsyncClient, ws: Workspace, path: str, body: Any) -> Any:
    response = await client.post(f"{API}{path}", json=body, headers=ws.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]


async def build_world(
    client: httpx.AsyncClient, ws: Workspace, rng: random.Random, count: int
) -> World:
    """`count` contacts drawn by `rng`, created through the API; the World holds what was
    stored (emails in lowercase, as the API keeps them)."""
    today = utcnow().date()
    world = World()
    for definition in PROPERTIES:
        body: dict[str, Any] = {
            "key": definition.key,
            "entity": "CONTACT",
            "label": definition.key.title(),
            "type": definition.type,
        }
        if definition.options:
            body["options"] = [{"value": v, "label": v.title()} for v in definition.options]
        await post(client, ws, "/properties", body)
        world.properties[definition.key] = definition
    for key in TAG_KEYS:
        tag = await post(client, ws, "/tags", {"key": key, "name": key.upper()})
        world.tags[tag["id"]] = key
    for company_name, industry in COMPANIES:
        company = await post(client, ws, "/companies", {"name": company_name, "industry": industry})
        world.companies[company["id"]] = CompanyRow(company["id"], company_name, industry)
    for index in range(count):
        email = None
        if rng.random() < 0.75:
            email = f"{rng.choice(EMAIL_LOCALS)}{index}@{rng.choice(EMAIL_DOMAINS)}"
        name = rng.choice(NAMES)
        external_id = None
        if rng.random() < 0.15 or (email is None and name is None):
            external_id = f"EXT-{index}"
        status = rng.choice(("ACTIVE", "ACTIVE", "ARCHIVED"))
        stage = rng.choice((*STAGES, None, None, None))
        properties = _properties(rng, today)
        created = await post(
            client,
            ws,
            "/contacts",
            {
                "email": email,
                "name": name,
                "externalId": external_id,
                "status": status,
                "lifecycleStage": stage,
                "properties": properties,
            },
        )
        assert created["email"] == (email.lower() if email else None)
        contact = ContactRow(
            created["id"], created["email"], name, external_id, status, stage, properties
        )
        for tag_id in rng.sample(sorted(world.tags), rng.choice((0, 0, 1, 1, 2, 3))):
            await post(client, ws, f"/contacts/{contact.id}/tags", {"tagId": tag_id})
            contact.tags.add(tag_id)
        for company_id in rng.sample(sorted(world.companies), rng.choice((0, 0, 1, 1, 2))):
            primary = rng.random() < 0.5
            await post(
                client,
                ws,
                f"/contacts/{contact.id}/companies",
                {"companyId": company_id, "isPrimary": primary},
            )
            contact.companies.append(company_id)
            if primary:
                contact.primary = company_id
        world.contacts.append(contact)
    return world


def _properties(rng: random.Random, today: date) -> dict[str, Any]:
    """Custom properties as the API stores them, each missing from some contacts."""
    values: dict[str, Any] = {}
    if rng.random() < 0.75:
        values["mrr"] = rng.choice(NUMBERS)
    city = rng.choice(CITIES)
    if city is not None:
        values["city"] = city
    if rng.random() < 0.7:
        values["renewal"] = (today + timedelta(days=rng.randint(-400, 400))).isoformat()
    if rng.random() < 0.7:
        values["vip_flag"] = rng.random() < 0.5
    if rng.random() < 0.7:
        values["tier"] = rng.choice(("gold", "silver", "bronze"))
    if rng.random() < 0.7:
        values["plans"] = rng.sample(["basic", "pro", "team"], rng.randint(0, 3))
    return values


# --- Drawing trees --------------------------------------------------------------------------

T = TypeVar("T")


class Picker(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...


@dataclass
class RandomPicker:
    rng: random.Random

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


@dataclass
class HypothesisPicker:
    data: st.DataObject

    def choice(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))


def one_in(pick: Picker, n: int) -> bool:
    """True about once in n (a value in the middle of the range: hypothesis favours the
    ends)."""
    return pick.integer(0, n - 1) == n // 2


Draw = Callable[[Picker], Any]


def _cases(pick: Picker, value: str) -> str:
    return pick.choice([value, value.upper(), value.lower(), value.swapcase()])


OUTSIDE_TEXT = (
    "zz",
    "an",
    "e",
    "Lee",
    "%",
    "_",
    "n_l",
    "o'n",
    "\\",
    "0%",
    "acme inc",
    ".com",
    "@",
    "1",
    "",
)


def _texts(data: list[Any]) -> tuple[Draw, Draw]:
    """Values for eq and in (as stored, in other cases, from outside the data) and needles
    for contains, startsWith and endsWith (pieces of the data in any case, others)."""
    known = sorted({v for v in data if v is not None})
    outside = list(OUTSIDE_TEXT)
    needles = [o for o in outside if o]

    def whole(pick: Picker) -> Any:
        way = pick.integer(0, 3)
        if not known or way == 0:
            return pick.choice(outside)
        value = pick.choice(known)
        return _cases(pick, value) if way == 3 else value

    def needle(pick: Picker) -> str:
        if not known or pick.integer(0, 3) == 0:
            return pick.choice(needles)
        value = pick.choice(known)
        if not value:
            return pick.choice(needles)
        start = pick.integer(0, len(value) - 1)
        piece = value[start : pick.integer(start + 1, len(value))]
        return _cases(pick, piece)

    return whole, needle


@dataclass(frozen=True)
class FieldSpec:
    names: tuple[str, ...]
    """How a query may name the field (any case; a custom property also as properties.key)."""
    ops: tuple[str, ...]
    value: Draw
    needle: Draw | None = None
    moment: Draw | None = None
    weight: int = 1
    """How often the field is drawn: more for those with more operators."""
    same: Callable[[Any], Any] | None = None
    """What a value names, where two spellings name one thing (a tag's key in two cases, or
    its key and its id): the generator lists each thing once in containsAll (two spellings
    of one tag are tested below)."""


_TEXT_OPS = (
    "eq",
    "neq",
    "in",
    "nin",
    "exists",
    "isEmpty",
    "contains",
    "notContains",
    "startsWith",
    "endsWith",
)
_EQUALITY = ("eq", "neq", "in", "nin", "exists", "isEmpty")
_ORDER = ("gt", "gte", "lt", "lte", "between")
_MULTI = (*_EQUALITY, "containsAny", "containsAll")
_AMOUNTS = {"days": (1, 500), "weeks": (1, 60), "months": (1, 15), "years": (1, 2)}


def _span(pick: Picker) -> Span:
    unit = pick.choice(sorted(_AMOUNTS))
    return Span(pick.integer(*_AMOUNTS[unit]), unit)


def _ago(pick: Picker) -> Ago:
    span = _span(pick)
    return Ago(span.amount, span.unit)


def draw_condition(pick: Picker, spec: FieldSpec) -> Cond:
    name, op = pick.choice(spec.names), pick.choice(spec.ops)
    value: Any = None
    if op in ("in", "nin", "containsAny", "containsAll"):
        value = tuple(spec.value(pick) for _ in range(pick.integer(1, 3)))
        if op == "containsAll" and spec.same is not None:
            named = {spec.same(v): v for v in value[::-1]}  # the first of each thing
            value = tuple(dict.fromkeys(named[spec.same(v)] for v in value))
    elif op == "between":
        value = (spec.value(pick), spec.value(pick))
    elif op in ("contains", "notContains", "startsWith", "endsWith"):
        assert spec.needle is not None
        value = spec.needle(pick)
    elif op in ("before", "after", "on"):
        assert spec.moment is not None
        value = spec.moment(pick) if pick.integer(0, 1) else spec.value(pick)
    elif op == "withinLast":
        value = _span(pick)
    elif op not in ("exists", "isEmpty"):
        value = spec.value(pick)
    return Cond(name, op, value)


@dataclass(frozen=True)
class Foreign:
    """Ids of another workspace, asked for as values."""

    tags: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()


def _spellings(name: str) -> tuple[str, ...]:
    return (name, name, name.upper(), name.lower())


def _sampled(values: Sequence[Any]) -> Draw:
    return lambda pick: pick.choice(values)


def _options(values: Sequence[str]) -> Draw:
    return lambda pick: _cases(pick, pick.choice(values))


def field_specs(world: World, foreign: Foreign | None = None) -> list[FieldSpec]:
    """What the trees may ask of this world's contacts, with values from the data and from
    outside it (and, for isolation, ids of another workspace's tags and contacts)."""
    foreign = foreign or Foreign()
    contacts = world.contacts
    today = utcnow().date()

    def text(names: tuple[str, ...], data: list[Any]) -> FieldSpec:
        whole, needle = _texts(data)
        return FieldSpec(names, _TEXT_OPS, whole, needle)

    companies = list(world.companies.values())
    specs = [
        replace(text(_spellings("name"), [c.name for c in contacts]), weight=2),
        text(_spellings("email"), [c.email for c in contacts]),
        text(("externalId",), [c.external_id for c in contacts]),
        text(("city", "properties.city"), [c.properties.get("city") for c in contacts]),
        text(("company.name",), [c.name for c in companies]),
        text(("company.industry", "Company.Industry"), [c.industry for c in companies]),
        text(("primaryCompany.name",), [c.name for c in companies]),
        text(("primaryCompany.industry",), [c.industry for c in companies]),
    ]

    numbers = sorted({float(c.properties["mrr"]) for c in contacts if "mrr" in c.properties})
    number_pool = [*numbers, *(n + 1 for n in numbers), -100.0, 0.0, 7.0, 1e6]

    def number(pick: Picker) -> Any:
        n = pick.choice(number_pool)
        return pick.choice([n, int(n) if n == int(n) else n, str(n)])

    specs.append(
        FieldSpec(("mrr", "MRR", "properties.mrr"), (*_EQUALITY, *_ORDER), number, weight=3)
    )

    days = sorted(
        {date.fromisoformat(c.properties["renewal"]) for c in contacts if "renewal" in c.properties}
    )
    day_pool = [
        *days,
        *(d + timedelta(days=1) for d in days),
        today,
        today - timedelta(days=30),
        date(2000, 1, 1),
    ]

    def a_day(pick: Picker) -> str:
        written = pick.choice(day_pool).isoformat()
        return f"{written}T10:00:00Z" if one_in(pick, 4) else written

    specs.append(
        FieldSpec(
            ("renewal", "properties.renewal"),
            (*_EQUALITY, *_ORDER, "before", "after", "on", "withinLast"),
            a_day,
            moment=_ago,
            weight=4,
        )
    )
    booleans = _sampled([True, False, "true", "FALSE"])
    specs += [
        FieldSpec(
            ("vip_flag", "properties.vip_flag"), ("eq", "neq", "exists", "isEmpty"), booleans
        ),
        FieldSpec(("isIdentified",), ("eq", "neq", "exists", "isEmpty"), booleans),
        FieldSpec(("tier", "properties.tier"), _EQUALITY, _options(("gold", "silver", "bronze"))),
        FieldSpec(("status",), _EQUALITY, _options(STATUSES)),
        FieldSpec(("lifecycleStage", "LIFECYCLESTAGE"), _EQUALITY, _options(STAGES)),
        FieldSpec(
            ("plans", "properties.plans"), _MULTI, _options(("basic", "pro", "team")), weight=2
        ),
    ]

    tag_ids = sorted(world.tags)
    elsewhere = ["nope", str(uuid.UUID(int=7)), *foreign.tags]

    def tag(pick: Picker) -> str:
        way = pick.integer(0, 3)
        if way == 0:
            return pick.choice(elsewhere)
        if way == 1:
            tag_id = pick.choice(tag_ids)
            return pick.choice([tag_id, tag_id.upper()])
        return _cases(pick, pick.choice(TAG_KEYS))

    def named_tag(ref: str) -> str:
        lowered = ref.lower()
        return world.tags.get(lowered, lowered)

    specs.append(FieldSpec(("tag", "TAG"), _MULTI, tag, weight=2, same=named_tag))
    contact_ids = [c.id for c in contacts]
    strangers = [str(uuid.UUID(int=7)), *foreign.contacts]

    def an_id(pick: Picker) -> str:
        if one_in(pick, 4):
            return pick.choice(strangers)
        contact_id = pick.choice(contact_ids)
        return pick.choice([contact_id, contact_id.upper()])

    specs.append(FieldSpec(("id",), _EQUALITY, an_id))
    return specs


REFUSED_CONDITIONS = (
    Cond("nope", "eq", "x"),
    Cond("company.nope", "eq", "x"),
    Cond("properties.nope", "exists"),
    Cond("name", "gt", "a"),
    Cond("mrr", "contains", "1"),
    Cond("vip_flag", "in", (True,)),
    Cond("renewal", "containsAny", ("2026-01-01",)),
    Cond("tag", "gt", "vip"),
    Cond("mrr", "eq", "lots"),
    Cond("renewal", "eq", "yesterday"),
    Cond("tier", "eq", "platinum"),
    Cond("plans", "containsAll", ("pro", "enterprise")),
    Cond("vip_flag", "eq", "maybe"),
    Cond("id", "eq", "abc"),
    Cond("name", "contains", ""),
    Cond("name", "eq", None),
    Cond("mrr", "between", (1,)),
    Cond("mrr", "in", ()),
    Cond("status", "eq", "DELETED"),
    Cond("lifecycleStage", "in", ("LEAD", "nobody")),
    Cond("name", "eq", "a\x00b"),
)


def draw_tree(pick: Picker, specs: list[FieldSpec]) -> Node:
    """1 to 6 conditions under AND and OR groups nested up to 3 deep, any of them negated;
    about one condition in forty is one the API must refuse."""
    weighted = [spec for spec in specs for _ in range(spec.weight)]

    def condition() -> Cond:
        if one_in(pick, 40):
            return pick.choice(REFUSED_CONDITIONS)
        return draw_condition(pick, pick.choice(weighted))

    def group(count: int, depth: int) -> Node:
        if depth == 3 or count == 1:
            sizes = [1] * count
        else:
            parts = pick.integer(1, min(count, 4))
            cuts = sorted(set(pick.integer(1, count - 1) for _ in range(parts - 1)))
            bounds = [0, *cuts, count]
            sizes = [high - low for low, high in itertools.pairwise(bounds)]
        items: list[Node] = []
        for size in sizes:
            item: Node
            if size == 1 and (depth == 3 or not one_in(pick, 5)):
                item = condition()
            else:
                item = group(size, depth + 1)
            items.append(Neg(item) if one_in(pick, 4) else item)
        made = Grp(pick.choice(["AND", "OR"]), tuple(items))
        return Neg(made) if depth == 1 and one_in(pick, 6) else made

    count = pick.integer(1, 6)
    if count == 1 and pick.integer(0, 1):
        single: Node = condition()
        return Neg(single) if one_in(pick, 4) else single
    return group(count, 1)


def drawn_trees(specs: list[FieldSpec], seed: int, seeded: int, by_hypothesis: int) -> list[Node]:
    """`seeded` trees from a seeded random.Random, then `by_hypothesis` drawn by hypothesis
    (derandomized), repeats left out: the same trees on every run."""
    drawn: dict[str, Node] = {}
    rng = random.Random(seed)
    for _ in range(seeded):
        tree = draw_tree(RandomPicker(rng), specs)
        drawn.setdefault(repr(tree), tree)

    if not by_hypothesis:
        return list(drawn.values())

    @given(st.data())
    @settings(
        max_examples=by_hypothesis,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def draw(data: st.DataObject) -> None:
        tree = draw_tree(HypothesisPicker(data), specs)
        drawn.setdefault(repr(tree), tree)

    draw()
    return list(drawn.values())


# --- Asking the API -----------------------------------------------------------------------

REFUSED = "refused with 400 INVALID_QUERY"
UNSTORABLE = "refused with 422 VALIDATION_FAILED"
"""A NUL anywhere in a body, `where` and `filter` included, is refused before the query is
read, as for every body (docs/api-conventions.md: text in a body is without NUL, else 422)."""


def has_nul(node: Node) -> bool:
    def nul(value: Any) -> bool:
        if isinstance(value, tuple):
            return any(nul(v) for v in value)
        return isinstance(value, str) and "\x00" in value

    return any(nul(c.field) or nul(c.value) for c in conditions_in(node))


async def outcome(client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any]) -> Any:
    """The ids a query returns, REFUSED, or what else happened."""
    response = await client.post(
        f"{API}/query", json={"entity": "contact", "limit": 100, **body}, headers=ws.headers
    )
    if response.status_code == 200:
        answer = response.json()
        assert answer["meta"]["total"] == len(answer["data"])
        return frozenset(row["id"] for row in answer["data"])
    if response.status_code == 400 and response.json()["error"]["code"] == "INVALID_QUERY":
        return REFUSED
    if response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_FAILED":
        return UNSTORABLE
    return f"{response.status_code} {response.text[:300]}"


@dataclass
class Checker:
    client: httpx.AsyncClient
    ws: Workspace
    world: World
    forms: tuple[str, ...] = ("filter", "where")

    async def mismatch(self, tree: Node, seed: int) -> str | None:
        """What the API answered unlike the evaluator, for each form; None if nothing."""
        problems: list[str] = []
        for _attempt in range(2):
            rng = random.Random(seed)
            today = utcnow().date()
            try:
                expected: Any = frozenset(Evaluator(self.world, today).matching(tree))
            except Invalid:
                expected = REFUSED
            if has_nul(tree):
                expected = UNSTORABLE
            problems = []
            for form in self.forms:
                sent: Any = to_filter(tree, rng) if form == "filter" else to_where(tree, rng)
                got = await outcome(self.client, self.ws, {form: sent})
                if got != expected:
                    problems.append(f"  {form} {sent!r}: {self.explain(expected, got)}")
            if utcnow().date() == today:
                break  # else midnight passed while asking: ask again
        return "\n".join(problems) or None

    def explain(self, expected: Any, got: Any) -> str:
        if not isinstance(expected, frozenset) or not isinstance(got, frozenset):
            return f"expected {_shown(expected)}, got {_shown(got)}"
        lines = ["got the wrong contacts"]
        for label, ids in (("missing", expected - got), ("extra", got - expected)):
            for contact_id in sorted(ids):
                lines.append(f"    {label}: {self._row(contact_id)}")
        return "\n".join(lines)

    def _row(self, contact_id: str) -> str:
        try:
            contact = self.world.contact(contact_id)
        except StopIteration:
            return f"{contact_id} (not a contact of this workspace)"
        tags = sorted(self.world.tags[t] for t in contact.tags)
        companies = [
            (c.name, c.industry, c.id == contact.primary)
            for c in (self.world.companies[i] for i in contact.companies)
        ]
        return (
            f"{contact_id} email={contact.email!r} name={contact.name!r} "
            f"externalId={contact.external_id!r} status={contact.status} "
            f"stage={contact.stage} properties={contact.properties} tags={tags} "
            f"companies={companies}"
        )

    async def narrowed(self, tree: Node, seed: int) -> tuple[Node, str]:
        """A smallest tree found that still fails, and how."""
        problem = await self.mismatch(tree, seed)
        assert problem is not None
        shrinking = True
        while shrinking:
            shrinking = False
            for candidate in simpler(tree):
                found = await self.mismatch(candidate, seed)
                if found is not None:
                    tree, problem, shrinking = candidate, found, True
                    break
        return tree, problem

    async def failures(self, trees: list[Node], keep: int = 3) -> list[str]:
        """The first `keep` mismatches, each narrowed down."""
        found: list[str] = []
        for seed, tree in enumerate(trees):
            if await self.mismatch(tree, seed) is None:
                continue
            small, problem = await self.narrowed(tree, seed)
            found.append(f"{describe(small)}\n  (from {describe(tree)})\n{problem}")
            if len(found) >= keep:
                break
        return found


def _shown(value: Any) -> str:
    return f"{len(value)} contacts" if isinstance(value, frozenset) else str(value)


# --- The tests ------------------------------------------------------------------------------

SEED = 20240611


@pytest.fixture
async def api(database: Database, app: FastAPI, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app without rate limits (these tests send a few hundred queries a
    minute); `app` empties the database afterwards."""
    async with custom_client(database, tmp_path, rate_limits_enabled=False) as http:
        yield http


async def test_queries_return_what_a_plain_reading_of_them_picks(
    api: httpx.AsyncClient, workspace: Workspace
) -> None:
    world = await build_world(api, workspace, random.Random(SEED), 22)
    trees = drawn_trees(field_specs(world), SEED, seeded=150, by_hypothesis=80)
    assert len(trees) > 180
    refused = 0
    for tree in trees:
        try:
            Evaluator(world, utcnow().date()).matching(tree)
        except Invalid:
            refused += 1
    assert 0 < refused < len(trees) // 4  # mostly trees that run, some the API must refuse
    failures = await Checker(api, workspace, world).failures(trees)
    assert not failures, "\n\n".join(failures)


async def test_another_workspaces_tags_companies_and_properties_never_match(
    api: httpx.AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    """Both workspaces have tags, companies and properties of the same keys and names: each
    query sees its own workspace's rows only, and an id of the other's tag names nothing."""
    mine = await build_world(api, workspace, random.Random(SEED + 1), 12)
    theirs = await build_world(api, other_workspace, random.Random(SEED + 2), 12)
    await post(
        api,
        other_workspace,
        "/properties",
        {"key": "secret", "entity": "CONTACT", "label": "Secret", "type": "NUMBER"},
    )
    twin = await post(
        api,
        other_workspace,
        "/contacts",
        {"name": "Ann Lee", "properties": {"secret": 1, "mrr": 40, "city": "Berlin"}},
    )
    for tag_id in theirs.tags:
        await post(api, other_workspace, f"/contacts/{twin['id']}/tags", {"tagId": tag_id})
    for company_id in theirs.companies:
        await post(
            api, other_workspace, f"/contacts/{twin['id']}/companies", {"companyId": company_id}
        )
    theirs.contacts.append(
        ContactRow(
            twin["id"],
            None,
            "Ann Lee",
            None,
            "ACTIVE",
            None,
            {"secret": 1, "mrr": 40, "city": "Berlin"},
            set(theirs.tags),
            list(theirs.companies),
        )
    )
    theirs.properties["secret"] = PropertyDef("secret", "NUMBER")

    everyone = frozenset(c.id for c in mine.contacts)
    for their_tag in theirs.tags:
        for op, value in (
            ("eq", their_tag),
            ("in", [their_tag]),
            ("containsAny", [their_tag.upper(), "nope"]),
            ("containsAll", [their_tag]),
        ):
            asked = {"filter": {"conditions": [{"field": "tag", "operator": op, "value": value}]}}
            assert await outcome(api, workspace, asked) == frozenset(), (op, value)
        assert await outcome(api, workspace, {"where": f"tag != '{their_tag}'"}) == everyone
    their_ids = ", ".join(quoted(c.id) for c in theirs.contacts)
    assert await outcome(api, workspace, {"where": f"id in ({their_ids})"}) == frozenset()
    assert await outcome(api, workspace, {"where": "secret exists"}) == REFUSED
    assert await outcome(api, other_workspace, {"where": "secret exists"}) == {twin["id"]}

    fixed = [
        Cond("tag", "exists"),
        Cond("tag", "eq", "vip"),
        Cond("company.name", "eq", "Acme"),
        Cond("company.industry", "eq", "SaaS"),
        Cond("primaryCompany.name", "exists"),
        Cond("mrr", "eq", 40),
        Cond("city", "eq", "Berlin"),
        Cond("name", "eq", "Ann Lee"),
        Cond("plans", "eq", "pro"),
        Cond("name", "exists"),
    ]
    foreign = Foreign(tuple(theirs.tags), tuple(c.id for c in theirs.contacts))
    trees: list[Node] = [*fixed, *drawn_trees(field_specs(mine, foreign), SEED + 1, 60, 0)]
    failures = await Checker(api, workspace, mine).failures(trees)
    assert not failures, "\n\n".join(failures)
    back = Foreign(tuple(mine.tags), tuple(c.id for c in mine.contacts))
    trees = [
        *fixed,
        Cond("secret", "exists"),
        *drawn_trees(field_specs(theirs, back), SEED + 2, 30, 0),
    ]
    failures = await Checker(api, other_workspace, theirs).failures(trees)
    assert not failures, "\n\n".join(failures)


HOSTILE_NAMES = (
    "O'Brien",
    "100% pure",
    "50%",
    "a_b",
    "axb",
    "Back\\slash",
    "x'); DROP TABLE contacts; --",
    "semi;--colon",
    'say "hi"',
    "slash/ed",
    "Zoë",
    "日本語",
    "straße",
    "%_\\/",
    "plain",
)
"""Names with quotes, LIKE wildcards, backslashes and the LIKE escape character SQLAlchemy
uses (`/`); non-ASCII letters only in lowercase (SQLite's lower() folds ASCII only)."""
HOSTILE_VALUES = (
    "'",
    "''",
    "%",
    "_",
    "\\",
    "\\'",
    "%'",
    ";--",
    "'; DROP TABLE contacts; --",
    "x'); DROP TABLE contacts; --",
    '"',
    "a_b",
    "_b",
    "0%",
    "/",
    "//",
    "d/",
    "%_\\/",
    "ë",
    "ZOË",
    "日本",
    "ẞ",
    "STRASSE",
    "' OR '1'='1",
    "' OR 1=1 --",
    "[a]",
    "*",
    "\n",
    "🙂",
    "\u202e",
    "\\slash",
    "\x00",
    "a\x00b",
)
HOSTILE_FIELDS = (
    "name'",
    "name; DROP TABLE contacts; --",
    "na%me",
    'name"',
    "name) OR (1=1",
    "properties.mrr'--",
    "company.name' OR '1'='1",
    "ünïcode",
    "x" * 201,
    "name\x00",
    "1=1",
    "*",
    "tag;",
)
HOSTILE_WHERES = (
    "name = 'x'; DROP TABLE contacts; --",
    "name = 'x' OR 1=1",
    "name = '' OR ''=''",
    "name = 'x' --",
    "name = 'unterminated",
    "`name` = 'x'; SELECT 1",
    "name = 'x') OR ('1'='1",
)


async def test_hostile_values_and_names_are_taken_literally(
    api: httpx.AsyncClient, workspace: Workspace, database: Database
) -> None:
    world = World()
    for name in HOSTILE_NAMES:
        created = await post(api, workspace, "/contacts", {"name": name})
        assert created["name"] == name
        world.contacts.append(ContactRow(created["id"], None, name, None, "ACTIVE", None, {}))
    before = await snapshot(database)

    trees: list[Node] = []
    for value in HOSTILE_VALUES:
        trees += [Cond("name", op, value) for op in ("eq", "contains", "startsWith", "endsWith")]
    for value in HOSTILE_VALUES[::3]:
        trees += [Cond("name", op, value) for op in ("neq", "notContains")]
    trees.append(Cond("name", "in", HOSTILE_NAMES[:8]))
    trees.append(Cond("name", "nin", HOSTILE_VALUES[:8]))
    trees += [Cond(field, "eq", "x") for field in HOSTILE_FIELDS]
    failures = await Checker(api, workspace, world).failures(trees, keep=10)
    assert not failures, "\n\n".join(failures)
    for where in HOSTILE_WHERES:
        assert await outcome(api, workspace, {"where": where}) == REFUSED, where
    assert await outcome(api, workspace, {"where": "name = 'x'\x00"}) == UNSTORABLE

    assert await snapshot(database) == before
    assert await outcome(api, workspace, {}) == frozenset(c.id for c in world.contacts)


async def test_contains_all_counts_each_tag_once_however_it_is_named(
    api: httpx.AsyncClient, workspace: Workspace
) -> None:
    vip = await post(api, workspace, "/tags", {"key": "vip", "name": "VIP"})
    ann = await post(api, workspace, "/contacts", {"name": "Ann"})
    await post(api, workspace, f"/contacts/{ann['id']}/tags", {"tagId": vip["id"]})
    assert await outcome(api, workspace, {"where": "tag containsAll ('vip')"}) == {ann["id"]}
    for spelling in ("'vip', 'VIP'", f"'vip', '{vip['id']}'", f"'{vip['id'].upper()}', 'vip'"):
        where = f"tag containsAll ({spelling})"
        assert await outcome(api, workspace, {"where": where}) == {ann["id"]}, where
    missing = "tag containsAll ('vip', 'no-such-tag')"
    assert await outcome(api, workspace, {"where": missing}) == set()
