"""Rendering email content: merge tags over the contact and its company, HTML escaped and
sanitised, the preheader hidden at the top, the text part derived; syntax errors, forbidden
access and runaway templates refused with a 422 naming the field and line, never a 500."""

from __future__ import annotations

import time
from typing import Any

import pytest

from rapport.kit.errors import ValidationFailed
from rapport.mail.compose import sanitize_html, text_of
from rapport.templates import render
from rapport.templates.render import CompiledContent, Parts, Rendered, merge_variables

CONTACT: dict[str, Any] = {
    "id": "0193f000-0000-7000-8000-000000000001",
    "email": "grace@example.com",
    "name": "Grace Hopper",
    "givenName": "Grace",
    "familyName": "Hopper",
    "phone": None,
    "lifecycleStage": "CUSTOMER",
    "properties": {"plan": "Growth", "seats": 12, "notes": None},
}
COMPANY: dict[str, Any] = {"name": "Cobol & Co", "domain": "cobol.example", "industry": None}


def variables(
    contact: dict[str, Any] | None = None, company: dict[str, Any] | None = COMPANY
) -> dict[str, Any]:
    return merge_variables(
        CONTACT if contact is None else contact,
        company,
        unsubscribe_url="https://mail.example/u/abc?list=1&c=2",
        view_url="https://mail.example/v/abc",
    )


def rendered(
    html: str,
    *,
    subject: str = "Hello",
    preheader: str | None = None,
    text: str | None = None,
    names: dict[str, Any] | None = None,
) -> Rendered:
    content = CompiledContent.compile(Parts(subject, preheader, html, text))
    return content.render(variables() if names is None else names)


def refused(html: str, *, field: str = "htmlBody", **kwargs: Any) -> dict[str, Any]:
    """The 422's detail when rendering (or compiling) the HTML body is refused."""
    with pytest.raises(ValidationFailed) as caught:
        rendered(html, **kwargs)
    error = caught.value
    assert error.status_code == 422
    assert error.code == "VALIDATION_FAILED"
    [detail] = error.details
    assert detail.field == field
    assert error.message.startswith(f"{field}: ")
    return detail.model_dump(exclude_none=True)


def test_merge_tags_fill_in_the_contact_company_and_links() -> None:
    out = rendered(
        "<p>Hi {{ contact.givenName }} {{ contact.familyName }} of {{ company.name }},</p>"
        "<p>{{ contact.properties.plan }} plan, {{ contact.properties.seats }} seats.</p>"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> '
        '<a href="{{ view_in_browser_url }}">View</a></p>',
        subject="{{ contact.givenName }}, your {{ company.name }} renewal",
    )
    assert out.subject == "Grace, your Cobol & Co renewal"
    assert "<p>Hi Grace Hopper of Cobol &amp; Co,</p>" in out.html
    assert "<p>Growth plan, 12 seats.</p>" in out.html
    # Rendered first, then sanitised: the links survive, escaped as HTML attributes are.
    assert '<a href="https://mail.example/u/abc?list=1&amp;c=2"' in out.html
    assert '<a href="https://mail.example/v/abc"' in out.html
    assert out.preheader is None


def test_default_replaces_missing_and_null_fields() -> None:
    contact = {**CONTACT, "givenName": None, "properties": {}}
    out = rendered(
        "<p>Hi {{ contact.givenName | default('there') }}, "
        "{{ contact.properties.plan | default('Starter') }} "
        "{{ contact.nickname | default('friend') }}</p>",
        names=variables(contact),
    )
    assert "<p>Hi there, Starter friend</p>" in out.html


def test_missing_values_render_empty_not_none() -> None:
    out = rendered(
        "<p>[{{ contact.phone }}][{{ contact.properties.notes }}][{{ contact.properties.nope }}]"
        "[{{ company.industry }}][{{ nothing.at.all }}]</p>"
    )
    assert "<p>[][][][][]</p>" in out.html


def test_without_a_company_its_fields_are_empty() -> None:
    out = rendered(
        "<p>[{{ company.name }}][{{ company.name | default('your team') }}]"
        "{% if company %}yes{% else %}no{% endif %}</p>",
        subject="About {{ company.name }}",
        names=variables(company=None),
    )
    assert "<p>[][your team]no</p>" in out.html
    assert out.subject == "About"


