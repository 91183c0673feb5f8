"""The text form of a query, `where`: `status = ACTIVE AND (email contains '@example.com' OR
lifecycleStage in (LEAD, CUSTOMER)) AND NOT tag = vip`, parsed into the tree of `tree.py`.

A Lark LALR grammar with a contextual lexer: each parser state lexes only what may come
there, so a word is a keyword only where the keyword fits (`status = open` holds a value,
`status = true` a bool). AND, OR and NOT are reserved everywhere: they are never a field nor
a bare-word value (quote them, or backquote a field). Syntax errors become `InvalidQuery`
with the line, the column and, in words, what could have come there."""

from __future__ import annotations

import math
import re
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.tree import Meta

from rapport.kit.cql.tree import (
    ActivityFilter,
    Ago,
    Condition,
    Group,
    Location,
    Logic,
    Node,
    Not,
    Op,
    Span,
    Unit,
)
from rapport.kit.errors import ErrorDetail, InvalidQuery
from rapport.kit.limits import INTEGER_RANGE

MAX_WHERE_LENGTH = 20_000
"""Characters in a `where`; a longer one is refused before parsing."""
MAX_WHERE_DEPTH = 64
"""Parentheses and NOTs nested around any condition of a `where`; refused before parsing, so
that no input can build a tree too deep for the code that walks it."""

_KEYWORDS = {
    "_AND": "and",
    "_OR": "or",
    "_NOT": "not",
    "_IN": "in",
    "_NIN": "nin",
    "_BETWEEN": "between",
    "_CONTAINS": "contains",
    "_CONTAINSANY": "containsAny",
    "_CONTAINSALL": "containsAll",
    "_ANY": "any",
    "_ALL": "all",
    "_STARTS": "starts",
    "_STARTSWITH": "startsWith",
    "_ENDS": "ends",
    "_ENDSWITH": "endsWith",
    "_WITH": "with",
    "_EXISTS": "exists",
    "_IS": "is",
    "_EMPTY": "empty",
    "_ISEMPTY": "isEmpty",
    "_WITHIN": "within",
    "_THE": "the",
    "_LAST": "last",
    "_BEFORE": "before",
    "_AFTER": "after",
    "_ON": "on",
    "_AGO": "ago",
    "_HAS": "has",
    "_ACTIVITY": "activity",
    "NO": "no",
    "NULL": "null",
    "TRUE": "true",
    "FALSE": "false",
    "EQ": "eq",
    "NEQ": "neq",
    "GT": "gt",
    "GTE": "gte",
    "LT": "lt",
    "LTE": "lte",
}
"""Terminal name: keyword. Those named with `_` are left out of the parse tree (Lark's rule)."""

_WORD_END = r"(?![A-Za-z0-9_.\-])"
"""A keyword is a whole word: `notes` is a field, `in` is not the start of `inside`."""
_RESERVED = rf"(?!(?:and|or|not){_WORD_END})"

_GRAMMAR = rf"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> negation
    | "(" or_expr ")"
    | condition
    | activity

// The AND of `between 1 and 5` is the boolean AND's terminal: the parser state tells them
// apart (after `between v` only it may come, and after `between v and w` it is boolean).
?condition: field comparison value -> compare
    | field comparison value recent -> compare_within
    | field _IN values -> in_values
    | field (_NOT _IN | _NIN) values -> not_in_values
    | field _BETWEEN value _AND value -> between
    | field _BETWEEN value _AND value recent -> between_within
    | field _CONTAINS value -> contains
    | field _NOT _CONTAINS value -> not_contains
    | field (_STARTS _WITH | _STARTSWITH) value -> starts_with
    | field (_ENDS _WITH | _ENDSWITH) value -> ends_with
    | field (_CONTAINS _ANY | _CONTAINSANY) values -> contains_any
    | field (_CONTAINS _ALL | _CONTAINSALL) values -> contains_all
    | field (_EXISTS | _IS _NOT _EMPTY | _IS _NOT NULL) -> exists
    | field (_NOT _EXISTS | _IS _EMPTY | _IS NULL | _ISEMPTY) -> is_empty
    | field recent -> within_last
    | field _BEFORE moment -> before
    | field _AFTER moment -> after
    | field _ON moment -> on

activity: _HAS [NO] _ACTIVITY [activity_type] [recent]
activity_type: WORD | STRING

field: FIELD | QUOTED_FIELD
comparison: EQUALS | NOT_EQUALS | GREATER | GREATER_EQUAL | LESS | LESS_EQUAL
    | EQ | NEQ | GT | GTE | LT | LTE

values: "(" value ("," value)* ")"
?value: STRING -> string
    | LITERAL -> literal
    | WORD -> word
    | TRUE -> true
    | FALSE -> false
    | NULL -> null

