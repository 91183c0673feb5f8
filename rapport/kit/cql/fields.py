"""The fields a query can name: their types, the operators each type takes, how a value
written in a query becomes a typed value, and how a condition becomes SQL.

A domain offers fields on the records it knows (`rapport.kit.hooks.query_fields`): contacts
their own columns, properties the custom ones, tags `tag`, companies `company.*`, and so on.
A field builds the SQL of the positive operators only; the compiler derives the rest (`neq` is
NOT `eq`, `before` is `lt`, `withinLast` is a `between` ending now), so every field means the
same by each operator.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_, select, true

from rapport.kit.cql.tree import NEGATED, ActivityFilter, Ago, Condition, Op, Span, Unit


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"
    MULTI_CHOICE = "multiChoice"
    ID = "id"
    ACTIVITY = "activity"


_EQUALITY = (Op.EQ, Op.NEQ, Op.IN, Op.NIN, Op.EXISTS, Op.IS_EMPTY)
_ORDER = (Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN)
_TIME = (*_ORDER, Op.BEFORE, Op.AFTER, Op.ON, Op.WITHIN_LAST)

OPERATORS: dict[FieldType, tuple[Op, ...]] = {
    FieldType.TEXT: (
        *_EQUALITY,
        Op.CONTAINS,
        Op.NOT_CONTAINS,
        Op.STARTS_WITH,
        Op.ENDS_WITH,
    ),
    FieldType.NUMBER: (*_EQUALITY, *_ORDER),
    FieldType.BOOLEAN: (Op.EQ, Op.NEQ, Op.EXISTS, Op.IS_EMPTY),
    FieldType.DATE: (*_EQUALITY, *_TIME),
    FieldType.DATETIME: (Op.EXISTS, Op.IS_EMPTY, *_TIME),
    FieldType.CHOICE: _EQUALITY,
    FieldType.MULTI_CHOICE: (*_EQUALITY, Op.CONTAINS_ANY, Op.CONTAINS_ALL),
    FieldType.ID: _EQUALITY,
    FieldType.ACTIVITY: (Op.HAS,),
}
"""What each type of field accepts. On a list of values (MULTI_CHOICE: a multi-select, tags,
lists) `eq x` means "has x", `in (x, y)` "has x or y" (`containsAny`), `containsAll` "has
every one"."""


@dataclass(frozen=True)
class Excluding:
    """The records whose ids the SELECT does not return (`id NOT IN (...)`): how a relation
    says "none", e.g. fewer than 3 activities is not having 3 or more."""

    ids: Select[Any]


Predicate = ColumnElement[bool] | Select[Any] | Excluding
"""What a field builds: a condition on the entity's own row, or a SELECT of the ids of the
records that match (a relation), which the compiler turns into `id IN (...)`, or Excluding."""

Builder = Callable[[Op, Any], Predicate]
ColumnBuilder = Callable[[Op, Any], ColumnElement[bool]]


class Source(StrEnum):
    SYSTEM = "system"
    CUSTOM = "custom"
    RELATION = "relation"


@dataclass(frozen=True)
class Field:
    """A field of a query. `build(op, value)` gets a positive operator (eq, in, gt, gte, lt,
    lte, between, contains, startsWith, endsWith, exists, containsAny, containsAll, has) and
    the value typed (str, float or int, bool, date, aware datetime, uuid, tuples of them,
    an ActivityFilter). `cost` is its weight in a query's estimated cost: 1 for an indexed
    column, more for a relation or a scan."""

    name: str
    type: FieldType
    label: str
    build: Builder = field(compare=False, repr=False)
    options: tuple[str, ...] = ()
    source: Source = Source.SYSTEM
    cost: int = 1
    description: str | None = None
    writable: bool = False
    """Also written through the entity's API (its own fields and custom properties)."""
    related_records: str | None = None
    """For an ID or MULTI_CHOICE field whose values name other records (`list`: lists), the
    kind of record (the lists domain checks the lists named exist and form no cycle)."""
    column: Any = field(default=None, compare=False, repr=False)
    """The field's value on the entity's own row (a column or an expression of it), for a
    field that has one: what an export reads."""
    windowed: bool = False
    """A count that takes `within last N unit` (`emailsOpened > 3 within last 90 days`):
    its build gets each value as `Windowed`."""

    @property
    def operators(self) -> tuple[Op, ...]:
        return OPERATORS[self.type]