def test_a_property_named_like_a_dict_method_is_the_property() -> None:
    contact = {**CONTACT, "properties": {"items": 3, "values": "honesty"}}
    out = rendered(
        "<p>{{ contact.properties.items }} {{ contact.properties.values }}</p>",
        names=variables(contact),
    )
    assert "<p>3 honesty</p>" in out.html


def test_merged_values_are_escaped_in_html_not_in_subject_or_text() -> None:
    contact = {**CONTACT, "givenName": '<script>alert("x")</script><b>Bo</b>'}
    out = rendered(
        "<p>Hi {{ contact.givenName }}</p>",
        subject="Hi {{ contact.givenName }}",
        text="Hi {{ contact.givenName }}",
        names=variables(contact),
    )
    assert "<script>" not in out.html
    assert "<b>" not in out.html
    assert 'Hi &lt;script&gt;alert("x")&lt;/script&gt;&lt;b&gt;Bo&lt;/b&gt;' in out.html
    assert out.subject == 'Hi <script>alert("x")</script><b>Bo</b>'
    assert out.text == 'Hi <script>alert("x")</script><b>Bo</b>'


def test_the_sanitiser_removes_active_markup_written_in_the_template() -> None:
    out = rendered(
        '<p onclick="steal()">Hi</p><script>steal()</script>'
        '<a href="javascript:steal()">x</a><img src="https://cdn.example/a.png" alt="Logo">'
    )
    assert "script" not in out.html
    assert "onclick" not in out.html
    assert "javascript" not in out.html
    assert '<img src="https://cdn.example/a.png" alt="Logo">' in out.html


def test_the_preheader_is_a_hidden_first_element() -> None:
    out = rendered(
        "<p>Body</p>",
        preheader="Your {{ contact.properties.plan }} plan\n<renews> soon",
    )
    assert out.preheader == "Your Growth plan <renews> soon"
    assert out.html.startswith('<div style="display:none;')
    assert ">Your Growth plan &lt;renews&gt; soon</div><p>Body</p>" in out.html
    # Still hidden once sanitised again (as the outbound email path does).
    assert sanitize_html(out.html).startswith('<div style="display:none;')
    # The derived text part is the body's alone.
    assert out.text == "Body"


def test_a_blank_preheader_is_none() -> None:
    out = rendered("<p>Body</p>", preheader="{{ contact.nothing }}")
    assert out.preheader is None
    assert out.html == "<p>Body</p>"


