"""From a query's tree to one SQL condition on the entity's rows.

Every value is a bound parameter and every field is one the catalogue offers (so a name
written in a query never reaches the SQL); relations are subqueries on mapped tables, which the
tenant guard scopes like any other statement. A condition never evaluates to NULL (a missing
value makes a positive operator false), so NOT always means "everything else".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from rapport.kit.cql.fields import Catalog, FieldLookupError, ValueError_, as_condition, resolve
from rapport.kit.cql.tree import Condition, Logic, Node, Not, conditions_of
from rapport.kit.errors import ErrorDetail, InvalidQuery


@dataclass(frozen=True)
class Compiled:
    where: ColumnElement[bool]
    cost: int
    """The query's estimated cost: the sum of its conditions' weights (an indexed column 1,
    a custom property 2, a relation more); a workspace refuses queries above its ceiling."""
    relative_to_now: bool
    """Some condition depends on the time it is evaluated at (`within last`, `ago`): its
    matches change as time passes, with no change to the data."""


def _detail(condition: Condition, part: str, message: str) -> ErrorDetail:
    at = condition.at
    if at.line is not None:
        return ErrorDetail(
            field=at.path, message=f"{condition.field}: {message}", line=at.line, column=at.column
        )
    return ErrorDetail(field=f"{at.path}.{part}", message=message)


class Compiler:
    def __init__(self, catalog: Catalog, now: datetime, *, correlate: bool = False) -> None:
        self.catalog = catalog
        self.now = now
        self.correlate = correlate
        self._errors: list[ErrorDetail] = []
        self._relative = False

    def compile(self, node: Node) -> Compiled:
        """The tree as one condition, or InvalidQuery naming every condition that does not
        fit its field (all of them, not just the first)."""
        where = self._node(node)
        if self._errors:
            first = self._errors[0]
            raise InvalidQuery(
                f"{first.field}: {first.message}"
                + (f" (and {len(self._errors) - 1} more)" if len(self._errors) > 1 else ""),
                details=self._errors,
            )
        return Compiled(where, self.cost(node), self._relative)

    def cost(self, node: Node) -> int:
        total = 0
        for condition in conditions_of(node):
            try:
                total += self.catalog.field(condition.field).cost
            except FieldLookupError:
                total += 1
        return total

    def _node(self, node: Node, correlate: bool | None = None) -> ColumnElement[bool]:
        """Relations are `id IN (subquery)` along a chain of ANDs, which a planner joins
        (a semi-join); under OR or NOT they are correlated EXISTS, which it probes per row:
        PostgreSQL cannot join an IN it must OR or negate, and runs it per row unless its
        whole result fits in work_mem, which at a million rows it does not."""
        correlate = self.correlate if correlate is None else correlate
        if isinstance(node, Condition):
            return self._condition(node, correlate)
        if isinstance(node, Not):
            return not_(self._node(node.item, True))
        if node.logic == Logic.OR and len(node.items) > 1:
            correlate = True
        parts = [self._node(item, correlate) for item in node.items]
        if not parts:
            return true() if node.logic == Logic.AND else false()
        return and_(*parts) if node.logic == Logic.AND else or_(*parts)

    def _condition(self, condition: Condition, correlate: bool) -> ColumnElement[bool]:
        try:
            item = self.catalog.field(condition.field)
        except FieldLookupError:
            self._errors.append(
                _detail(
                    condition,
                    "field",
                    f"Unknown field '{condition.field}' for a {self.catalog.entity} "
                    "(GET /fields lists them)",
                )
            )
            return false()
        if condition.op not in item.operators:
            allowed = ", ".join(op.value for op in item.operators)
            self._errors.append(
                _detail(
                    condition,
                    "operator",
                    f"'{condition.op.value}' does not apply to {item.type.value} field "
                    f"'{item.name}'; use one of {allowed}",
                )
            )
            return false()
        try:
            resolved = resolve(item, condition, self.now)
            parts = [
                as_condition(
                    item.build(op, value),
                    self.catalog.id_column,
                    correlate=correlate or resolved.negated,
                )
                for op, value in resolved.parts
            ]
        except ValueError_ as exc:
            self._errors.append(_detail(condition, exc.part, str(exc)))
            return false()
        self._relative |= resolved.relative
        where = parts[0] if len(parts) == 1 else and_(*parts)
        return not_(where) if resolved.negated else where
