"""A query as the API takes it (a text `where` or a JSON `filter`), compiled for one
workspace: parsed, checked against the entity's fields, and held to the workspace's cost
ceiling (`settings.queryCostLimit`), so that a query too heavy to answer quickly is refused
with 400 instead of running for minutes."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from sqlalchemy import ColumnElement

from rapport.kit.context import Context
from rapport.kit.cql.compiler import Compiled, Compiler
from rapport.kit.cql.fields import Catalog
from rapport.kit.cql.filter_json import parse_filter
from rapport.kit.cql.text import parse_where
from rapport.kit.cql.tree import Group, Logic, Node, conditions_of
from rapport.kit.errors import ErrorDetail, InvalidQuery

DEFAULT_COST_LIMIT = 300
"""The default ceiling of a query's estimated cost: about a hundred conditions on custom
properties or tags, thirty through a relation (`settings.queryCostLimit` changes it per
workspace, up to 5000)."""
MAX_CONDITIONS = 500
"""Whatever the ceiling: SQLite refuses an expression deeper than 1000."""
MAX_VALUES = 5000
"""Values listed by `in` and the like, in the whole query: PostgreSQL takes at most 32767
parameters in a statement."""

EVERYTHING: Node = Group(Logic.AND, ())


def parse_query(
    where: str | None,
    filter_doc: Any | None,
    *,
    filter_name: str = "filter",
    where_name: str = "where",
) -> Node:
    """The tree of `where` or of `filter` (one of them; neither: every record). Errors name
    the member the query came in (`filter_name`, `where_name`)."""
    if where is not None and filter_doc is not None:
        raise InvalidQuery(
            "Send the query as where or as filter, not both",
            details=[ErrorDetail(field="where", message="Send where or filter, not both")],
        )
    if where is not None:
        try:
            return parse_where(where)
        except InvalidQuery as exc:
            raise where_renamed(exc, where_name) from None
    if filter_doc is not None:
        return parse_filter(filter_doc, filter_name)
    return EVERYTHING


def where_renamed(error: InvalidQuery, name: str) -> InvalidQuery:
    """The error of a text query sent in a member not called `where` (a list's
    `filterCriteria`), naming that member."""
    if name == "where":
        return error
    details = [
        detail.model_copy(update={"field": name}) if detail.field == "where" else detail
        for detail in error.details
    ]
    message = error.message.replace("where:", f"{name}:", 1)
    return InvalidQuery(message, details=details)


async def where_condition(
    context: Context, catalog: Catalog | Awaitable[Catalog], where: str
) -> ColumnElement[bool]:
    """A list route's `where` parameter as a condition on its records."""
    if not isinstance(catalog, Catalog):
        catalog = await catalog
    return compiled_for(context, catalog, parse_query(where, None)).where


def cost_limit(context: Context) -> int:
    limit = context.workspace_settings.get("queryCostLimit")
    return limit if isinstance(limit, int) and limit > 0 else DEFAULT_COST_LIMIT


def compiled_for(
    context: Context,
    catalog: Catalog,
    node: Node,
    field: str | None = None,
    *,
    correlate: bool = False,
) -> Compiled:
    """The query compiled at the context's now, or InvalidQuery (a field, operator or value
    that does not fit, too many conditions or values, or a cost above the workspace's
    ceiling, which is checked before anything is compiled). Errors about the whole query
    name `field` (by default the member it came in: where or filter)."""
    member = field or node.at.path.split(".", 1)[0].split("[", 1)[0]
    conditions = conditions_of(node)
    values = sum(len(c.value) for c in conditions if isinstance(c.value, tuple | list))
    for count, limit, what in (
        (len(conditions), MAX_CONDITIONS, "conditions"),
        (values, MAX_VALUES, "listed values"),
    ):
        if count > limit:
            message = f"The query has {count} {what}; at most {limit}"
            raise InvalidQuery(message, details=[ErrorDetail(field=member, message=message)])
    compiler = Compiler(catalog, context.clock(), correlate=correlate)
    cost, ceiling = compiler.cost(node), cost_limit(context)
    if cost > ceiling:
        message = (
            f"The query's estimated cost is {cost}, above this workspace's limit of "
            f"{ceiling} (settings.queryCostLimit): use fewer conditions or simpler ones"
        )
        raise InvalidQuery(message, details=[ErrorDetail(field=member, message=message)])
    return compiler.compile(node)