def through(
    prefix: str,
    item: Field,
    related_id: Any,
    related_to: Callable[[ColumnElement[bool]], Select[Any]],
    label: str,
) -> Field:
    """`item`, a field of a related record (a contact's company), offered as `prefix.name`,
    weighing twice the field and more (a subquery through the relation, which a planner
    weighs against the others):
    the condition on the related record (`related_id` is its id column) becomes, through
    `related_to`, the ids of the records it is related to. `company.industry = SaaS` is
    "related to at least one company whose industry is SaaS"; its NOT is "to none"."""

    def build(op: Op, value: Any) -> Predicate:
        return related_to(as_condition(item.build(op, value), related_id))

    return replace(
        item,
        name=f"{prefix}.{item.name}",
        label=f"{label}: {item.label}",
        build=build,
        source=Source.RELATION,
        cost=2 * item.cost + 4,
        writable=False,
        column=None,
    )


def as_condition(
    predicate: Predicate, id_column: Any, *, correlate: bool = False
) -> ColumnElement[bool]:
    """A predicate as a condition on the rows whose ids are in `id_column`: `id IN (...)`,
    or with `correlate`, `EXISTS (... AND related id = id)`, which a database evaluates for
    each candidate row instead of computing every match first (what evaluating a few
    records wants; over a whole table, both plan alike on PostgreSQL, and SQLite does
    better with IN)."""
    if isinstance(predicate, Excluding):
        if correlate:
            return ~_correlated(predicate.ids, id_column).exists()
        unmatched: ColumnElement[bool] = id_column.not_in(predicate.ids)
        return unmatched
    if isinstance(predicate, Select):
        if correlate:
            return _correlated(predicate, id_column).exists()
        matched: ColumnElement[bool] = id_column.in_(predicate)
        return matched
    return predicate


def _correlated(ids: Select[Any], id_column: Any) -> Select[Any]:
    return ids.where(ids.selected_columns[0] == id_column)


SYSTEM_MANAGED = frozenset(
    {"id", "createdAt", "updatedAt", "lastActivityAt", "closedAt", "stageEnteredAt"}
)
"""Fields of a record's own columns that Rapport sets and the API does not write."""


def column_field(name: str, label: str, column: Any, kind: FieldType, cost: int = 1) -> Field:
    """A field on one of the entity's own columns."""
    builder = column_builder(column, kind)
    return Field(
        name, kind, label, builder, cost=cost, writable=name not in SYSTEM_MANAGED, column=column
    )


class FieldLookupError(LookupError):
    pass


@dataclass(frozen=True)
class Catalog:
    """The fields of one entity in one workspace, by name (any case). `properties` is the
    entity's JSON column of custom properties (what an export reads them from)."""

    entity: str
    id_column: Any
    fields: Mapping[str, Field]
    properties: Any = None

    @classmethod
    def of(
        cls, entity: str, id_column: Any, fields: Iterable[Field], properties: Any = None
    ) -> Catalog:
        by_name: dict[str, Field] = {}
        for item in fields:
            by_name.setdefault(item.name.lower(), item)
        return cls(entity, id_column, by_name, properties)

    def field(self, name: str) -> Field:
        found = self.fields.get(name.lower())
        if found is None:
            raise FieldLookupError(name)
        return found


class ValueError_(ValueError):
    """A value that does not fit its field; the message says why. `part` is the member of
    the condition at fault (`value`, or `within` for its window)."""

    def __init__(self, message: str, part: str = "value") -> None:
        super().__init__(message)
        self.part = part


_AGO = re.compile(r"^\s*(\d{1,6})\s+([a-z]+?)s?\s+ago\s*$", re.IGNORECASE)
_SPAN = re.compile(r"^\s*(\d{1,6})\s+([a-z]+?)s?\s*$", re.IGNORECASE)
_UNITS = {unit.value.rstrip("s"): unit for unit in Unit}


def _unit(word: str) -> Unit | None:
    return _UNITS.get(word.lower().rstrip("s"))


def span_of(value: Any) -> Span:
    """`30 days` written as a Span, a string or {"amount": 30, "unit": "days"}."""
    amount: Any = None
    unit: Unit | None = None
    if isinstance(value, Span):
        amount, unit = value.amount, value.unit
    elif isinstance(value, str) and (match := _SPAN.match(value)):
        amount, unit = int(match.group(1)), _unit(match.group(2))
    elif isinstance(value, Mapping):
        amount, word = value.get("amount"), value.get("unit")
        unit = _unit(word) if isinstance(word, str) else None
    if isinstance(amount, bool) or not isinstance(amount, int) or unit is None:
        raise ValueError_("must be a length of time like '30 days' (minutes to years)")
    if not 0 < amount <= 100_000:
        raise ValueError_("the length of time must be between 1 and 100000 units")
    return Span(amount, unit)


