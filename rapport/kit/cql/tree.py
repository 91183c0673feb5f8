"""What a query says, whichever syntax said it: conditions on fields, combined by AND, OR and
NOT. The text parser (`text.py`) and the JSON reader (`filter_json.py`) build these; the
compiler (`compiler.py`) turns them into SQL."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Op(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IN = "in"
    NIN = "nin"
    CONTAINS = "contains"
    NOT_CONTAINS = "notContains"
    STARTS_WITH = "startsWith"
    ENDS_WITH = "endsWith"
    EXISTS = "exists"
    IS_EMPTY = "isEmpty"
    WITHIN_LAST = "withinLast"
    BEFORE = "before"
    AFTER = "after"
    ON = "on"
    CONTAINS_ANY = "containsAny"
    CONTAINS_ALL = "containsAll"
    HAS = "has"


NEGATED: dict[Op, Op] = {
    Op.NEQ: Op.EQ,
    Op.NIN: Op.IN,
    Op.IS_EMPTY: Op.EXISTS,
    Op.NOT_CONTAINS: Op.CONTAINS,
}
"""Operators that mean NOT of another: `a neq x` is `NOT a eq x`, so a record with no value
for `a` matches `neq` and `isEmpty` (and never `eq`, `gt`, `contains`...)."""


class Logic(StrEnum):
    AND = "AND"
    OR = "OR"


class Unit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    YEARS = "years"


@dataclass(frozen=True)
class Span:
    """A length of time: `30 days`."""

    amount: int
    unit: Unit


@dataclass(frozen=True)
class Ago:
    """A moment relative to now: `30 days ago`."""

    span: Span


@dataclass(frozen=True)
class ActivityFilter:
    """The value of `has activity [TYPE] [within last N unit]`: at least one activity, of
    this type if given, that occurred in this span if given."""

    activity_type: str | None = None
    within: Span | None = None


@dataclass(frozen=True)
class Location:
    """Where a node came from, for error messages: a JSON path (`filter.conditions[2]`) or a
    line and column of the text (`where`, 1-based)."""

    path: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Condition:
    """`field op value`. The value is as written (str, int, float, bool, None), a tuple of
    them (in, nin, between, containsAny, containsAll), a `Span` (withinLast), an `Ago` or a
    written value (before, after, on), an `ActivityFilter` (has); the compiler checks it
    against the field's type. `within` narrows a count to what happened in that span
    (`emailsOpened > 3 within last 90 days`)."""

    field: str
    op: Op
    value: Any = None
    at: Location = dataclasses.field(default=Location("filter"), compare=False)
    within: Span | None = None


@dataclass(frozen=True)
class Group:
    logic: Logic
    items: tuple[Node, ...]
    at: Location = dataclasses.field(default=Location("filter"), compare=False)


@dataclass(frozen=True)
class Not:
    item: Node
    at: Location = dataclasses.field(default=Location("filter"), compare=False)


Node = Condition | Group | Not


def conditions_of(node: Node) -> list[Condition]:
    """Every condition in the tree, in order."""
    if isinstance(node, Condition):
        return [node]
    if isinstance(node, Not):
        return conditions_of(node.item)
    return [c for item in node.items for c in conditions_of(item)]
