"""Unknown query parameters are refused (400 naming them), as unknown body fields are (422): a
misspelt filter must not silently answer with everything."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

from fastapi import Query, Request
from fastapi.routing import APIRoute

from rapport.kit.errors import ErrorDetail, InvalidRequest
from rapport.kit.schemas import UtcDateTime


def refuse_unknown_query(request: Request, also_known: Collection[str] = ()) -> None:
    """400 if the request carries a query parameter its route does not declare (nor
    `also_known`, parameters read outside the route's signature)."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared(route) - set(also_known))
    if unknown:
        raise InvalidRequest(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            details=[
                ErrorDetail(field=name, message="Unknown query parameter") for name in unknown
            ],
        )


_DECLARED: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _declared(route: APIRoute) -> frozenset[str]:
    """The query parameters of the route and of every dependency it declares (computed once
    per route)."""
    cached = _DECLARED.get(id(route))
    if cached is not None and cached[0] is route:
        return cached[1]
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    _DECLARED[id(route)] = (route, frozenset(names))
    return frozenset(names)


WhereQuery = Annotated[
    str | None,
    Query(
        max_length=20_000,
        description="A condition in the query language that every record listed meets "
        "(docs/query-language.md), e.g. `lifecycleStage = CUSTOMER AND tag = vip`; "
        "400 INVALID_QUERY if it does not parse or fit",
    ),
]
"""A list's `where`: the query language behind a list route."""

CreatedFrom = Annotated[
    UtcDateTime | None, Query(alias="from", description="Created at or after (ISO 8601)")
]
CreatedTo = Annotated[
    UtcDateTime | None, Query(alias="to", description="Created at or before (ISO 8601)")
]
"""A list's creation-date range (`from`, `to`)."""
