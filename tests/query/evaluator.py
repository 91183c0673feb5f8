"""A plain-Python reading of the query language, to hold POST /query to.

It knows what a query means only from how the language is described (rapport/kit/cql): a
record with no value for a field matches no positive operator; neq, nin, isEmpty and
notContains are the NOT of eq, in, exists and contains; eq and in compare text exactly (emails
in lowercase), contains, startsWith and endsWith without regard to case; a choice takes its
options in any case; on a list of values (a multi-select, tags) eq is "has", in and
containsAny "has one of", containsAll "has every one"; a condition through companies holds
when at least one of the contact's companies (or its primary one) meets it; withinLast,
before, after and on of a date are counted in days back from today. It imports nothing of the
query language: its own tree, its own reading of values, and two renderings of the tree, to
the JSON `filter` and to the text `where`.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

# --- The tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A length of time: `30 days` (withinLast)."""

    amount: int
    unit: str  # days, weeks, months, years


@dataclass(frozen=True)
class Ago:
    """A day back from today: `30 days ago` (before, after, on)."""

    amount: int
    unit: str


@dataclass(frozen=True)
class Cond:
    field: str
    op: str
    value: Any = None
    """A written value: str, int, float, bool, None, a tuple of them, a Span or an Ago."""


@dataclass(frozen=True)
class Grp:
    logic: str  # AND, OR
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Neg:
    item: Node


Node = Cond | Grp | Neg


def conditions_in(node: Node) -> list[Cond]:
    if isinstance(node, Cond):
        return [node]
    if isinstance(node, Neg):
        return conditions_in(node.item)
    return [c for item in node.items for c in conditions_in(item)]


# --- The data -------------------------------------------------------------------------------


@dataclass
class CompanyRow:
    id: str
    name: str
    industry: str | None


@dataclass
class ContactRow:
    id: str
    email: str | None
    name: str | None
    external_id: str | None
    status: str
    stage: str | None
    properties: dict[str, Any]
    """As stored: numbers, text, ISO dates, booleans, an option, a list of options."""
    tags: set[str] = field(default_factory=set)
    """Ids of the tags carried."""
    companies: list[str] = field(default_factory=list)
    primary: str | None = None


@dataclass(frozen=True)
class PropertyDef:
    key: str
    type: str  # NUMBER, TEXT, DATE, BOOLEAN, SELECT, MULTI_SELECT
    options: tuple[str, ...] = ()


@dataclass
class World:
    """What one workspace holds, as created through the API."""

    contacts: list[ContactRow] = field(default_factory=list)
    companies: dict[str, CompanyRow] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    """Tag id: key."""
    properties: dict[str, PropertyDef] = field(default_factory=dict)

    def contact(self, contact_id: str) -> ContactRow:
        return next(c for c in self.contacts if c.id == contact_id)


STATUSES = ("ACTIVE", "ARCHIVED")
STAGES = (
    "SUBSCRIBER",
    "LEAD",
    "MARKETING_QUALIFIED",
    "SALES_QUALIFIED",
    "OPPORTUNITY",
    "CUSTOMER",
    "EVANGELIST",
)

# --- Reading a query ------------------------------------------------------------------------


class Invalid(Exception):
    """The query does not fit the fields: the API must refuse it (400 INVALID_QUERY)."""


NEGATIONS = {"neq": "eq", "nin": "in", "isEmpty": "exists", "notContains": "contains"}
_EQUALITY = ("eq", "neq", "in", "nin", "exists", "isEmpty")
_ORDER = ("gt", "gte", "lt", "lte", "between")
OPERATORS: dict[str, tuple[str, ...]] = {
    "text": (*_EQUALITY, "contains", "notContains", "startsWith", "endsWith"),
    "email": (*_EQUALITY, "contains", "notContains", "startsWith", "endsWith"),
    "number": (*_EQUALITY, *_ORDER),
    "boolean": ("eq", "neq", "exists", "isEmpty"),
    "identified": ("eq", "neq", "exists", "isEmpty"),
    "date": (*_EQUALITY, *_ORDER, "before", "after", "on", "withinLast"),
    "choice": _EQUALITY,
    "multi": (*_EQUALITY, "containsAny", "containsAll"),
    "tag": (*_EQUALITY, "containsAny", "containsAll"),
    "id": _EQUALITY,
}

