"""The JSON form of a query, as the API takes it in `filter` and `filterCriteria`:

    {"logic": "AND", "conditions": [
        {"type": "field", "field": "status", "operator": "eq", "value": "ACTIVE"},
        {"type": "group", "logic": "OR", "negate": true, "conditions": [...]},
        {"type": "activity", "activityType": "CALL", "withinLast": "14 days"},
        {"type": "field", "field": "emailsOpened", "operator": "gt", "value": 3,
         "within": "90 days"}
    ]}

Each item may say `"negate": true` (NOT). Operator names are those of `Op`, in any case, plus
the common spellings (`ne`, `notIn`, `starts_with`, `is_empty`...).
"""

from __future__ import annotations

from typing import Any

from rapport.kit.cql.fields import ValueError_, span_of
from rapport.kit.cql.tree import (
    ActivityFilter,
    Condition,
    Group,
    Location,
    Logic,
    Node,
    Not,
    Op,
    Span,
)
from rapport.kit.errors import ErrorDetail, InvalidQuery

MAX_DEPTH = 64
MAX_CONDITIONS = 5000

_OPERATORS: dict[str, Op] = {op.value.lower(): op for op in Op}
_OPERATORS.update(
    {
        "=": Op.EQ,
        "==": Op.EQ,
        "equals": Op.EQ,
        "!=": Op.NEQ,
        "<>": Op.NEQ,
        "ne": Op.NEQ,
        "not_equals": Op.NEQ,
        ">": Op.GT,
        ">=": Op.GTE,
        "<": Op.LT,
        "<=": Op.LTE,
        "notin": Op.NIN,
        "not_in": Op.NIN,
        "not_contains": Op.NOT_CONTAINS,
        "starts_with": Op.STARTS_WITH,
        "ends_with": Op.ENDS_WITH,
        "is_empty": Op.IS_EMPTY,
        "not_exists": Op.IS_EMPTY,
        "notexists": Op.IS_EMPTY,
        "is_not_empty": Op.EXISTS,
        "isnotempty": Op.EXISTS,
        "within_last": Op.WITHIN_LAST,
        "contains_any": Op.CONTAINS_ANY,
        "contains_all": Op.CONTAINS_ALL,
    }
)


def _fail(path: str, message: str) -> InvalidQuery:
    return InvalidQuery(f"{path}: {message}", details=[ErrorDetail(field=path, message=message)])


def _span(doc: dict[str, Any], member: str, path: str) -> Span | None:
    """The span a member of the condition writes (`"30 days"`), if it has one."""
    if doc.get(member) is None:
        return None
    try:
        return span_of(doc[member])
    except ValueError_ as exc:
        raise _fail(f"{path}.{member}", str(exc)) from exc


class _Reader:
    def __init__(self) -> None:
        self.count = 0

    def group(self, doc: Any, path: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise _fail(path, f"groups nest at most {MAX_DEPTH} deep")
        if not isinstance(doc, dict):
            raise _fail(path, "must be an object with logic and conditions")
        unknown = set(doc) - {"logic", "conditions", "type", "negate"}
        if unknown:
            raise _fail(f"{path}.{sorted(unknown)[0]}", "unknown member of a group")
        logic_name = doc.get("logic", "AND")
        if not isinstance(logic_name, str) or logic_name.upper() not in ("AND", "OR"):
            raise _fail(f"{path}.logic", "must be AND or OR")
        items = doc.get("conditions")
        if not isinstance(items, list):
            raise _fail(f"{path}.conditions", "must be a list of conditions and groups")
        at = Location(path)
        nodes = tuple(
            self.item(item, f"{path}.conditions[{index}]", depth + 1)
            for index, item in enumerate(items)
        )
        group = Group(Logic(logic_name.upper()), nodes, at)
        return self._negated(group, doc, path)

    def item(self, doc: Any, path: str, depth: int) -> Node:
        if not isinstance(doc, dict):
            raise _fail(path, "must be an object: a condition or a group")
        kind = doc.get("type", "group" if "conditions" in doc else "field")
        if kind == "group":
            return self.group(doc, path, depth)
        self.count += 1
        if self.count > MAX_CONDITIONS:
            raise _fail(path, f"a query has at most {MAX_CONDITIONS} conditions")
        if kind == "activity":
            return self._activity(doc, path)
        if kind != "field":
            raise _fail(f"{path}.type", "must be field, group or activity")
        unknown = set(doc) - {"type", "field", "operator", "value", "within", "negate"}
        if unknown:
            raise _fail(f"{path}.{sorted(unknown)[0]}", "unknown member of a condition")
        name = doc.get("field")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise _fail(f"{path}.field", "must name a field (GET /fields lists them)")
        operator = doc.get("operator")
        op = _OPERATORS.get(operator.lower()) if isinstance(operator, str) else None
        if op is None:
            names = ", ".join(o.value for o in Op if o != Op.HAS)
            raise _fail(f"{path}.operator", f"must be one of {names}")
        value = doc.get("value")
        if op == Op.HAS:
            raise _fail(f"{path}.operator", 'has is written {"type": "activity", ...}')
        if op == Op.WITHIN_LAST:
            try:
                value = span_of(value)
            except ValueError_ as exc:
                raise _fail(f"{path}.value", str(exc)) from exc
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            raise _fail(f"{path}.value", "must be a value or a list of values")
        within = _span(doc, "within", path)
        condition = Condition(name.strip(), op, value, Location(path), within)
        return self._negated(condition, doc, path)

    def _activity(self, doc: dict[str, Any], path: str) -> Node:
        unknown = set(doc) - {"type", "activityType", "withinLast", "negate"}
        if unknown:
            raise _fail(f"{path}.{sorted(unknown)[0]}", "unknown member of an activity condition")
        kind = doc.get("activityType")
        if kind is not None and (not isinstance(kind, str) or len(kind) > 50):
            raise _fail(f"{path}.activityType", "must be an activity type such as CALL")
        within = _span(doc, "withinLast", path)
        condition = Condition("activity", Op.HAS, ActivityFilter(kind, within), Location(path))
        return self._negated(condition, doc, path)

    @staticmethod
    def _negated(node: Node, doc: dict[str, Any], path: str) -> Node:
        negate = doc.get("negate", False)
        if not isinstance(negate, bool):
            raise _fail(f"{path}.negate", "must be true or false")
        return Not(node, Location(path)) if negate else node


def parse_filter(doc: Any, path: str = "filter") -> Node:
    """The tree of a JSON filter (a group at the top), or InvalidQuery naming the first
    member that is wrong by its path."""
    return _Reader().group(doc, path, 1)
