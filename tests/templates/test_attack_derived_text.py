"""Attacks on the text part derived once per template (`render._derived_text`): whatever the
template and the recipient, the text must read exactly as `text_of` of the rendered HTML."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.mail.compose import text_of
from rapport.templates.render import CompiledContent, Parts, merge_variables
from tests.templates.test_render import COMPANY, CONTACT


def names(**contact: Any) -> dict[str, Any]:
    return merge_variables(
        {**CONTACT, **contact},
        COMPANY,
        unsubscribe_url="https://mail.example/u/abc?list=1&c=2",
        view_url="https://mail.example/v/abc",
    )


def check(html: str, variables: dict[str, Any]) -> tuple[str, str]:
    """The text part as sent, and the text of the rendered HTML."""
    content = CompiledContent.compile(Parts("Hello", None, html, None))
    out = content.render(variables)
    return out.text, text_of(out.html)


SAME = [
    "<p>{{ contact.givenName }}</p><!-- {{ contact.name }} --><p>x</p>",
    "<p>a{# c #} b</p>{% raw %}<p>{{ x }}</p>{% endraw %}",
    "<pre>  {{ contact.givenName }}\n   x  </pre><p>y</p>",
    "<ul>{% for n in range(3) %}<li><a href='https://s.example/{{ n }}'>L{{ n }}</a></li>"
    "{% endfor %}</ul>",
    '{% if contact.givenName %}<a href="https://a.example">{% endif %}A</a>',
    "{% macro b(t) %}<b>{{ t }}</b>{% endmacro %}<p>{{ b(contact.givenName) }}</p>",
    "{% set x %}<i>{{ contact.givenName }}</i>{% endset %}<p>{{ x }}</p>",
    "<p>&amp;&nbsp;&lt;{{ contact.givenName }}&gt;</p>",
    '<img alt="{{ contact.givenName }}" src="https://i.example/a.png"><p>x</p>',
    '<p title="{% raw %}{{{% endraw %}">t</p>',
    "{% for u in ['https://a.example', 'https://b.example'] %}"
    '<a href="{{ u }}">{{ u }}</a> {% endfor %}',
    "<table>{% for r in [1,2] %}<tr><td>{{ r }}</td><td>x</td></tr>{% endfor %}</table>",
    "{% filter upper %}<p>{{ contact.givenName }}</p>{% endfilter %}",
]


@pytest.mark.parametrize("html", SAME)
def test_odd_templates_read_the_same(html: str) -> None:
    sent, expected = check(html, names(givenName="<b>Ada</b> & co"))
    assert sent == expected


@pytest.mark.parametrize("value", ["Ada\nLovelace", "Ada   Lovelace", "Ada\tL", "Ada\xa0L"])
def test_whitespace_in_a_merged_value_collapses_as_in_html(value: str) -> None:
    sent, expected = check("<p>Hi {{ contact.givenName }}!</p>", names(givenName=value))
    assert sent == expected


def test_an_empty_value_between_words_leaves_one_space() -> None:
    variables = names()
    variables["contact"].pop("givenName", None)
    sent, expected = check("<p>Dear {{ contact.givenName }} friend</p>", variables)
    assert sent == expected


@pytest.mark.parametrize(
    "html",
    [
        "<p>A</p>{{- contact.givenName }}",
        "<p>A</p>{%- if true %}B{% endif %}",
        "{{ contact.givenName -}}<p>B</p>",
    ],
)
def test_whitespace_control_next_to_a_block(html: str) -> None:
    sent, expected = check(html, names(givenName="Ada"))
    assert sent == expected


def test_a_link_reading_its_own_address_built_from_a_tag() -> None:
    html = (
        '<a href="https://x.example/{{ contact.givenName }}">'
        "https://x.example/{{ contact.givenName }}</a>"
    )
    sent, expected = check(html, names(givenName="ada"))
    assert sent == expected


def test_a_merged_href_the_sanitizer_drops() -> None:
    sent, expected = check(
        '<a href="{{ contact.givenName }}">Go</a>', names(givenName="javascript:alert(1)")
    )
    assert sent == expected


def test_a_filter_block_that_rewrites_markup() -> None:
    html = '{% filter replace("a href", "p title") %}<a href="https://x.example">ok</a>'
    html += "{% endfilter %}"
    sent, expected = check(html, names())
    assert sent == expected


def test_link_text_from_another_tag_equal_to_the_address() -> None:
    html = '<a href="{{ contact.email }}">{{ contact.givenName }}</a>'
    sent, expected = check(html, names(email="https://a.example", givenName="https://a.example"))
    assert sent == expected


def test_a_comment_between_spaces() -> None:
    sent, expected = check("<p>a {# note #} b</p>", names())
    assert sent == expected