Getter = Callable[[ContactRow], Any]


@dataclass(frozen=True)
class FieldDef:
    kind: str
    get: Getter
    """Single-valued kinds: the list of values to test (one per related record, None for a
    missing one). Multi and tag: the set of items held. Identified: a bool."""
    options: tuple[str, ...] = ()


def _one(read: Callable[[ContactRow], Any]) -> Getter:
    return lambda c: [read(c)]


def _prop(key: str) -> Callable[[ContactRow], Any]:
    return lambda c: c.properties.get(key)


def _items(key: str) -> Getter:
    return lambda c: set(c.properties.get(key) or ())


class Evaluator:
    """Which contacts of a world a tree matches, on a given day."""

    def __init__(self, world: World, today: date) -> None:
        self.world = world
        self.today = today
        fields: dict[str, FieldDef] = {
            "id": FieldDef("id", _one(lambda c: c.id)),
            "email": FieldDef("email", _one(lambda c: c.email)),
            "name": FieldDef("text", _one(lambda c: c.name)),
            "externalid": FieldDef("text", _one(lambda c: c.external_id)),
            "status": FieldDef("choice", _one(lambda c: c.status), STATUSES),
            "lifecyclestage": FieldDef("choice", _one(lambda c: c.stage), STAGES),
            "isidentified": FieldDef(
                "identified", lambda c: c.email is not None or c.external_id is not None
            ),
            "tag": FieldDef("tag", lambda c: c.tags),
        }
        for column in ("name", "industry"):
            fields[f"company.{column}"] = FieldDef("text", self._companies(column, False))
            fields[f"primarycompany.{column}"] = FieldDef("text", self._companies(column, True))
        kinds = {
            "NUMBER": "number",
            "TEXT": "text",
            "DATE": "date",
            "BOOLEAN": "boolean",
            "SELECT": "choice",
            "MULTI_SELECT": "multi",
        }
        for key, definition in world.properties.items():
            kind = kinds[definition.type]
            get = _items(key) if kind == "multi" else _one(_prop(key))
            made = FieldDef(kind, get, definition.options)
            fields.setdefault(key.lower(), made)
            fields[f"properties.{key.lower()}"] = made
        self.fields = fields

    def _companies(self, column: str, primary_only: bool) -> Getter:
        def get(c: ContactRow) -> list[Any]:
            ids = ([c.primary] if c.primary else []) if primary_only else c.companies
            return [getattr(self.world.companies[i], column) for i in ids]

        return get

    def matching(self, node: Node) -> set[str]:
        """The ids of the contacts the tree matches; Invalid if the API must refuse it."""
        test = self.predicate(node)
        return {c.id for c in self.world.contacts if test(c)}

    def predicate(self, node: Node) -> Callable[[ContactRow], bool]:
        if isinstance(node, Cond):
            return self._condition(node)
        if isinstance(node, Neg):
            inner = self.predicate(node.item)
            return lambda c: not inner(c)
        parts = [self.predicate(item) for item in node.items]
        if node.logic == "AND":
            return lambda c: all(p(c) for p in parts)
        return lambda c: any(p(c) for p in parts)

    def _condition(self, cond: Cond) -> Callable[[ContactRow], bool]:
        found = self.fields.get(cond.field.lower())
        if found is None:
            raise Invalid(f"unknown field {cond.field!r}")
        if cond.op not in OPERATORS[found.kind]:
            raise Invalid(f"{cond.op} does not apply to {cond.field}")
        op = NEGATIONS.get(cond.op, cond.op)
        positive = self._positive(found, op, cond.value)
        if cond.op in NEGATIONS:
            return lambda c: not positive(c)
        return positive

    def _positive(self, f: FieldDef, op: str, raw: Any) -> Callable[[ContactRow], bool]:
        kind = f.kind
        if kind in ("multi", "tag"):
            return self._has(f, op, raw)
        if kind == "identified":
            if op == "exists":
                return lambda c: True
            wanted = boolean(raw)
            return lambda c: bool(f.get(c)) == wanted
        if op == "exists":
            return lambda c: any(v is not None for v in f.get(c))
        test = self._test(f, op, raw)

        def holds(c: ContactRow) -> bool:
            return any(v is not None and test(stored(kind, v)) for v in f.get(c))

        return holds

    def _test(self, f: FieldDef, op: str, raw: Any) -> Callable[[Any], bool]:
        kind = f.kind

        def typed(value: Any) -> Any:
            return typed_value(kind, value, f.options)

        if op == "eq":
            x = typed(required(raw))
            return lambda v: v == x
        if op == "in":
            xs = {typed(v) for v in listed(raw)}
            return lambda v: v in xs
        if op == "between":
            low, high = (typed(v) for v in listed(raw, exactly=2))
            return lambda v: low <= v <= high
        if op in ("gt", "gte", "lt", "lte"):
            x = typed(required(raw))
            return {
                "gt": lambda v: v > x,
                "gte": lambda v: v >= x,
                "lt": lambda v: v < x,
                "lte": lambda v: v <= x,
            }[op]
        if op in ("contains", "startsWith", "endsWith"):
            needle = text(required(raw)).lower()
            if not needle:
                raise Invalid("an empty needle")
            if op == "contains":
                return lambda v: needle in v.lower()
            if op == "startsWith":
                return lambda v: v.lower().startswith(needle)
            return lambda v: v.lower().endswith(needle)
        if op in ("before", "after", "on"):
            day = self.back(raw) if isinstance(raw, Ago) else a_date(required(raw))
            return {
                "before": lambda v: v < day,
                "after": lambda v: v > day,
                "on": lambda v: v == day,
            }[op]
        if op == "withinLast":
            if not isinstance(raw, Span):
                raise Invalid("withinLast takes a length of time")
            start = self.back(raw)
            return lambda v: start <= v <= self.today
        raise AssertionError(op)

    def _has(self, f: FieldDef, op: str, raw: Any) -> Callable[[ContactRow], bool]:
        """Multi-select and tags: the set of items a contact holds."""
        if op == "exists":
            return lambda c: bool(f.get(c))
        if f.kind == "tag":

            def item(value: Any) -> str:
                return self._tag(text(value))
        else:

            def item(value: Any) -> str:
                return choice(value, f.options)

        if op == "eq":
            one = item(required(raw))
            return lambda c: one in f.get(c)
        wanted = [item(v) for v in listed(raw)]
        if op in ("in", "containsAny"):
            return lambda c: any(w in f.get(c) for w in wanted)
        if op == "containsAll":
            return lambda c: all(w in f.get(c) for w in wanted)
        raise AssertionError(op)

    def _tag(self, ref: str) -> str:
        """The id of the tag a reference names (its key in any case, or its id); a name no
        tag of the workspace has names nothing."""
        try:
            as_id = str(uuid.UUID(ref))
        except ValueError:
            as_id = None
        for tag_id, key in self.world.tags.items():
            if tag_id == as_id or key == ref.lower():
                return tag_id
        return f"no tag {ref!r}"

    def back(self, span: Span | Ago) -> date:
        """Today, `amount` units back (months counted on the calendar: the 31st of a shorter
        month is its last day)."""
        if span.unit in ("days", "weeks"):
            return self.today - timedelta(days=span.amount * (7 if span.unit == "weeks" else 1))
        months = span.amount * (12 if span.unit == "years" else 1)
        index = self.today.year * 12 + self.today.month - 1 - months
        year, month = divmod(index, 12)
        day = self.today.day
        while True:
            try:
                return date(year, month + 1, day)
            except ValueError:
                day -= 1