def test_the_text_part_is_derived_from_the_rendered_html() -> None:
    out = rendered(
        "<h1>Hi {{ contact.givenName }}</h1><p>Your plan: <b>{{ contact.properties.plan }}</b>"
        '</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    )
    assert out.text == (
        "Hi Grace\n\nYour plan: Growth\n\nUnsubscribe (https://mail.example/u/abc?list=1&c=2)"
    )


# The text part of these is derived once per template (a text template beside the HTML one);
# each reads exactly as the text of the recipient's rendered HTML would.
DERIVED_ONCE = [
    '<p>Hi {{ contact.givenName | default("there") }} of {{ company.name }}</p>'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    "<p>Dear {{ contact.name }},</p>{% if contact.properties.seats > 10 %}<p>Team plan</p>"
    "{% else %}<p>Solo</p>{% endif %}<ul>{% for n in [1, 2] %}<li>Item {{ n }}</li>"
    "{% endfor %}</ul><style>p { color: red }</style>",
    "<p>Dear {{ contact.phone }} {{ contact.givenName }},</p>{%- if company %}\n<p>{{ "
    "company.name -}}</p>{% endif %}",
    "<p>{{ contact.givenName }}</p>\n\n   <p>  spaced   out  </p>{# a note #}"
    '<a href="mailto:{{ contact.email }}">write</a>',
    '<table><tr><td class="{{ contact.lifecycleStage }}">A</td><td>{{ company.domain }}</td>'
    "</tr></table>{% raw %}{{ not a tag }}{% endraw %}",
]
# These are derived from each recipient's HTML: a block tag in an attribute or a <style> (the
# text drops it), filters whose output depends on escaping, a link whose text and address are
# merged (they may read the same), an address that starts with a merged value (the sanitizer
# may drop it), <pre>, HTML built as text by a set block or a macro.
DERIVED_PER_RECIPIENT = [
    '<td class="{% if contact.givenName %}named{% endif %}">A</td>',
    "<style>{% if company %}</style><p>{{ company.name }}</p>{% endif %}",
    "<p>{{ contact.givenName | e }}</p>",
    "<p>{{ contact.givenName | safe }}</p>",
    "{% autoescape false %}<p>{{ contact.givenName }}</p>{% endautoescape %}",
    '<a href="{{ unsubscribe_url }}">{{ unsubscribe_url }}</a> or '
    '<a href="{{ view_in_browser_url }}">{{ unsubscribe_url }}</a>',
    '<a href="{{ contact.properties.plan }}">Plan</a>',
    "<pre>{{ contact.name }}   and   more</pre>",
    "<p>Write &#123;&#123; contact.email &#125;&#125; in your reply</p>",
    '<a href="https://cobol.example/">{{ company.name }}</a>',
    "{% set greeting %}<b>Hi</b> {{ contact.givenName }}{% endset %}<p>{{ greeting }}</p>",
    "{% macro item(x) %}<li>{{ x }}</li>{% endmacro %}<ul>{{ item(contact.givenName) }}</ul>",
]


@pytest.mark.parametrize("html", DERIVED_ONCE + DERIVED_PER_RECIPIENT)
def test_a_derived_text_part_reads_as_the_text_of_the_recipients_html(html: str) -> None:
    marked_up = {**CONTACT, "givenName": "<b>Grace</b> & co", "email": "grace@cobol.example"}
    names = variables(marked_up)
    content = CompiledContent.compile(Parts("Hello", None, html, None))

    out = content.render(names)

    html_template = CompiledContent.compile(Parts("Hello", None, html, "unused"))
    assert out.text == text_of(html_template.render(names).html)
    assert (html in DERIVED_ONCE) == content.derives_text_once


def test_a_written_text_part_is_rendered_unescaped() -> None:
    out = rendered("<p>Hi</p>", text="Hi {{ company.name }}!\nBye")
    assert out.text == "Hi Cobol & Co!\nBye"


def test_subject_is_one_line() -> None:
    contact = {**CONTACT, "givenName": "Grace\r\nBcc: x@example.com"}
    out = rendered("<p>x</p>", subject="Hi {{ contact.givenName }}", names=variables(contact))
    assert out.subject == "Hi Grace Bcc: x@example.com"


@pytest.mark.parametrize(
    ("field", "parts"),
    [
        ("subject", Parts("Hi {{ contact.givenName ", None, "<p>x</p>", None)),
        ("preheader", Parts("Hi", "{% if %}", "<p>x</p>", None)),
        ("htmlBody", Parts("Hi", None, "<p>\nline two\n{% for x in contact %}\n", None)),
        ("textBody", Parts("Hi", None, "<p>x</p>", "one\ntwo {{ 'x' | nofilter }}")),
    ],
)
def test_a_syntax_error_names_the_field_and_line(field: str, parts: Parts) -> None:
    with pytest.raises(ValidationFailed) as caught:
        CompiledContent.compile(parts)
    [detail] = caught.value.details
    assert caught.value.status_code == 422
    assert detail.field == field
    assert detail.line == {"subject": 1, "preheader": 1, "htmlBody": 3, "textBody": 2}[field]
    assert detail.message


def test_templates_cannot_load_other_templates() -> None:
    detail = refused("<p>x</p>\n{% include 'secrets.html' %}")
    assert detail["line"] == 2
    assert "include" in detail["message"]


@pytest.mark.parametrize(
    "html",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__ }}",
        "{{ contact['__class__'] }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ '{0.__class__}'.format(contact) }}",
    ],
)
def test_the_sandbox_refuses_private_attributes(html: str) -> None:
    detail = refused("<p>first line</p>\n" + html)
    assert detail["line"] == 2
    assert "not allowed" in detail["message"] or "unsafe" in detail["message"]