recent: (_WITHIN | _IN) _THE? _LAST span
span: LITERAL UNIT
?moment: value
    | span _AGO -> ago

FIELD: /{_RESERVED}[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/i
QUOTED_FIELD: /`[^`]+`/
STRING: /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/s
LITERAL: /[+-]?\.?[0-9][A-Za-z0-9_.:+\-]*/
WORD: /{_RESERVED}[A-Za-z_][A-Za-z0-9_\-]*/i
UNIT.2: /(?:minute|hour|day|week|month|year)s?{_WORD_END}/i

EQUALS: "==" | "="
NOT_EQUALS: "!=" | "<>"
GREATER_EQUAL: ">="
GREATER: ">"
LESS_EQUAL: "<="
LESS: "<"

%ignore /\s+/
"""
_GRAMMAR += "\n".join(f"{name}.2: /{word}{_WORD_END}/i" for name, word in _KEYWORDS.items())

_PARSER = Lark(
    _GRAMMAR,
    parser="lalr",
    lexer="contextual",
    propagate_positions=True,
    maybe_placeholders=True,
)

_COMPARISONS = {
    "EQUALS": Op.EQ,
    "EQ": Op.EQ,
    "NOT_EQUALS": Op.NEQ,
    "NEQ": Op.NEQ,
    "GREATER": Op.GT,
    "GT": Op.GT,
    "GREATER_EQUAL": Op.GTE,
    "GTE": Op.GTE,
    "LESS": Op.LT,
    "LT": Op.LT,
    "LESS_EQUAL": Op.LTE,
    "LTE": Op.LTE,
}
_UNITS = {unit.value.removesuffix("s"): unit for unit in Unit}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_LEADING_ZERO = re.compile(r"[+-]?0\d")
"""`02139` is a postal code, not a number: kept as written."""
_DATE_OR_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def parse_where(text: str) -> Node:
    """The tree of a text query. Raises `InvalidQuery` for anything else: too long, nested
    too deep, empty, or not in the language."""
    if len(text) > MAX_WHERE_LENGTH:
        raise _invalid(f"the query is longer than {MAX_WHERE_LENGTH} characters")
    if not text.strip():
        raise _invalid("the query is empty")
    _check_nesting(text)
    try:
        parsed = _PARSER.parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from error
    try:
        node: Node = _TreeBuilder().transform(parsed)
    except VisitError as error:
        if isinstance(error.orig_exc, InvalidQuery):
            raise error.orig_exc from None
        raise
    return node


def _invalid(
    problem: str,
    line: int | None = None,
    column: int | None = None,
    expected: list[str] | None = None,
) -> InvalidQuery:
    message = problem if line is None else f"{problem} at line {line}, column {column}"
    if expected:
        message += f"; expected {_either(expected)}"
    detail = ErrorDetail(
        field="where", message=message, line=line, column=column, expected=expected
    )
    return InvalidQuery(f"where: {message}", details=[detail])


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of an offset, counting lines as Lark does."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


_SCAN = re.compile(
    r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|`[^`]*`?|[A-Za-z0-9_.:+\-]+|\S""", re.DOTALL
)
"""The words, quoted strings and single symbols of a query, for counting its nesting."""


def _check_nesting(text: str) -> None:
    """Refuse more than MAX_WHERE_DEPTH levels of parentheses and NOTs, counted on a scan of
    the text before parsing. Where an operand may start (at the start, after `(`, AND, OR,
    NOT), NOT and `(` open a level; a condition ends the NOTs before it, and `)` ends its
    group and the NOTs before that group. A `(` elsewhere opens a list of values."""
    waiting_nots = [0]  # NOTs before an operand not yet begun: the query's, then per group
    open_parentheses: list[bool] = []  # True for a group, False for a list of values
    depth = 0
    operand_may_start = True
    for match in _SCAN.finditer(text):
        word = match.group().lower()
        if operand_may_start and word == "not":
            waiting_nots[-1] += 1
            depth += 1
        elif word == "(":
            open_parentheses.append(operand_may_start)
            if operand_may_start:
                waiting_nots.append(0)
                depth += 1
        elif word == ")":
            if open_parentheses and open_parentheses.pop():
                depth -= 1 + waiting_nots.pop() + waiting_nots[-1]
                waiting_nots[-1] = 0
        elif operand_may_start:
            depth -= waiting_nots[-1]
            waiting_nots[-1] = 0
        if depth > MAX_WHERE_DEPTH:
            line, column = _position(text, match.start())
            raise _invalid(
                f"the query nests more than {MAX_WHERE_DEPTH} parentheses and NOTs", line, column
            )
        operand_may_start = word in ("and", "or", "not") or (word == "(" and open_parentheses[-1])


_NAMES = {
    "FIELD": "a field",
    "QUOTED_FIELD": "a field",
    "STRING": "a value",
    "LITERAL": "a value",
    "WORD": "a value",
    "UNIT": "a unit of time",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "$END": "end of query",
}
_NAMES.update({name: word.upper() for name, word in _KEYWORDS.items()})
_OPERATORS = {
    *_COMPARISONS,
    "_IN",
    "_NIN",
    "_NOT",
    "_BETWEEN",
    "_CONTAINS",
    "_CONTAINSANY",
    "_CONTAINSALL",
    "_STARTS",
    "_STARTSWITH",
    "_ENDS",
    "_ENDSWITH",
    "_EXISTS",
    "_IS",
    "_ISEMPTY",
    "_WITHIN",
    "_BEFORE",
    "_AFTER",
    "_ON",
}
_KEYWORD_VALUES = {"TRUE", "FALSE", "NULL"}


def _describe(expected: set[str]) -> list[str]:
    """What could have come, in words. After a field, every operator is "an operator"; where
    a value may come, `true`, `false` and `null` are "a value" (but after IS, `null` is the
    keyword NULL); after `has activity`, a word is "an activity type"; after a comparison,
    `within` and `in` are the start of WITHIN LAST (a count's window)."""
    names = set()
    for terminal in expected:
        if terminal in ("_WITHIN", "_IN") and "_OR" in expected:
            names.add("WITHIN LAST")
        elif terminal in _OPERATORS and "EQUALS" in expected:
            names.add("an operator")
        elif terminal in _KEYWORD_VALUES and "LITERAL" in expected:
            names.add("a value")
        elif terminal in ("WORD", "STRING") and "_WITHIN" in expected:
            names.add("an activity type")
        elif terminal in _NAMES:
            names.add(_NAMES[terminal])
    return sorted(names)


def _shown(value: str) -> str:
    """A piece of the query quoted in a message, cut short when long."""
    if len(value) > 40:
        value = value[:40] + "..."
    return value if value[:1] in ("'", '"', "`") else f"'{value}'"


def _syntax_error(text: str, error: UnexpectedInput) -> InvalidQuery:
    if isinstance(error, UnexpectedCharacters):
        quote = error.char
        if quote in ("'", '"'):
            return _invalid("unterminated string", error.line, error.column, [f"a closing {quote}"])
        if quote == "`":
            return _invalid("unterminated field name", error.line, error.column, ["a closing `"])
        offset = error.pos_in_stream or 0
        piece = re.match(r"[^\s(),]+", text[offset:])
        found = piece.group() if piece else error.char
        expected = _expected_at(text, offset)
        return _invalid(f"unexpected {_shown(found)}", error.line, error.column, expected)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        expected = _expected_at(text, token.start_pos or 0)
        return _invalid(f"unexpected {_shown(token.value)}", token.line, token.column, expected)
    line, column = _position(text, len(text.rstrip()))
    return _invalid("unexpected end of query", line, column, _expected_at(text, len(text)))


def _expected_at(text: str, offset: int) -> list[str]:
    """What the grammar accepts at an offset, parsing again up to it: the failed parse may
    have reduced rules on a token that could not follow them, and a `)` after a condition
    would then seem to be wrong only because the query was expected to end there."""
    interactive = _PARSER.parse_interactive(text)
    try:
        for token in interactive.iter_parse():
            if token.start_pos is not None and token.start_pos >= offset:
                break
    except UnexpectedInput:
        pass
    accepted: set[str] = interactive.accepts()  # type: ignore[no-untyped-call]
    return _describe(accepted)


def _at(meta: Meta) -> Location:
    return Location("where", meta.line, meta.column)


def _unquoted(quoted: str) -> str:
    """The text of a quoted string: a backslash escapes a quote or a backslash, and is kept
    before any other character (`'C:\\dir'` is `C:\\dir`)."""
    return _ESCAPE.sub(lambda m: m[1] if m[1] in "\\'\"" else m[0], quoted[1:-1])


def _literal(token: Token) -> Any:
    """An unquoted value starting with a digit: a number, or a date, datetime or UUID kept as
    written."""
    written = str(token)
    if _NUMBER.fullmatch(written):
        if _LEADING_ZERO.match(written):
            return written
        number: int | float
        try:
            number = int(written) if _INTEGER.fullmatch(written) else float(written)
        except ValueError:
            number = math.inf
        low, high = INTEGER_RANGE
        if not math.isfinite(number) or (isinstance(number, int) and not low <= number <= high):
            raise _invalid(f"{_shown(written)} is out of range", token.line, token.column)
        return number
    if _DATE_OR_DATETIME.fullmatch(written) or _UUID.fullmatch(written):
        return written
    raise _invalid(
        f"{_shown(written)} is not a number, a date, a datetime or an id",
        token.line,
        token.column,
    )


def _span(amount: Token, unit: Token) -> Span:
    """A length of time; the amount has at most 9 digits, so that it stays a number any
    interval arithmetic takes (later date checks refuse what goes past the calendar)."""
    if not amount.isdigit() or int(amount) == 0 or len(amount) > 9:
        raise _invalid(
            f"the amount of time must be a whole number from 1 to 999999999, not {_shown(amount)}",
            amount.line,
            amount.column,
        )
    return Span(int(amount), _UNITS[unit.lower().removesuffix("s")])


@v_args(meta=True)
class _TreeBuilder(Transformer_NonRecursive[Token, Any]):
    """Builds the tree bottom-up without recursion; each node starts where its text does."""

    def or_expr(self, meta: Meta, items: list[Node]) -> Group:
        return Group(Logic.OR, tuple(items), _at(meta))

    def and_expr(self, meta: Meta, items: list[Node]) -> Group:
        return Group(Logic.AND, tuple(items), _at(meta))

    def negation(self, meta: Meta, children: list[Node]) -> Not:
        return Not(children[0], _at(meta))

    def field(self, _meta: Meta, children: list[Token]) -> str:
        name = children[0]
        return name[1:-1] if name.type == "QUOTED_FIELD" else str(name)

    def comparison(self, _meta: Meta, children: list[Token]) -> Op:
        return _COMPARISONS[children[0].type]

    def compare(self, meta: Meta, children: list[Any]) -> Condition:
        field, op, value = children
        return Condition(field, op, value, _at(meta))

    def compare_within(self, meta: Meta, children: list[Any]) -> Condition:
        field, op, value, within = children
        return Condition(field, op, value, _at(meta), within)

    def in_values(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.IN, children[1], _at(meta))

    def not_in_values(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.NIN, children[1], _at(meta))

    def between(self, meta: Meta, children: list[Any]) -> Condition:
        field, low, high = children
        return Condition(field, Op.BETWEEN, (low, high), _at(meta))

    def between_within(self, meta: Meta, children: list[Any]) -> Condition:
        field, low, high, within = children
        return Condition(field, Op.BETWEEN, (low, high), _at(meta), within)

    def contains(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.CONTAINS, children[1], _at(meta))

    def not_contains(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.NOT_CONTAINS, children[1], _at(meta))

    def starts_with(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.STARTS_WITH, children[1], _at(meta))

    def ends_with(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.ENDS_WITH, children[1], _at(meta))

    def contains_any(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.CONTAINS_ANY, children[1], _at(meta))

    def contains_all(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.CONTAINS_ALL, children[1], _at(meta))

    def exists(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.EXISTS, None, _at(meta))

    def is_empty(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.IS_EMPTY, None, _at(meta))

    def within_last(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.WITHIN_LAST, children[1], _at(meta))

    def before(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.BEFORE, children[1], _at(meta))

    def after(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.AFTER, children[1], _at(meta))

    def on(self, meta: Meta, children: list[Any]) -> Condition:
        return Condition(children[0], Op.ON, children[1], _at(meta))

    def activity(self, meta: Meta, children: list[Any]) -> Node:
        negated, activity_type, within = children
        condition = Condition("activity", Op.HAS, ActivityFilter(activity_type, within), _at(meta))
        return Not(condition, _at(meta)) if negated is not None else condition

    def activity_type(self, _meta: Meta, children: list[Token]) -> str:
        written = children[0]
        return _unquoted(written) if written.type == "STRING" else str(written)

    def recent(self, _meta: Meta, children: list[Span]) -> Span:
        return children[0]

    def span(self, _meta: Meta, children: list[Token]) -> Span:
        amount, unit = children
        return _span(amount, unit)

    def ago(self, _meta: Meta, children: list[Span]) -> Ago:
        return Ago(children[0])

    def values(self, _meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def string(self, _meta: Meta, children: list[Token]) -> str:
        return _unquoted(children[0])

    def literal(self, _meta: Meta, children: list[Token]) -> Any:
        return _literal(children[0])

    def word(self, _meta: Meta, children: list[Token]) -> str:
        return str(children[0])

    def true(self, _meta: Meta, _children: list[Token]) -> bool:
        return True

    def false(self, _meta: Meta, _children: list[Token]) -> bool:
        return False

    def null(self, _meta: Meta, _children: list[Token]) -> None:
        return None