def stored(kind: str, value: Any) -> Any:
    """A stored value as it compares: dates are kept as ISO text."""
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "email":
        return value.lower()
    return value


def required(raw: Any) -> Any:
    if raw is None or isinstance(raw, tuple | list | Span | Ago):
        raise Invalid("needs one value")
    return raw


def listed(raw: Any, exactly: int | None = None) -> tuple[Any, ...]:
    if not isinstance(raw, tuple | list) or not raw or len(raw) > 1000:
        raise Invalid("needs a list")
    if exactly is not None and len(raw) != exactly:
        raise Invalid(f"needs {exactly} values")
    return tuple(raw)


def text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise Invalid("not text")
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or "\x00" in value or len(value) > 1000:
        raise Invalid("not text")
    return value


def number(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError as exc:
            raise Invalid("not a number") from exc
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid("not a number")
    if not math.isfinite(value) or abs(value) > 1e15:
        raise Invalid("out of range")
    return float(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Invalid("not a boolean")


def a_date(value: Any) -> date:
    if not isinstance(value, str):
        raise Invalid("not a date")
    try:
        return date.fromisoformat(value[:10] if len(value) >= 10 else value)
    except ValueError as exc:
        raise Invalid("not a date") from exc


def choice(value: Any, options: tuple[str, ...]) -> str:
    written = text(value)
    for option in options:
        if option.lower() == written.lower():
            return option
    raise Invalid(f"{written!r} is not an option")


def typed_value(kind: str, value: Any, options: tuple[str, ...]) -> Any:
    if kind == "text":
        return text(value)
    if kind == "email":
        return text(value).lower()
    if kind == "number":
        return number(value)
    if kind == "date":
        return a_date(value)
    if kind == "boolean":
        return boolean(value)
    if kind == "choice":
        return choice(value, options)
    if kind == "id":
        try:
            return str(uuid.UUID(text(value)))
        except ValueError as exc:
            raise Invalid("not an id") from exc
    raise AssertionError(kind)


# --- Rendering ------------------------------------------------------------------------------

_JSON_SPELLINGS = {
    "eq": ["eq", "EQ", "=", "==", "equals"],
    "neq": ["neq", "ne", "!=", "<>", "not_equals"],
    "gt": ["gt", ">"],
    "gte": ["gte", ">="],
    "lt": ["lt", "<"],
    "lte": ["lte", "<="],
    "in": ["in", "IN"],
    "nin": ["nin", "notIn", "not_in"],
    "contains": ["contains", "CONTAINS"],
    "notContains": ["notContains", "not_contains"],
    "startsWith": ["startsWith", "starts_with", "STARTSWITH"],
    "endsWith": ["endsWith", "ends_with"],
    "exists": ["exists", "is_not_empty", "isNotEmpty"],
    "isEmpty": ["isEmpty", "is_empty", "not_exists", "notExists"],
    "between": ["between"],
    "before": ["before"],
    "after": ["after"],
    "on": ["on"],
    "withinLast": ["withinLast", "within_last"],
    "containsAny": ["containsAny", "contains_any"],
    "containsAll": ["containsAll", "contains_all"],
}


def to_filter(node: Node, rng: random.Random) -> dict[str, Any]:
    """The tree as the JSON `filter` (a group at the top), in spellings drawn by `rng`."""
    doc = _json(node, rng)
    if "conditions" in doc:
        return doc
    return {"logic": rng.choice(["AND", "OR"]), "conditions": [doc]}


def _json(node: Node, rng: random.Random) -> dict[str, Any]:
    if isinstance(node, Neg):
        inner = _json(node.item, rng)
        if "negate" in inner:
            return {"logic": "AND", "conditions": [inner], "negate": True}
        return {**inner, "negate": True}
    if isinstance(node, Grp):
        doc: dict[str, Any] = {
            "logic": rng.choice([node.logic, node.logic.lower(), node.logic.title()]),
            "conditions": [_json(item, rng) for item in node.items],
        }
        if rng.random() < 0.5:
            doc = {"type": "group", **doc}
        return doc
    doc = {"field": node.field, "operator": rng.choice(_JSON_SPELLINGS[node.op])}
    if rng.random() < 0.5:
        doc = {"type": "field", **doc}
    if node.op not in ("exists", "isEmpty"):
        doc["value"] = _json_value(node.value, rng)
    elif rng.random() < 0.3:
        doc["value"] = None
    return doc


def _json_value(value: Any, rng: random.Random) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v, rng) for v in value]
    if isinstance(value, Span):
        if rng.random() < 0.5:
            return {"amount": value.amount, "unit": value.unit}
        return f"{value.amount} {value.unit}"
    if isinstance(value, Ago):
        return f"{value.amount} {value.unit} ago"
    return value