def ago_of(value: Any) -> Ago | None:
    """`30 days ago` as an Ago, from an Ago or a string; None if it is not one."""
    if isinstance(value, Ago):
        return Ago(span_of(value.span))
    if isinstance(value, str) and (match := _AGO.match(value)):
        unit = _unit(match.group(2))
        if unit is not None:
            return Ago(span_of(Span(int(match.group(1)), unit)))
    return None


def moment_before(now: datetime, span: Span) -> datetime:
    """`now` minus the span, calendar-aware for months and years (the 31st of a shorter
    month is its last day)."""
    if span.unit in (Unit.MONTHS, Unit.YEARS):
        months = span.amount * (12 if span.unit == Unit.YEARS else 1)
        index = now.year * 12 + now.month - 1 - months
        year, month = divmod(index, 12)
        if year < 1:
            raise ValueError_("the length of time reaches before year 1")
        month += 1
        day = now.day
        while True:
            try:
                return now.replace(year=year, month=month, day=day)
            except ValueError:
                day -= 1
    minutes = {Unit.MINUTES: 1, Unit.HOURS: 60, Unit.DAYS: 1440, Unit.WEEKS: 10080}[span.unit]
    try:
        return now - timedelta(minutes=span.amount * minutes)
    except OverflowError as exc:
        raise ValueError_("the length of time reaches before year 1") from exc


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError_("must be text")
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise ValueError_("must be text")
    if "\x00" in value:
        raise ValueError_("must not contain NUL characters")
    if len(value) > 1000:
        raise ValueError_("at most 1000 characters")
    return value


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError_("must be a number")
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError as exc:
            raise ValueError_("must be a number") from exc
    if not isinstance(value, int | float) or value != value or abs(value) > 1e15:
        raise ValueError_("must be a finite number of at most 1e15")
    if isinstance(value, int) and not -(2**31) <= value < 2**31:
        # Bound as a 64-bit float: an integer parameter must fit 32 bits on PostgreSQL
        # when it is compared with an integer column or a count.
        return float(value)
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError_("must be true or false")


def _date(value: Any) -> date:
    if isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                return date.fromisoformat(value.strip())
            return _datetime(value).date()
        except (ValueError, ValueError_):
            pass
    raise ValueError_("must be a date like 2026-01-31, or like '30 days ago'")


def _datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            try:
                return moment.astimezone(UTC)
            except OverflowError:
                pass
    raise ValueError_(
        "must be a date (2026-01-31), a date and time (2026-01-31T09:00:00Z), or like '30 days ago'"
    )


def _choice(options: tuple[str, ...], value: Any) -> str:
    text = _text(value)
    if not options:
        return text
    for option in options:
        if option.lower() == text.lower():
            return option
    raise ValueError_(f"must be one of {', '.join(options)}")


def _identifier(value: Any) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValueError_("must be an id")


def _activity(options: tuple[str, ...], value: Any) -> ActivityFilter:
    if not isinstance(value, ActivityFilter):
        raise ValueError_("must say which activity: {activityType?, withinLast?}")
    kind = value.activity_type
    if kind is not None:
        kind = _choice(options, kind)
    return ActivityFilter(kind, value.within)


def typed_value(item: Field, value: Any) -> Any:
    """One written value as the field's type holds it."""
    kind = item.type
    if kind == FieldType.TEXT:
        return _text(value)
    if kind == FieldType.NUMBER:
        return _number(value)
    if kind == FieldType.BOOLEAN:
        return _boolean(value)
    if kind == FieldType.DATE:
        return _date(value)
    if kind == FieldType.DATETIME:
        return _datetime(value)
    if kind in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
        return _choice(item.options, value)
    if kind == FieldType.ID:
        return _identifier(value)
    return _activity(item.options, value)


LIST_LIMIT = 1000


def values_of(value: Any, *, exactly: int | None = None) -> tuple[Any, ...]:
    """The written list of in, nin, between, containsAny, containsAll."""
    if not isinstance(value, list | tuple):
        raise ValueError_("must be a list of values")
    if exactly is not None and len(value) != exactly:
        raise ValueError_(f"must be a list of {exactly} values")
    if not value:
        raise ValueError_("must list at least one value")
    if len(value) > LIST_LIMIT:
        raise ValueError_(f"at most {LIST_LIMIT} values")
    return tuple(value)


