"""The text form of a query (`where`): every operator spelling, precedence, values, field
names, where each node starts, syntax errors in words, and the size limits. Parsing only: no
database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.kit.cql import text as cql_text
from rapport.kit.cql.text import MAX_WHERE_DEPTH, MAX_WHERE_LENGTH, parse_where
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

# Nodes compare without their location (`at`), so these build the expected trees.


def cond(field: str, op: Op, value: Any = None) -> Condition:
    return Condition(field, op, value)


def and_(*items: Node) -> Group:
    return Group(Logic.AND, items)


def or_(*items: Node) -> Group:
    return Group(Logic.OR, items)


def error_of(text: str) -> InvalidQuery:
    with pytest.raises(InvalidQuery) as caught:
        parse_where(text)
    assert caught.value.code == "INVALID_QUERY"
    assert len(caught.value.details) == 1
    assert caught.value.details[0].field == "where"
    return caught.value


def detail_of(text: str) -> ErrorDetail:
    return error_of(text).details[0]


# --- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = 5", cond("x", Op.EQ, 5)),
        ("x == 5", cond("x", Op.EQ, 5)),
        ("x eq 5", cond("x", Op.EQ, 5)),
        ("x != 5", cond("x", Op.NEQ, 5)),
        ("x <> 5", cond("x", Op.NEQ, 5)),
        ("x neq 5", cond("x", Op.NEQ, 5)),
        ("x > 5", cond("x", Op.GT, 5)),
        ("x gt 5", cond("x", Op.GT, 5)),
        ("x >= 5", cond("x", Op.GTE, 5)),
        ("x gte 5", cond("x", Op.GTE, 5)),
        ("x < 5", cond("x", Op.LT, 5)),
        ("x lt 5", cond("x", Op.LT, 5)),
        ("x <= 5", cond("x", Op.LTE, 5)),
        ("x lte 5", cond("x", Op.LTE, 5)),
        ("x=5", cond("x", Op.EQ, 5)),
        ("x>=-5", cond("x", Op.GTE, -5)),
        ("x in (a, b, 3)", cond("x", Op.IN, ("a", "b", 3))),
        ("x in (a)", cond("x", Op.IN, ("a",))),
        ("x not in (a, b)", cond("x", Op.NIN, ("a", "b"))),
        ("x nin (a,b)", cond("x", Op.NIN, ("a", "b"))),
        ("x between 1 and 5", cond("x", Op.BETWEEN, (1, 5))),
        (
            "x between 2026-01-01 and 2026-12-31",
            cond("x", Op.BETWEEN, ("2026-01-01", "2026-12-31")),
        ),
        ("x contains 'ab'", cond("x", Op.CONTAINS, "ab")),
        ("x not contains ab", cond("x", Op.NOT_CONTAINS, "ab")),
        ("x starts with 'Ac'", cond("x", Op.STARTS_WITH, "Ac")),
        ("x startsWith Ac", cond("x", Op.STARTS_WITH, "Ac")),
        ("x ends with '.com'", cond("x", Op.ENDS_WITH, ".com")),
        ("x endsWith com", cond("x", Op.ENDS_WITH, "com")),
        ("x contains any (a, b)", cond("x", Op.CONTAINS_ANY, ("a", "b"))),
        ("x containsAny (a)", cond("x", Op.CONTAINS_ANY, ("a",))),
        ("x contains all (a, b)", cond("x", Op.CONTAINS_ALL, ("a", "b"))),
        ("x containsAll (a, b)", cond("x", Op.CONTAINS_ALL, ("a", "b"))),
        ("x exists", cond("x", Op.EXISTS)),
        ("x is not empty", cond("x", Op.EXISTS)),
        ("x is not null", cond("x", Op.EXISTS)),
        ("x not exists", cond("x", Op.IS_EMPTY)),
        ("x is empty", cond("x", Op.IS_EMPTY)),
        ("x isEmpty", cond("x", Op.IS_EMPTY)),
        ("x is null", cond("x", Op.IS_EMPTY)),
        ("x within last 30 days", cond("x", Op.WITHIN_LAST, Span(30, Unit.DAYS))),
        ("x within the last 30 days", cond("x", Op.WITHIN_LAST, Span(30, Unit.DAYS))),
        ("x in last 30 days", cond("x", Op.WITHIN_LAST, Span(30, Unit.DAYS))),
        ("x in the last 2 weeks", cond("x", Op.WITHIN_LAST, Span(2, Unit.WEEKS))),
        ("x before 2026-01-31", cond("x", Op.BEFORE, "2026-01-31")),
        ("x after 2026-01-31T10:00:00Z", cond("x", Op.AFTER, "2026-01-31T10:00:00Z")),
        ("x on 2026-01-31", cond("x", Op.ON, "2026-01-31")),
        ("x before 30 days ago", cond("x", Op.BEFORE, Ago(Span(30, Unit.DAYS)))),
        ("x after 1 hour ago", cond("x", Op.AFTER, Ago(Span(1, Unit.HOURS)))),
        ("x on 0 ", cond("x", Op.ON, 0)),
    ],
)
def test_every_operator_spelling(text: str, expected: Condition) -> None:
    assert parse_where(text) == expected


@pytest.mark.parametrize(
    ("written", "unit"),
    [
        ("minute", Unit.MINUTES),
        ("minutes", Unit.MINUTES),
        ("hour", Unit.HOURS),
        ("HOURS", Unit.HOURS),
        ("day", Unit.DAYS),
        ("Days", Unit.DAYS),
        ("week", Unit.WEEKS),
        ("weeks", Unit.WEEKS),
        ("month", Unit.MONTHS),
        ("months", Unit.MONTHS),
        ("year", Unit.YEARS),
        ("YEARS", Unit.YEARS),
    ],
)
def test_units_singular_or_plural_in_any_case(written: str, unit: Unit) -> None:
    assert parse_where(f"x within last 3 {written}") == cond("x", Op.WITHIN_LAST, Span(3, unit))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("has activity", cond("activity", Op.HAS, ActivityFilter())),
        ("has activity CALL", cond("activity", Op.HAS, ActivityFilter("CALL"))),
        ("has activity 'CALL'", cond("activity", Op.HAS, ActivityFilter("CALL"))),
        (
            "has activity CALL within last 14 days",
            cond("activity", Op.HAS, ActivityFilter("CALL", Span(14, Unit.DAYS))),
        ),
        (
            "has activity within last 7 days",
            cond("activity", Op.HAS, ActivityFilter(None, Span(7, Unit.DAYS))),
        ),
        (
            "has activity meeting in the last 2 months",
            cond("activity", Op.HAS, ActivityFilter("meeting", Span(2, Unit.MONTHS))),
        ),
        ("has no activity", Not(cond("activity", Op.HAS, ActivityFilter()))),
        (
            "has no activity EMAIL within last 30 days",
            Not(cond("activity", Op.HAS, ActivityFilter("EMAIL", Span(30, Unit.DAYS)))),
        ),
        (
            "has activity CALL AND x = 1",
            and_(cond("activity", Op.HAS, ActivityFilter("CALL")), cond("x", Op.EQ, 1)),
        ),
    ],
)
def test_has_activity(text: str, expected: Node) -> None:
    assert parse_where(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x BETWEEN 1 AND 5", cond("x", Op.BETWEEN, (1, 5))),
        ("x Between 1 And 5", cond("x", Op.BETWEEN, (1, 5))),
        ("x IN (a)", cond("x", Op.IN, ("a",))),
        ("x NOT IN (a)", cond("x", Op.NIN, ("a",))),
        ("x NIN (a)", cond("x", Op.NIN, ("a",))),
        ("x CONTAINS a", cond("x", Op.CONTAINS, "a")),
        ("x Contains Any (a)", cond("x", Op.CONTAINS_ANY, ("a",))),
        ("x CONTAINSALL (a)", cond("x", Op.CONTAINS_ALL, ("a",))),
        ("x STARTS WITH a", cond("x", Op.STARTS_WITH, "a")),
        ("x STARTSWITH a", cond("x", Op.STARTS_WITH, "a")),
        ("x Ends With a", cond("x", Op.ENDS_WITH, "a")),
        ("x EXISTS", cond("x", Op.EXISTS)),
        ("x IS NOT EMPTY", cond("x", Op.EXISTS)),
        ("x ISEMPTY", cond("x", Op.IS_EMPTY)),
        ("x Is Null", cond("x", Op.IS_EMPTY)),
        ("x WITHIN THE LAST 3 DAYS", cond("x", Op.WITHIN_LAST, Span(3, Unit.DAYS))),
        ("x BEFORE 3 DAYS AGO", cond("x", Op.BEFORE, Ago(Span(3, Unit.DAYS)))),
        ("x EQ 1", cond("x", Op.EQ, 1)),
        ("x Gte 1", cond("x", Op.GTE, 1)),
        ("x = TRUE", cond("x", Op.EQ, True)),
        ("x = False", cond("x", Op.EQ, False)),
        ("x = NULL", cond("x", Op.EQ, None)),
        ("HAS ACTIVITY", cond("activity", Op.HAS, ActivityFilter())),
        ("Has No Activity", Not(cond("activity", Op.HAS, ActivityFilter()))),
        ("a = 1 and b = 2", and_(cond("a", Op.EQ, 1), cond("b", Op.EQ, 2))),
        ("a = 1 And b = 2", and_(cond("a", Op.EQ, 1), cond("b", Op.EQ, 2))),
        ("a = 1 or b = 2", or_(cond("a", Op.EQ, 1), cond("b", Op.EQ, 2))),
        ("not a = 1", Not(cond("a", Op.EQ, 1))),
        ("Not a = 1", Not(cond("a", Op.EQ, 1))),
    ],
)
def test_keywords_are_case_insensitive(text: str, expected: Node) -> None:
    assert parse_where(text) == expected


# --- AND, OR, NOT and parentheses ----------------------------------------------------------

A, B, C, D = (cond(name, Op.EQ, number) for number, name in enumerate("abcd", start=1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1", A),
        ("(a = 1)", A),
        ("((a = 1))", A),
        ("a = 1 AND b = 2 AND c = 3", and_(A, B, C)),
        ("a = 1 OR b = 2 OR c = 3", or_(A, B, C)),
        ("a = 1 OR b = 2 AND c = 3", or_(A, and_(B, C))),
        ("a = 1 AND b = 2 OR c = 3", or_(and_(A, B), C)),
        ("a = 1 AND b = 2 OR c = 3 AND d = 4", or_(and_(A, B), and_(C, D))),
        ("(a = 1 OR b = 2) AND c = 3", and_(or_(A, B), C)),
        ("a = 1 AND (b = 2 OR c = 3) AND d = 4", and_(A, or_(B, C), D)),
        ("(a = 1 AND b = 2) OR (c = 3 AND d = 4)", or_(and_(A, B), and_(C, D))),
        ("a = 1 OR (b = 2 OR c = 3)", or_(A, or_(B, C))),
        ("NOT a = 1", Not(A)),
        ("NOT NOT a = 1", Not(Not(A))),
        ("NOT a = 1 AND b = 2", and_(Not(A), B)),
        ("a = 1 AND NOT b = 2", and_(A, Not(B))),
        ("NOT a = 1 OR b = 2", or_(Not(A), B)),
        ("NOT (a = 1 OR b = 2)", Not(or_(A, B))),
        ("NOT (a = 1) AND NOT (b = 2)", and_(Not(A), Not(B))),
        ("a = 1 OR NOT (b = 2 AND NOT c = 3)", or_(A, Not(and_(B, Not(C))))),
        (
            "x between 1 and 5 AND y = 2",
            and_(cond("x", Op.BETWEEN, (1, 5)), cond("y", Op.EQ, 2)),
        ),
        (
            "x between 1 and 5 OR y between 2 and 3",
            or_(cond("x", Op.BETWEEN, (1, 5)), cond("y", Op.BETWEEN, (2, 3))),
        ),
        ("(a=1)OR(b=2)", or_(A, B)),
    ],
)
def test_boolean_structure(text: str, expected: Node) -> None:
    assert parse_where(text) == expected


def test_the_example_of_the_specification() -> None:
    text = (
        "status = ACTIVE AND (email contains '@example.com' OR lifecycleStage in "
        "(LEAD, CUSTOMER)) AND NOT tag = vip"
    )
    tree = parse_where(text)
    assert tree == and_(
        cond("status", Op.EQ, "ACTIVE"),
        or_(
            cond("email", Op.CONTAINS, "@example.com"),
            cond("lifecycleStage", Op.IN, ("LEAD", "CUSTOMER")),
        ),
        Not(cond("tag", Op.EQ, "vip")),
    )
    assert isinstance(tree, Group)
    status, either, negated = tree.items
    assert isinstance(either, Group)
    assert isinstance(negated, Not)
    email, stage = either.items
    where = "where"
    assert tree.at == Location(where, 1, 1)
    assert status.at == Location(where, 1, 1)
    assert either.at == Location(where, 1, 22)
    assert email.at == Location(where, 1, 22)
    assert stage.at == Location(where, 1, 55)
    assert negated.at == Location(where, 1, 95)
    assert negated.item.at == Location(where, 1, 99)


def test_every_node_starts_where_its_text_does_on_several_lines() -> None:
    text = "a = 1\n  AND NOT (\n    b = 2 OR\n\tc = 3\n  )\nOR has no activity"
    tree = parse_where(text)
    assert tree == or_(and_(A, Not(or_(B, C))), Not(cond("activity", Op.HAS, ActivityFilter())))
    assert isinstance(tree, Group)
    both, no_activity = tree.items
    assert isinstance(both, Group)
    assert isinstance(no_activity, Not)
    first, negated = both.items
    assert isinstance(negated, Not)
    either = negated.item
    assert isinstance(either, Group)
    assert tree.at == Location("where", 1, 1)
    assert both.at == Location("where", 1, 1)
    assert first.at == Location("where", 1, 1)
    assert negated.at == Location("where", 2, 7)
    assert either.at == Location("where", 3, 5)
    assert [item.at for item in either.items] == [
        Location("where", 3, 5),
        Location("where", 4, 2),
    ]
    assert no_activity.at == Location("where", 6, 4)
    assert no_activity.item.at == Location("where", 6, 4)


def test_a_group_in_parentheses_starts_at_its_parenthesis_when_first() -> None:
    tree = parse_where("(a = 1 OR b = 2) AND c = 3")
    assert isinstance(tree, Group)
    assert tree.at == Location("where", 1, 1)
    assert tree.items[0].at == Location("where", 1, 2)


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("5", 5),
        ("0", 0),
        ("-3", -3),
        ("+3", 3),
        ("2.5", 2.5),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("02139", "02139"),
        ("007", "007"),
        ("-0123", "-0123"),
        ("9223372036854775807", 9223372036854775807),
        ("true", True),
        ("false", False),
        ("null", None),
        ("'text'", "text"),
        ('"text"', "text"),
        ("''", ""),
        ("'O\\'Brien'", "O'Brien"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'back\\\\slash'", "back\\slash"),
        ("'C:\\dir'", "C:\\dir"),
        ("'two words and OR'", "two words and OR"),
        ("'line\nbreak'", "line\nbreak"),
        ("2026-01-31", "2026-01-31"),
        ("2026-01-31T10:00:00Z", "2026-01-31T10:00:00Z"),
        ("2026-01-31T10:00:00+02:00", "2026-01-31T10:00:00+02:00"),
        ("2026-01-31T10:00:00.123-05:30", "2026-01-31T10:00:00.123-05:30"),
        ("2026-01-31T10:00", "2026-01-31T10:00"),
        ("0193b6e2-4c1a-7d2e-9f00-123456789abc", "0193b6e2-4c1a-7d2e-9f00-123456789abc"),
        ("ab93b6e2-4c1a-7d2e-9f00-123456789abc", "ab93b6e2-4c1a-7d2e-9f00-123456789abc"),
        ("ACTIVE", "ACTIVE"),
        ("SaaS", "SaaS"),
        ("vip", "vip"),
        ("open", "open"),
        ("CUSTOMER", "CUSTOMER"),
        ("my-tag", "my-tag"),
        ("_draft", "_draft"),
        ("Android", "Android"),
        ("order", "order"),
        ("nothing", "nothing"),
        ("days", "days"),
    ],
)
def test_value_kinds(written: str, value: Any) -> None:
    parsed = parse_where(f"x = {written}")
    assert parsed == cond("x", Op.EQ, value)
    assert isinstance(parsed, Condition)
    assert type(parsed.value) is type(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x = 'and'", "and"),
        ("x = 'OR'", "OR"),
        ('x = "not"', "not"),
        ("x = 'true'", "true"),
        ("x = 'null'", "null"),
        ("x = '5'", "5"),
        ("x = 'in'", "in"),
        ("x in ('and', 'or', \"not\")", ("and", "or", "not")),
        ("x contains 'any'", "any"),
        ("x contains 'all'", "all"),
    ],
)
def test_keyword_looking_values_quoted(text: str, value: Any) -> None:
    parsed = parse_where(text)
    assert isinstance(parsed, Condition)
    assert parsed.value == value


@pytest.mark.parametrize("reserved", ["AND", "and", "OR", "Or", "NOT", "not"])
def test_and_or_not_are_never_a_bare_value(reserved: str) -> None:
    detail = detail_of(f"x = {reserved}")
    assert (detail.line, detail.column) == (1, 5)
    assert detail.expected == ["a value"]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("5abc", "'5abc' is not a number, a date, a datetime or an id"),
        ("1.2.3", "'1.2.3' is not a number, a date, a datetime or an id"),
        ("1e999", "'1e999' is out of range"),
        ("9223372036854775808", "'9223372036854775808' is out of range"),
        ("1" * 5000, f"'{'1' * 40}...' is out of range"),
    ],
)
def test_malformed_numbers_are_refused_at_their_position(written: str, problem: str) -> None:
    error = error_of(f"x = {written}")
    assert error.message == f"where: {problem} at line 1, column 5"
    assert (error.details[0].line, error.details[0].column) == (1, 5)


@pytest.mark.parametrize("amount", ["0", "2.5", "-1", "1000000000"])
def test_an_amount_of_time_is_a_positive_whole_number(amount: str) -> None:
    detail = detail_of(f"x within last {amount} days")
    assert (detail.line, detail.column) == (1, 15)
    assert "whole number" in detail.message


# --- field names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("company.industry = SaaS", "company.industry"),
        ("properties.mrr > 100", "properties.mrr"),
        ("primaryCompany.name = Acme", "primaryCompany.name"),
        ("lead.value >= 10", "lead.value"),
        ("a.b.c = 1", "a.b.c"),
        ("_private = 1", "_private"),
        ("`and` = 1", "and"),
        ("`has` exists", "has"),
        ("`first name` = 'Ada'", "first name"),
        ("`not.really` = 1", "not.really"),
        ("notes exists", "notes"),
        ("order = 1", "order"),
        ("android = 1", "android"),
        ("hash = 1", "hash"),
        ("isActive = true", "isActive"),
        ("in = 1", "in"),
        ("activity = 1", "activity"),
        ("has.value = 1", "has.value"),
    ],
)
def test_field_names(text: str, field: str) -> None:
    parsed = parse_where(text)
    assert isinstance(parsed, Condition)
    assert parsed.field == field


# --- syntax errors --------------------------------------------------------------------------


def test_an_unexpected_token_names_what_could_have_come() -> None:
    error = error_of("lifecycle != AND")
    assert error.message == "where: unexpected 'AND' at line 1, column 14; expected a value"
    detail = error.details[0]
    assert (detail.line, detail.column, detail.expected) == (1, 14, ["a value"])


def test_the_position_of_an_error_on_a_later_line() -> None:
    error = error_of("status = ACTIVE\n  AND (email contains x\n       OR name ?? 'a')")
    assert error.message == ("where: unexpected '??' at line 3, column 16; expected an operator")
    detail = error.details[0]
    assert (detail.line, detail.column, detail.expected) == (3, 16, ["an operator"])


@pytest.mark.parametrize(
    ("text", "line", "column", "expected"),
    [
        ("x", 1, 2, ["an operator"]),
        ("x =", 1, 4, ["a value"]),
        ("x = \n\n", 1, 4, ["a value"]),
        ("x = 1 2", 1, 7, ["AND", "OR", "WITHIN LAST", "end of query"]),
        ("x = 1 )", 1, 7, ["AND", "OR", "WITHIN LAST", "end of query"]),
        ("(x = 1", 1, 7, ["')'", "AND", "OR", "WITHIN LAST"]),
        ("(x = 1 y", 1, 8, ["')'", "AND", "OR", "WITHIN LAST"]),
        ("x = 1 AND", 1, 10, ["'('", "HAS", "NOT", "a field"]),
        ("NOT", 1, 4, ["'('", "HAS", "NOT", "a field"]),
        (")", 1, 1, ["'('", "HAS", "NOT", "a field"]),
        ("and = 1", 1, 1, ["'('", "HAS", "NOT", "a field"]),
        ("x = @", 1, 5, ["a value"]),
        ("x in", 1, 5, ["'('", "LAST", "THE"]),
        ("x in (", 1, 7, ["a value"]),
        ("x in ()", 1, 7, ["a value"]),
        ("x in (1", 1, 8, ["')'", "','"]),
        ("x in (1,)", 1, 9, ["a value"]),
        ("x between 1", 1, 12, ["AND"]),
        ("x between 1 or 2", 1, 13, ["AND"]),
        ("x is", 1, 5, ["EMPTY", "NOT", "NULL"]),
        ("x not between 1 and 2", 1, 7, ["CONTAINS", "EXISTS", "IN"]),
        ("x contains", 1, 11, ["ALL", "ANY", "a value"]),
        ("x within last 3", 1, 16, ["a unit of time"]),
        ("x before 3 days", 1, 16, ["AGO"]),
        ("has", 1, 4, ["ACTIVITY", "NO"]),
        (
            "has activity 5",
            1,
            14,
            ["AND", "OR", "WITHIN LAST", "an activity type", "end of query"],
        ),
        ("x ~ 1", 1, 3, ["an operator"]),
        ("x = 'it''s'", 1, 9, ["AND", "OR", "WITHIN LAST", "end of query"]),
        ("é = 1", 1, 1, ["'('", "HAS", "NOT", "a field"]),
    ],
)
def test_syntax_errors_say_where_and_what_could_have_come(
    text: str, line: int, column: int, expected: list[str]
) -> None:
    detail = detail_of(text)
    assert (detail.line, detail.column) == (line, column)
    assert detail.expected == expected


def test_an_unexpected_end_reads_as_such() -> None:
    assert error_of("x = 1 AND").message == (
        "where: unexpected end of query at line 1, column 10; expected '(', HAS, NOT or a field"
    )


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("x = 'abc", 1, 5, "unterminated string at line 1, column 5; expected a closing '"),
        ('x = "abc', 1, 5, 'unterminated string at line 1, column 5; expected a closing "'),
        ("a = 1 AND\n b = 'it\\'s", 2, 6, "unterminated string at line 2, column 6"),
        ("`first name = 1", 1, 1, "unterminated field name at line 1, column 1"),
    ],
)
def test_an_unterminated_string_is_reported_at_its_opening_quote(
    text: str, line: int, column: int, message: str
) -> None:
    error = error_of(text)
    assert error.message.startswith(f"where: {message}")
    assert (error.details[0].line, error.details[0].column) == (line, column)


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n"])
def test_an_empty_query_is_refused(text: str) -> None:
    error = error_of(text)
    assert error.message == "where: the query is empty"


BROKEN = [
    "x",
    "x =",
    "x = = 1",
    "x in 1",
    "x in (1 2)",
    "x between",
    "x between 1 and",
    "(",
    "()",
    "a = 1 AND OR b = 2",
    "a = 1 b = 2",
    "NOT NOT",
    "has activity within",
    "has activity within last",
    "has activity CALL CALL",
    "x contains any",
    "x contains any (",
    "x is not",
    "x within",
    "x within the",
    "x before 3 days ago ago",
    "x starts",
    "x ends a",
    "x = 1,",
    "x = 1 AND (y = 2",
    "x = 1 AND y = 2)",
    "x = 1 ; y = 2",
    "x = 'a' 'b'",
    "x gt",
    "x = `y`",
]


@pytest.mark.parametrize("text", BROKEN)
def test_expected_lists_hold_only_words_for_people(text: str) -> None:
    vocabulary = {
        "a field",
        "a value",
        "an operator",
        "an activity type",
        "a unit of time",
        "end of query",
        "'('",
        "')'",
        "','",
        *("ACTIVITY", "AGO", "ALL", "AND", "ANY", "CONTAINS", "EMPTY", "EXISTS", "HAS", "IN"),
        *("LAST", "NO", "NOT", "NULL", "OR", "THE", "WITH", "WITHIN", "WITHIN LAST"),
    }
    detail = detail_of(text)
    assert detail.expected
    assert detail.expected == sorted(set(detail.expected))
    assert set(detail.expected) <= vocabulary, detail.expected
    assert detail.line is not None
    assert detail.column is not None
    assert "__ANON" not in detail.message
    assert "RPAR" not in detail.message


# --- limits ---------------------------------------------------------------------------------


def test_the_length_limit() -> None:
    longest = "x = '" + "a" * (MAX_WHERE_LENGTH - 6) + "'"
    assert len(longest) == MAX_WHERE_LENGTH
    assert parse_where(longest) == cond("x", Op.EQ, "a" * (MAX_WHERE_LENGTH - 6))
    error = error_of(longest + " ")
    assert error.message == f"where: the query is longer than {MAX_WHERE_LENGTH} characters"


def nots_around(node: Node) -> tuple[int, Node]:
    count = 0
    while isinstance(node, Not):
        node, count = node.item, count + 1
    return count, node


LIMIT = MAX_WHERE_DEPTH


@pytest.mark.parametrize(
    ("deepest", "nots"),
    [
        ("(" * LIMIT + "a = 1" + ")" * LIMIT, 0),
        ("NOT " * LIMIT + "a = 1", LIMIT),
        ("not(" * (LIMIT // 2) + "a = 1" + ")" * (LIMIT // 2), LIMIT // 2),
        ("NOT " * (LIMIT // 2) + "(" * (LIMIT // 2) + "a = 1" + ")" * (LIMIT // 2), LIMIT // 2),
    ],
)
def test_the_nesting_limit(deepest: str, nots: int) -> None:
    assert nots_around(parse_where(deepest)) == (nots, A)
    for one_more in ("(" + deepest + ")", "NOT " + deepest):
        error = error_of(one_more)
        assert error.message.startswith(
            f"where: the query nests more than {MAX_WHERE_DEPTH} parentheses and NOTs"
        )


def test_the_nesting_limit_counts_levels_not_every_not() -> None:
    side_by_side = " AND ".join(["NOT (a = 1)"] * (LIMIT + 10))
    assert parse_where(side_by_side) == and_(*[Not(A)] * (LIMIT + 10))
    nested_again = " OR ".join(["(" * LIMIT + "a = 1" + ")" * LIMIT] * 3)
    assert parse_where(nested_again) == or_(A, A, A)
    in_a_list = "(" * LIMIT + "x in ('(', ')', 1) AND y not in (2)" + ")" * LIMIT
    assert parse_where(in_a_list) == and_(cond("x", Op.IN, ("(", ")", 1)), cond("y", Op.NIN, (2,)))


def test_a_deep_query_is_refused_before_parsing() -> None:
    """Far too deep, and not even valid past the limit: the limit is what is reported."""
    error = error_of("NOT " * 4_000 + "?!")
    assert "nests more than" in error.message
    assert (error.details[0].line, error.details[0].column) == (1, 4 * MAX_WHERE_DEPTH + 1)


def test_the_longest_or_chain_that_fits_is_one_flat_group() -> None:
    count = MAX_WHERE_LENGTH // len("a = 1 OR ")
    tree = parse_where(" OR ".join(["a = 1"] * count))
    assert isinstance(tree, Group)
    assert tree.logic is Logic.OR
    assert len(tree.items) == count


def test_five_thousand_conditions_parse_into_one_flat_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """5,000 conditions need more than MAX_WHERE_LENGTH characters: lifted for this test, which
    is about the stack the parsing takes (no recursion per condition), not the limit."""
    monkeypatch.setattr(cql_text, "MAX_WHERE_LENGTH", 100_000)
    text = " OR ".join(["a = 1"] * 5_000)
    tree = parse_where(text)
    assert isinstance(tree, Group)
    assert len(tree.items) == 5_000
    assert tree.items[-1].at == Location("where", 1, len(text) - 4)


# --- anything in, a tree or InvalidQuery out ------------------------------------------------

# fmt: off
FRAGMENTS = [
    "a", "b.c", "`x y`", "=", "!=", "<>", ">=", "<", "in", "not", "NOT", "and", "AND", "or",
    "OR", "(", ")", ",", "1", "-2", "02139", "2.5", "1e3", "1e999", "'s'", "'", '"', "`",
    "\\", "between", "contains", "any", "all", "starts", "with", "is", "empty", "null",
    "true", "exists", "within", "the", "last", "30", "days", "ago", "before", "after", "on",
    "has", "no", "activity", "CALL", "2026-01-31", "0193b6e2-4c1a-7d2e-9f00-123456789abc",
    "\n", "é", "containsAny", "isEmpty", "nin", "eq", "lte", "-", ".",
]
# fmt: on


@settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.text(),
        st.lists(st.sampled_from(FRAGMENTS), max_size=16).map(" ".join),
        st.lists(st.sampled_from(FRAGMENTS), max_size=16).map("".join),
    )
)
def test_any_text_gives_a_tree_or_invalid_query(text: str) -> None:
    outcome: Node | InvalidQuery
    try:
        outcome = parse_where(text)
    except InvalidQuery as error:
        outcome = error
    if isinstance(outcome, InvalidQuery):
        assert outcome.message.startswith("where: ")
        assert [detail.field for detail in outcome.details] == ["where"]
    else:
        assert isinstance(outcome, Condition | Group | Not)