_TEXT_SPELLINGS = {
    "eq": ["=", "==", "eq", "EQ"],
    "neq": ["!=", "<>", "neq"],
    "gt": [">", "gt"],
    "gte": [">=", "gte"],
    "lt": ["<", "lt"],
    "lte": ["<=", "LTE"],
    "in": ["in", "IN"],
    "nin": ["nin", "not in", "NOT IN"],
    "contains": ["contains", "CONTAINS"],
    "notContains": ["not contains", "NOT contains"],
    "startsWith": ["startsWith", "starts with", "STARTS WITH"],
    "endsWith": ["endsWith", "ends with"],
    "exists": ["exists", "is not empty", "is not null", "IS NOT NULL"],
    "isEmpty": ["isEmpty", "is empty", "is null", "not exists"],
    "containsAny": ["containsAny", "contains any"],
    "containsAll": ["containsAll", "contains all", "CONTAINS ALL"],
    "before": ["before"],
    "after": ["after", "AFTER"],
    "on": ["on"],
    "between": ["between"],
    "withinLast": ["within last"],
}
_BARE_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_RESERVED = {"and", "or", "not"}


def quoted(value: str, rng: random.Random | None = None) -> str:
    """A string in the text form: in single quotes (or double), `\\` and the quote escaped."""
    mark = '"' if rng is not None and rng.random() < 0.2 else "'"
    return mark + value.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark


