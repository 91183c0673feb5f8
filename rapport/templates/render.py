"""Email content with merge tags: Jinja templates compiled once and rendered per recipient in a
sandbox. Pure: no database.

Two environments: HTML bodies escape every merged value (a contact's name can never become
markup), subjects, preheaders and text bodies do not. Undefined names render as empty text
and chain (`{{ company.name }}` without a company is empty), so `default` works. The rendered
HTML is sanitised (`rapport.mail.compose.sanitize_html`); the text part is derived from it
when none is written.

A template is the workspace's code running on the server, so beside Jinja's sandbox (no
private attributes, no mutation of lists and dicts, `range` capped) rendering is bounded: each
part's output, and every string, list or number the template builds along the way, has a size
limit, calls and width filters take no huge numbers, and a render has a time limit. Going over
any of them, or any error while rendering, is a 422 naming the field (and the line); never a
500.
"""

from __future__ import annotations

import bisect
import functools
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes, pass_context
from jinja2.environment import Template
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from markupsafe import escape

from rapport.kit.errors import ErrorDetail, ValidationFailed
from rapport.mail.compose import sanitize_html, text_of, tidy_text

OUTPUT_LIMIT = 2_000_000
"""Characters of one rendered part, and of any string or list a template builds."""
NUMBER_LIMIT = 100_000
"""The largest number a call or a width filter takes (`"x".ljust(n)`, `center(n)`)."""
INT_BITS_LIMIT = 64_000
"""Integers a template computes stay under this many bits."""
FORMAT_WIDTH_LIMIT = 1_000
"""Widths and precisions in format strings (`"%05d"`, `"{:>10}"`)."""
RENDER_SECONDS = 2.0
"""How long one render (all parts) may take."""

FIELDS = ("subject", "preheader", "htmlBody", "textBody")

# The filters the rewrite of a parsed template adds (harmless should a template name them).
_STEPS = "rapport.steps"
_SIZED = "rapport.sized"
_WIDTH_FILTERS = frozenset(
    {"batch", "center", "indent", "round", "slice", "tojson", "truncate", "wordwrap"}
)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_PREHEADER = (
    '<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;'
    'opacity:0;overflow:hidden;mso-hide:all">{}</div>'
)

# Jinja's tokens that open a tag and the ones that close it; raw tags come as one token each.
_TAG_ENDS = {
    "variable_begin": "variable_end",
    "block_begin": "block_end",
    "comment_begin": "comment_end",
}
_RAW_TAGS = {"raw_begin", "raw_end"}
# Filters and blocks whose output depends on escaping: their text part is not derived once.
_ESCAPING = frozenset({"autoescape", "e", "escape", "forceescape", "safe", "urlize", "xmlattr"})
# Block tags whose body becomes text used elsewhere (`{% set x %}...{% endset %}` without =).
_BUILDS_TEXT = re.compile(r"\s*(filter|macro|call)\b|\s*set\b[^=]*$")
_PRE = re.compile(r"<pre\b", re.IGNORECASE)
_OWN_LINKS = frozenset({"{{unsubscribe_url}}", "{{view_in_browser_url}}"})
_SPACES = "rapport.spaces"
_BRACE_ENTITY = re.compile(r"&(#0*123|#x0*7b|lbrace|lcub)\b", re.IGNORECASE)
_WHITE_SPACE = re.compile(r"\s+")

_deadline: ContextVar[float | None] = ContextVar("rapport_template_deadline", default=None)


class _Refused(Exception):
    """A limit of the sandbox was reached; the message says which."""


def _tick() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise _Refused(f"Rendering took over {RENDER_SECONDS:g} s (look for loops within loops)")


def _sized(value: Any) -> Any:
    """The value, unless it is a string, list or integer over the limits."""
    if isinstance(value, str | list | tuple | dict) and len(value) > OUTPUT_LIMIT:
        raise _Refused(f"A value of over {OUTPUT_LIMIT:,} characters or items was built")
    if isinstance(value, int) and value.bit_length() > INT_BITS_LIMIT:
        raise _Refused("A number too large was computed")
    return value


def _sized_times(length: int, times: int) -> None:
    if length * times > OUTPUT_LIMIT:
        raise _Refused(f"A value of over {OUTPUT_LIMIT:,} characters was built")