def is_time(kind: FieldType) -> bool:
    return kind in (FieldType.DATE, FieldType.DATETIME)


@dataclass(frozen=True)
class ActivityWindow:
    """What `has activity` hands its field: the type wanted (None: any) and the moments the
    activity must fall between (None: no bound)."""

    activity_type: str | None
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class Windowed:
    """What a windowed field's build gets: the value, and the moments between which to
    count (None: all time)."""

    value: Any
    since: datetime | None
    until: datetime | None


def holds(op: Op, count: Any, value: Any) -> Any:
    """`count op value`, for a SQL count or for the number 0."""
    if op == Op.EQ:
        return count == value
    if op == Op.IN:
        return count.in_(value) if isinstance(count, ColumnElement) else count in value
    if op == Op.BETWEEN:
        low, high = value
        return count.between(low, high) if isinstance(count, ColumnElement) else low <= 0 <= high
    if op == Op.GT:
        return count > value
    if op == Op.GTE:
        return count >= value
    if op == Op.LT:
        return count < value
    if op == Op.LTE:
        return count <= value
    raise AssertionError(op)


def count_field(
    name: str,
    label: str,
    record: Any,
    moment: Any,
    *conditions: ColumnElement[bool],
    cost: int,
    description: str,
) -> Field:
    """A NUMBER field counting related rows (`record` is their column naming the entity's
    id, `moment` when each happened, `conditions` which rows count), windowed: `name > 3`,
    `name > 3 within last 90 days`. A record with none has 0: `name < 2` includes it."""

    def build(op: Op, windowed: Windowed) -> Predicate:
        if op == Op.EXISTS:
            return true()
        counted = select(record).where(record.is_not(None), *conditions)
        if windowed.since is not None:
            counted = counted.where(moment >= windowed.since)
        if windowed.until is not None:
            counted = counted.where(moment <= windowed.until)
        counted = counted.group_by(record)
        condition = holds(op, func.count(), windowed.value)
        if holds(op, 0, windowed.value):
            # Records with none match too: every record but those whose count fails.
            return Excluding(counted.having(not_(condition)))
        return counted.having(condition)

    return Field(
        name,
        FieldType.NUMBER,
        label,
        build,
        source=Source.RELATION,
        cost=cost,
        description=f"{description}; add `within last N days` (or hours, weeks, months) to "
        "count only those",
        windowed=True,
    )


@dataclass(frozen=True)
class Resolved:
    """A condition reduced to the operators fields build: positive ones, with typed values,
    the time-relative ones turned into ranges ending at the query's now."""

    negated: bool
    parts: tuple[tuple[Op, Any], ...]
    relative: bool = False


def resolve(item: Field, condition: Condition, now: datetime) -> Resolved:
    """Check the condition against the field and reduce it (ValueError_ on a bad value)."""
    try:
        return _resolved(item, condition, now)
    except OverflowError as exc:
        raise ValueError_("reaches beyond the dates the calendar holds (years 1 to 9999)") from exc


def _resolved(item: Field, condition: Condition, now: datetime) -> Resolved:
    if condition.within is not None and not item.windowed:
        raise ValueError_(
            f"'within last' after a comparison narrows a count (such as activityCount), "
            f"and {item.name} is not one",
            "within",
        )
    if condition.within is not None and condition.op in (Op.EXISTS, Op.IS_EMPTY):
        raise ValueError_(
            "'within last' narrows a comparison of the count (> 0 is 'any in that span')",
            "within",
        )
    resolved = _resolved_value(item, condition, now)
    if not item.windowed:
        return resolved
    since = None
    if condition.within is not None:
        try:
            since = moment_before(now, condition.within)
        except ValueError_ as exc:
            raise ValueError_(str(exc), "within") from exc
    until = None if since is None else now
    parts = tuple((op, Windowed(value, since, until)) for op, value in resolved.parts)
    return replace(resolved, parts=parts, relative=resolved.relative or since is not None)