def test_the_sandbox_refuses_changing_the_variables() -> None:
    detail = refused("{{ contact.properties.update({'plan': 'free'}) }}")
    assert "unsafe" in detail["message"] or "not allowed" in detail["message"]


def test_a_render_time_error_names_the_field_and_line() -> None:
    assert refused("<p>\n{{ 1 / 0 }}</p>")["line"] == 2
    assert refused("<p>x</p>", subject="{{ nothing() }}", field="subject")["line"] == 1
    assert refused("<p>x</p>", text="a\nb\n{{ contact.name.nope() }}", field="textBody") == {
        "field": "textBody",
        "message": "Cannot render: 'str object' has no attribute 'nope'",
        "line": 3,
    }


def test_recursion_is_refused() -> None:
    refused("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")


def test_oversize_output_is_refused() -> None:
    detail = refused("{% for i in range(100000) %}{{ 'x' * 30 }}{% endfor %}")
    assert "over 2,000,000 characters" in detail["message"]


@pytest.mark.parametrize(
    "html",
    [
        "{{ range(10**9) | list | length }}",  # range is capped (MAX_RANGE)
        "{{ range(100001) | list | length }}",
        "{{ 'x' * 3000000 }}",
        "{{ ['x'] * 3000000 }}",
        "{{ 'x'.ljust(10**9) }}",
        "{{ 'x' | center(10**9) }}",
        "{{ 'x' | indent(10**9) }}",
        "{{ '%0999999999d' | format(1) }}",
        "{{ '%*d' % (10**9, 1) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ (10**1000)**1000 }}",
        "{{ 'ab' | replace('a', 'x' * 1500000) | replace('x', 'yy') }}",
        "{% set ns = namespace(s='xx') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set ns = namespace(s='xx') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "{% set ns = namespace(s='xx') %}{% for i in range(40) %}"
        "{% set ns.s = [ns.s, ns.s] | join %}{% endfor %}",
    ],
)
def test_runaway_values_are_refused(html: str) -> None:
    start = time.monotonic()
    refused(html)
    assert time.monotonic() - start < 1


def test_a_render_that_runs_too_long_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "RENDER_SECONDS", 0.2)
    start = time.monotonic()
    detail = refused(
        "<p>x</p>\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    )
    assert time.monotonic() - start < 2
    assert "took over" in detail["message"]
    assert detail["line"] == 2


def test_ordinary_jinja_works() -> None:
    contact = {**CONTACT, "properties": {"tags": ["a", "b"], "score": 7.456}}
    out = rendered(
        "{% set greeting = 'Hi' %}{% macro b(x) %}<b>{{ x }}</b>{% endmacro %}"
        "<p>{{ greeting }} {{ b(contact.givenName | upper) }}</p>"
        "<ul>{% for t in contact.properties.tags %}<li>{{ loop.index }} {{ t }}</li>"
        "{% endfor %}</ul><p>{{ '%.1f' | format(contact.properties.score) }} "
        "{{ '{:>4}'.format(contact.properties.score | round | int) }} "
        "{{ range(3) | join(',') }} {{ contact.email.split('@')[1] }}</p>",
        names=variables(contact),
    )
    assert "<p>Hi <b>GRACE</b></p>" in out.html
    assert "<li>1 a</li><li>2 b</li>" in out.html
    assert "<p>7.5    7 0,1,2 example.com</p>" in out.html


def test_one_compiled_content_renders_each_recipient() -> None:
    content = CompiledContent.compile(
        Parts("Hi {{ contact.givenName }}", None, "<p>{{ contact.givenName }}</p>", None)
    )
    for name in ("Ada", "Grace", "Linus"):
        out = content.render(variables({**CONTACT, "givenName": name}))
        assert (out.subject, out.html, out.text) == (f"Hi {name}", f"<p>{name}</p>", name)


def test_merge_variables_names() -> None:
    names = variables()
    assert set(names) == {"contact", "company", "unsubscribe_url", "view_in_browser_url"}
    assert "phone" not in names["contact"]
    assert "notes" not in names["contact"]["properties"]
    assert "company" not in variables(company=None)