def to_where(node: Node, rng: random.Random) -> str:
    """The tree as the text `where`, in spellings drawn by `rng`; NOT as `NOT (...)`."""
    if isinstance(node, Grp):
        joiner = f" {rng.choice([node.logic, node.logic.lower()])} "
        return joiner.join(_text(item, rng) for item in node.items)
    return _text(node, rng)


def _text(node: Node, rng: random.Random) -> str:
    if isinstance(node, Neg):
        return f"{rng.choice(['NOT', 'not'])} ({_text(node.item, rng)})"
    if isinstance(node, Grp):
        return f"({to_where(node, rng)})"
    name = node.field
    if not _BARE_FIELD.fullmatch(name) or name.lower() in _RESERVED or rng.random() < 0.2:
        name = f"`{name}`"
    op, value = node.op, node.value
    if op in ("exists", "isEmpty"):
        return f"{name} {rng.choice(_TEXT_SPELLINGS[op])}"
    if op == "between" and isinstance(value, tuple) and len(value) == 2:
        low, high = (_text_value(v, rng) for v in value)
        return f"{name} between {low} {rng.choice(['and', 'AND'])} {high}"
    if op == "withinLast" and isinstance(value, Span):
        lead = rng.choice(["within last", "within the last", "in the last", "in last"])
        return f"{name} {lead} {value.amount} {value.unit}"
    return f"{name} {rng.choice(_TEXT_SPELLINGS[op])} {_text_value(value, rng)}"


def _text_value(value: Any, rng: random.Random) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_text_value(v, rng) for v in value) + ")"
    if isinstance(value, Ago):
        return f"{value.amount} {value.unit} ago"
    if isinstance(value, bool):
        return rng.choice(["true", "TRUE"]) if value else rng.choice(["false", "False"])
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    return quoted(str(value), rng)


def describe(node: Node) -> str:
    """The tree in the text form, in its first spellings (for messages)."""
    return to_where(node, _First())


class _First(random.Random):
    """A stand-in for a Random that always takes the first spelling."""

    def choice(self, seq: Any) -> Any:
        return seq[0]

    def random(self) -> float:
        return 0.99


def simpler(node: Node) -> Iterable[Node]:
    """Smaller trees than `node`, for narrowing down a mismatch."""
    if isinstance(node, Neg):
        yield node.item
        for inner in simpler(node.item):
            yield Neg(inner)
    elif isinstance(node, Grp):
        yield from node.items
        if len(node.items) > 1:
            for index in range(len(node.items)):
                yield Grp(node.logic, (*node.items[:index], *node.items[index + 1 :]))
        for index, item in enumerate(node.items):
            for inner in simpler(item):
                yield Grp(node.logic, (*node.items[:index], inner, *node.items[index + 1 :]))
    elif isinstance(node.value, tuple) and len(node.value) > 1 and node.op != "between":
        for index in range(len(node.value)):
            yield Cond(node.field, node.op, (*node.value[:index], *node.value[index + 1 :]))