def _resolved_value(item: Field, condition: Condition, now: datetime) -> Resolved:
    op, raw = condition.op, condition.value
    negated = op in NEGATED
    if negated:
        op = NEGATED[op]
    if op == Op.EXISTS:
        return Resolved(negated, ((Op.EXISTS, None),))
    if op == Op.HAS:
        activity = _activity(item.options, raw)
        if activity.within is None:
            window = ActivityWindow(activity.activity_type, None, None)
        else:
            window = ActivityWindow(
                activity.activity_type, moment_before(now, activity.within), now
            )
        return Resolved(negated, ((Op.HAS, window),), relative=activity.within is not None)
    if op == Op.WITHIN_LAST:
        start = moment_before(now, span_of(raw))
        if item.type == FieldType.DATE:
            return Resolved(negated, ((Op.BETWEEN, (start.date(), now.date())),), relative=True)
        return Resolved(negated, ((Op.BETWEEN, (start, now)),), relative=True)
    if op in (Op.BEFORE, Op.AFTER, Op.ON):
        return _moment(item, op, raw, now, negated)
    if op in (Op.IN, Op.CONTAINS_ANY, Op.CONTAINS_ALL):
        typed = tuple(dict.fromkeys(typed_value(item, v) for v in values_of(raw)))
        if item.type == FieldType.MULTI_CHOICE and op == Op.IN:
            op = Op.CONTAINS_ANY
        return Resolved(negated, ((op, typed),))
    if op == Op.BETWEEN:
        low, high = (typed_value(item, v) for v in values_of(raw, exactly=2))
        return Resolved(negated, ((Op.BETWEEN, (low, high)),))
    if raw is None:
        raise ValueError_("needs a value (to test for none, use isEmpty)")
    typed = typed_value(item, raw)
    if item.type == FieldType.MULTI_CHOICE and op == Op.EQ:
        return Resolved(negated, ((Op.CONTAINS_ANY, (typed,)),))
    if op in (Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH) and not typed:
        raise ValueError_("must not be empty")
    return Resolved(negated, ((op, typed),))


def _moment(item: Field, op: Op, raw: Any, now: datetime, negated: bool) -> Resolved:
    """before, after and on, of a written moment or of one relative to now."""
    ago = ago_of(raw)
    relative = ago is not None
    if item.type == FieldType.DATE:
        day = moment_before(now, ago.span).date() if ago is not None else _date(raw)
        single = {Op.BEFORE: Op.LT, Op.AFTER: Op.GT, Op.ON: Op.EQ}[op]
        return Resolved(negated, ((single, day),), relative)
    if ago is not None:
        moment = moment_before(now, ago.span)
    elif isinstance(raw, str) and len(raw.strip()) == 10:
        moment = datetime.combine(_date(raw), time(), UTC)
        if op == Op.AFTER:
            # After a day: from the next day on (a date names the whole day).
            moment += timedelta(days=1)
            return Resolved(negated, ((Op.GTE, moment),), relative)
    else:
        moment = _datetime(raw)
    if op == Op.ON:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return Resolved(negated, ((Op.GTE, start), (Op.LT, start + timedelta(days=1))), relative)
    return Resolved(negated, (((Op.LT if op == Op.BEFORE else Op.GT), moment),), relative)


def column_builder(column: Any, kind: FieldType, *, in_subquery: bool = False) -> ColumnBuilder:
    """The SQL of a field held in one column: a value that is missing (NULL) matches no
    positive operator, so that a negated one matches it. Text is compared as stored by eq
    and in, without regard to case by contains, startsWith and endsWith. `in_subquery`: the
    condition selects rows of a subquery, where a comparison with NULL already leaves the
    row out; the guard is left out too (it would count the NULLs twice in the planner's
    estimate)."""

    def build(op: Op, value: Any) -> ColumnElement[bool]:
        present: ColumnElement[bool] = column.is_not(None) if not in_subquery else true()
        if op == Op.EXISTS:
            return present
        if op == Op.EQ:
            return and_(present, column == value)
        if op in (Op.IN, Op.CONTAINS_ANY):
            return and_(present, column.in_(value))
        if op == Op.BETWEEN:
            return and_(present, column.between(*value))
        if op in (Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH):
            folded = func.lower(column)
            needle = value.lower()
            if op == Op.CONTAINS:
                return and_(present, folded.contains(needle, autoescape=True))
            if op == Op.STARTS_WITH:
                return and_(present, folded.startswith(needle, autoescape=True))
            return and_(present, folded.endswith(needle, autoescape=True))
        comparisons = {
            Op.GT: column.__gt__,
            Op.GTE: column.__ge__,
            Op.LT: column.__lt__,
            Op.LTE: column.__le__,
        }
        if op in comparisons:
            return and_(present, comparisons[op](value))
        raise ValueError_(f"{op.value} does not apply to a {kind.value} field")

    return build