def _small(values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > NUMBER_LIMIT:
            raise _Refused(f"Numbers over {NUMBER_LIMIT:,} cannot be passed here")


def _check_widths(widths: Iterable[str | None]) -> None:
    for width in widths:
        if width == "*" or (width and int(width) > FORMAT_WIDTH_LIMIT):
            raise _Refused(f"Format widths and precisions go up to {FORMAT_WIDTH_LIMIT}")


def _check_percent_format(fmt: str) -> None:
    for match in _PERCENT_SPEC.finditer(fmt):
        _check_widths(match.groups())


def _check_brace_format(fmt: str) -> None:
    for _text, _field, spec, _conversion in string.Formatter().parse(fmt):
        if spec and "{" in spec:
            raise _Refused("Format specifications cannot hold fields of their own")
        _check_widths(re.findall(r"\d+", spec or ""))


def _replace_size(text: str, old: Any, new: Any) -> None:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * (len(new) - len(old)) > OUTPUT_LIMIT:
            raise _Refused(f"A value of over {OUTPUT_LIMIT:,} characters was built")


@pass_context
def _steps(_context: Context, iterable: Any) -> Iterator[Any]:
    """What a `for` loop walks: each step within the render's time limit."""
    for item in iterable:
        _tick()
        yield item


@pass_context
def _sized_concat(_context: Context, value: Any) -> Any:
    """A `~` concatenation, within the size limit."""
    return _sized(value)


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The filter within the limits: no huge widths, no value over the size limit."""
    # Filters given the environment or evaluation context take it first, then the value.
    value_at = 1 if hasattr(func, "jinja_pass_arg") else 0
    check_numbers = name in _WIDTH_FILTERS

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        value, rest = args[value_at], args[value_at + 1 :]
        if check_numbers:
            _small(rest)
            _small(kwargs.values())
        elif name == "format" and isinstance(value, str):
            _check_percent_format(value)
        elif name == "replace" and len(rest) >= 2 and isinstance(value, str):
            _replace_size(value, rest[0], rest[1])
        return _sized(func(*args, **kwargs))

    return guarded


def _range(*args: int) -> range:
    """`range`, capped at Jinja's MAX_RANGE items."""
    _tick()
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _Refused(f"range() gives at most {MAX_RANGE:,} numbers")
    return numbers


def _present(value: Any) -> Any:
    """No null values: a field without one is undefined, so it renders empty and `default`
    replaces it."""
    if isinstance(value, Mapping):
        return {k: _present(v) for k, v in value.items() if v is not None}
    return value


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _one_spaced(value: Any) -> str:
    """A merged value in a derived text part: its runs of white space one space, as the
    HTML it came from reads."""
    return "" if value is None else _WHITE_SPACE.sub(" ", str(value))


class _OneSpaced(NodeTransformer):
    """Rewrites a derived text part: every value it outputs is one-spaced (`_one_spaced`)."""

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [
            item
            if isinstance(item, nodes.TemplateData)
            else nodes.Filter(item, _SPACES, [], [], None, None, lineno=item.lineno)
            for item in node.nodes
        ]
        return node


class _Guard(NodeTransformer):
    """Rewrites a parsed template: every loop steps within the time limit, every
    concatenation stays within the size limit, and nothing is loaded from elsewhere."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _STEPS, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, _SIZED, [], [], None, None, lineno=node.lineno)

    def _refuse(self, node: nodes.Node) -> nodes.Node:
        raise TemplateSyntaxError(
            "Templates cannot extend, include or import other templates", node.lineno
        )

    visit_Extends = visit_Include = visit_Import = visit_FromImport = _refuse


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with limits on what a template may build and how long it
    may run, unsafe attributes as errors (not as empty text), and dict keys before methods
    (`contact.properties.items` is the property `items`)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            autoescape=autoescape,
            undefined=ChainableUndefined,
            finalize=_finalize,
            auto_reload=False,
            cache_size=0,
        )
        self.globals.pop("lipsum", None)
        self.globals["range"] = _range
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_STEPS] = _steps
        self.filters[_SIZED] = _sized_concat
        self.filters[_SPACES] = _one_spaced

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(
            f"Access to the attribute {attribute!r} of {type(obj).__name__!r} is not allowed"
        )

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_brace_format(value.__self__)
        return wrapped

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    _sized_times(len(seq), times)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right * abs(left).bit_length() > INT_BITS_LIMIT:
                raise _Refused("A number too large was computed")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
        return _sized(super().call_binop(context, operator, left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _tick()
        _small(args)
        _small(kwargs.values())
        if getattr(obj, "__name__", None) == "replace" and len(args) >= 2:
            target = getattr(obj, "__self__", None)
            if isinstance(target, str):
                _replace_size(target, args[0], args[1])
        return _sized(super().call(context, obj, *args, **kwargs))


_HTML = _Sandbox(autoescape=True)
_TEXT = _Sandbox(autoescape=False)


def _invalid(field: str, message: str, line: int | None = None) -> ValidationFailed:
    where = f" (line {line})" if line else ""
    return ValidationFailed(
        f"{field}: {message}{where}",
        details=[ErrorDetail(field=field, message=message, line=line)],
    )


def _line_of(template: Template, traceback: TracebackType | None) -> int | None:
    """The template line the innermost frame of this template was running, if any."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_globals.get("__jinja_template__") is template:
            line = template.get_corresponding_lineno(traceback.tb_lineno)
        traceback = traceback.tb_next
    return line


@dataclass(frozen=True)
class _Part:
    field: str
    template: Template

    @classmethod
    def compile(cls, env: _Sandbox, field: str, source: str, *rewrites: NodeTransformer) -> _Part:
        try:
            tree = env.parse(source, name=field)
            for rewrite in (_Guard(), *rewrites):
                tree = rewrite.visit(tree)
            tree.set_environment(env)
            code = env.compile(tree, name=field, filename=f"<{field}>")
            template = env.template_class.from_code(env, code, env.make_globals(None), None)
        except TemplateSyntaxError as exc:
            raise _invalid(field, exc.message or "Syntax error", exc.lineno) from None
        except Exception as exc:
            raise _invalid(field, f"Cannot compile the template: {exc}") from None
        return cls(field, template)

    def render(self, variables: dict[str, Any]) -> str:
        template = self.template
        pieces: list[str] = []
        size = 0
        try:
            for piece in template.root_render_func(template.new_context(variables)):
                size += len(piece)
                if size > OUTPUT_LIMIT:
                    raise _Refused(f"The rendered text is over {OUTPUT_LIMIT:,} characters")
                pieces.append(piece)
        except _Refused as exc:
            raise _invalid(self.field, str(exc), _line_of(template, exc.__traceback__)) from None
        except SecurityError as exc:
            line = _line_of(template, exc.__traceback__)
            raise _invalid(self.field, str(exc), line) from None
        except Exception as exc:
            line = _line_of(template, exc.__traceback__)
            message = str(exc) or type(exc).__name__
            raise _invalid(self.field, f"Cannot render: {message}", line) from None
        return "".join(pieces)


def _derived_text(html: str) -> _Part | None:
    """The text part as a template of its own, derived once from the HTML template: the HTML
    between the tags made text as `text_of` makes the rendered HTML, each tag kept (each
    merged value's runs of white space made one space, as in HTML), so a recipient's text
    costs a render instead of an HTML parse. None when that could read differently, and
    then each recipient's text is derived from their HTML:
    - a block tag lost or moved (inside a dropped attribute or a <style>), or a merged value
      moved across one;
    - HTML that blocks, macros or filters build as text (`filter`, `macro`, `call`, a `set`
      block), filters whose output depends on escaping, `<pre>` (its spaces are kept);
    - a link whose address starts with a merged value (other than the unsubscribe and view
      links, which Rapport writes: the sanitizer drops an unsafe one), or whose text holds
      one (the text may be the address, which reads once);
    - text that reads as a tag once its entities are decoded (`&#123;&#123;`)."""
    marker = "rpt" + secrets.token_hex(6) + "n"
    if marker in html or _PRE.search(html):
        return None
    tags: list[str] = []
    blocks: list[int] = []  # the indexes of block tags among `tags`
    pieces: list[str] = []
    tag: list[str] | None = None
    closing = ""
    try:
        for _line, kind, value in _TEXT.lex(html):
            if tag is not None:
                if kind == "name" and value in _ESCAPING:
                    return None
                if kind == closing:
                    pieces.append(f"{marker}{len(tags)}z")
                    # The white space the `-` of `{%-` trims is gone from the pieces already.
                    tags.append("".join(tag) + value.lstrip("-+"))
                    if tag[0].startswith("{%") and _BUILDS_TEXT.match("".join(tag[1:])):
                        return None
                    tag = None
                else:
                    tag.append(value)
            elif kind in _TAG_ENDS:
                tag, closing = [value.rstrip("-+")], _TAG_ENDS[kind]
                if kind == "block_begin":
                    blocks.append(len(tags))
            elif kind in _RAW_TAGS:
                blocks.append(len(tags))
                pieces.append(f"{marker}{len(tags)}z")
                tags.append(value)
            else:
                pieces.append(value)
    except TemplateSyntaxError:
        return None
    template = "".join(pieces)
    for start in re.findall(rf"<a\b[^>]*?\bhref\s*=\s*[\"']?\s*{marker}(\d+)z", template, re.I):
        if re.sub(r"\s+", "", tags[int(start)]) not in _OWN_LINKS:
            return None
    if re.search(rf"<a\b[^>]*>(?:(?!</a>).)*{marker}\d+z", template, re.I | re.S):
        return None  # the merged text may be the address, which reads once
    if _BRACE_ENTITY.search(template):
        return None  # `&#123;&#123;` is text in the HTML; decoded, it would read as a tag
    text = text_of(sanitize_html(template))
    found = [int(index) for index in re.findall(rf"{marker}(\d+)z", text)]
    if not _same_structure(found, blocks):
        return None
    source = re.sub(rf"{marker}(\d+)z", lambda match: tags[int(match.group(1))], text)
    try:
        return _Part.compile(_TEXT, "htmlBody", source, _OneSpaced())
    except ValidationFailed:
        return None


def _same_structure(found: list[int], blocks: list[int]) -> bool:
    """Every block tag once and in order; any other tag at most once, after as many block
    tags as in the HTML."""
    if len(set(found)) != len(found) or [i for i in found if i in blocks] != blocks:
        return False
    seen = 0
    for index in found:
        if seen < len(blocks) and blocks[seen] == index:
            seen += 1
        elif bisect.bisect(blocks, index) != seen:
            return False
    return True


@dataclass(frozen=True)
class Parts:
    """What is written."""

    subject: str
    preheader: str | None
    html: str
    text: str | None  # None: derived from the rendered HTML


@dataclass(frozen=True)
class Rendered:
    """What one recipient gets."""

    subject: str
    preheader: str | None
    html: str  # sanitised; preheader inserted as a hidden first element when given
    text: str


def _one_line(value: str) -> str:
    """Headers are one line: line breaks and runs of spaces (a merge tag left empty) become
    one space."""
    return " ".join(value.split())


class CompiledContent:
    """Parts parsed once (per campaign, per save), rendered per recipient."""

    __slots__ = ("_derived_text", "_html", "_preheader", "_subject", "_text")

    def __init__(
        self,
        subject: _Part,
        preheader: _Part | None,
        html: _Part,
        text: _Part | None,
        derived_text: _Part | None,
    ) -> None:
        self._subject = subject
        self._preheader = preheader
        self._html = html
        self._text = text
        self._derived_text = derived_text

    @classmethod
    def compile(cls, parts: Parts) -> CompiledContent:
        """ValidationFailed (422) naming the field and line of the first syntax error."""
        html = _Part.compile(_HTML, "htmlBody", parts.html)
        return cls(
            _Part.compile(_TEXT, "subject", parts.subject),
            None if parts.preheader is None else _Part.compile(_TEXT, "preheader", parts.preheader),
            html,
            None if parts.text is None else _Part.compile(_TEXT, "textBody", parts.text),
            _derived_text(parts.html) if parts.text is None else None,
        )

    @property
    def derives_text_once(self) -> bool:
        """True when the text part is derived from the HTML template, once, rather than from
        each recipient's HTML (`_derived_text`)."""
        return self._derived_text is not None

    def render(self, variables: Mapping[str, Any]) -> Rendered:
        """The parts for one recipient; ValidationFailed (422) naming the field (and line)
        when rendering fails or goes over a limit."""
        names = dict(variables)
        token = _deadline.set(time.monotonic() + RENDER_SECONDS)
        try:
            subject = _one_line(self._subject.render(names))
            preheader = None
            if self._preheader is not None:
                preheader = _one_line(self._preheader.render(names)) or None
            html = sanitize_html(self._html.render(names))
            if self._text is not None:
                text = self._text.render(names)
            elif self._derived_text is not None:
                text = tidy_text(self._derived_text.render(names), one_spaced=True)
            else:
                text = text_of(html)
        finally:
            _deadline.reset(token)
        if preheader is not None:
            html = _PREHEADER.format(escape(preheader)) + html
        return Rendered(subject=subject, preheader=preheader, html=html, text=text)


def merge_variables(
    contact: Mapping[str, Any],
    company: Mapping[str, Any] | None,
    *,
    unsubscribe_url: str,
    view_url: str,
) -> dict[str, Any]:
    """The names templates see: contact, company, unsubscribe_url, view_in_browser_url.

    `contact` and `company` as the API shows them (camelCase fields, custom property values
    in `properties`). Fields without a value are left out, so they are undefined: they render
    empty and `default` replaces them. Without a company, `company` is undefined too."""
    variables: dict[str, Any] = {
        "contact": _present(contact),
        "unsubscribe_url": unsubscribe_url,
        "view_in_browser_url": view_url,
    }
    if company is not None:
        variables["company"] = _present(company)
    return variables
