"""What an outbound email is made of: HTML cleaned of anything active, a plain-text part
derived from it when none is given, and the message's bytes as sent."""

from __future__ import annotations

import binascii
import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.utils import format_datetime, formataddr
from html.parser import HTMLParser

import nh3
from email_validator import EmailNotValidError, validate_email

_LINE_BREAKS = re.compile(r"\r\n|\r")

# Beside nh3's defaults: the layout attributes HTML email is written with, and inline styles
# limited to presentation (no url(), no positioning over the mail client's own interface).
_LAYOUT = {"align", "valign", "width", "height", "bgcolor", "border", "style"}
_ATTRIBUTES = {
    "*": {"title", "lang", "dir", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "border"},
    "table": _LAYOUT | {"cellpadding", "cellspacing"},
    "td": _LAYOUT | {"colspan", "rowspan"},
    "th": _LAYOUT | {"colspan", "rowspan"},
    "tr": _LAYOUT,
    "div": {"align"},
    "p": {"align"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
}
_STYLE_PROPERTIES = {
    "background-color",
    "border",
    "border-bottom",
    "border-collapse",
    "border-color",
    "border-left",
    "border-radius",
    "border-right",
    "border-style",
    "border-top",
    "border-width",
    "color",
    "display",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-width",
    "min-width",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "text-align",
    "text-decoration",
    "text-transform",
    "vertical-align",
    "white-space",
    "width",
}

# Their text is no part of the email's body (a whole document's <title> included).
_DROPPED_WITH_CONTENT = {"script", "style", "template", "title"}


def sanitize_html(html: str) -> str:
    """The HTML with scripts, style sheets, event handlers, forms, frames and unsafe URLs
    removed (nh3, an allow-list); the layout attributes and inline presentation styles of
    HTML email are kept."""
    return nh3.clean(
        html,
        attributes=_ATTRIBUTES,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        filter_style_properties=_STYLE_PROPERTIES,
    )


_BLOCKS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "div",
    "dl",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
}
_LINES = {"br", "dd", "dt", "li", "tr", "caption", "figcaption"}
_HIDDEN = {"head", "script", "style", "template", "title"}
_SPACES = re.compile(r"[ \t]{2,}")


class _TextOf(HTMLParser):
    """Collects the readable text of HTML: a blank line between blocks, a line per list
    item, table row or <br>, links followed by their address."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.preformatted = 0
        self.links: list[str | None] = []
        self.saw_pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
            self.preformatted += tag == "pre"
            self.saw_pre |= tag == "pre"
        elif tag in _LINES:
            self.parts.append("\n- " if tag == "li" else "\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
            self.preformatted = max(0, self.preformatted - (tag == "pre"))
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith("#") and href not in self.parts[-1:]:
                self.parts.append(f" ({href.removeprefix('mailto:')})")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.parts.append(data if self.preformatted else re.sub(r"\s+", " ", data))


def text_of(html: str) -> str:
    """A plain-text rendering of the HTML, for the text/plain part of an email."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return tidy_text("".join(parser.parts), one_spaced=not parser.saw_pre)


def tidy_text(text: str, *, one_spaced: bool) -> str:
    """Lines without spaces at either end (and, `one_spaced`, no runs of spaces within),
    at most one blank line in a row, none around."""
    lines = [line.strip() for line in text.splitlines()]
    if one_spaced:
        lines = [_SPACES.sub(" ", line) for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def message_id_for(email_id: uuid.UUID, from_address: str) -> str:
    """A Message-ID unique to the email (its id, at the sender's domain): the same on every
    attempt, so a copy sent twice after a lost answer reads as one message."""
    return f"<{email_id}@{from_address.rpartition('@')[2]}>"


def ascii_address(address: str) -> str:
    """The address as SMTP without the SMTPUTF8 extension carries it (a Unicode domain in its
    ASCII form); ValueError if it is not an address, or has non-ASCII characters before the @
    (which Rapport cannot send to or from yet)."""
    try:
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    if checked.ascii_email is None:
        raise ValueError(
            "Addresses with non-ASCII characters before the @ are not supported (SMTPUTF8)"
        )
    return checked.ascii_email


def header_address(address: str, display_name: str | None = None) -> Address:
    """The address as a header holds it; ValueError if it cannot be written in one."""
    if any(char in address for char in "\r\n") or (
        display_name and any(char in display_name for char in "\r\n")
    ):
        raise ValueError("Line breaks are not allowed")
    return Address(display_name=display_name or "", addr_spec=address)


def message_bytes(
    *,
    sender: Address,
    recipient: str,
    subject: str,
    html: str,
    text: str,
    message_id: str,
    date: datetime,
    headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A multipart/alternative message as the bytes sent (the plain-text part first, the
    HTML part preferred): CRLF lines, both parts UTF-8 in quoted-printable. Written directly
    rather than through the email package's object model, which costs milliseconds per
    message: a campaign writes one per recipient. Free text (the subject, a display name)
    is one line, encoded (RFC 2047) when it is not plain ASCII; `headers` are added as
    given, each on one line (up to RFC 5322's 998 characters, so a link stays whole);
    ValueError if a value holds a line break or an address cannot be written."""
    boundary = "=_" + secrets.token_hex(16)  # "=" never occurs in quoted-printable text
    lines = [
        f"From: {_address_text(sender)}",
        f"To: {_ascii(recipient)}",
        f"Subject: {_free_text(subject, 'Subject')}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    for name, value in headers:
        if any(char in value for char in "\r\n") or len(name) + len(value) > 996:
            raise ValueError(f"The {name} header cannot be written on one line")
        lines.append(f"{name}: {value}")
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    head = "\r\n".join(lines).encode("ascii")
    return b"".join(
        (
            head,
            b"\r\n\r\n",
            _part(boundary, "plain", text),
            _part(boundary, "html", html),
            f"--{boundary}--\r\n".encode("ascii"),
        )
    )


def _part(boundary: str, subtype: str, content: str) -> bytes:
    body = binascii.b2a_qp(_LINE_BREAKS.sub("\n", content).encode("utf-8"), istext=True)
    return (
        (
            f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        + body.replace(b"\n", b"\r\n")
        + b"\r\n"
    )


def _free_text(value: str, name: str) -> str:
    """One line of text as a header holds it: plain ASCII as it is, anything else (and text
    that looks like an encoded word) as RFC 2047 encoded words, folded."""
    text = " ".join(value.split())
    if text.isascii() and "=?" not in text and len(text) < 900:
        return text
    return Header(text, "utf-8", header_name=name).encode(linesep="\r\n")


def _address_text(address: Address) -> str:
    addr_spec = _ascii(address.addr_spec)
    if not address.display_name:
        return addr_spec
    return formataddr((" ".join(address.display_name.split()), addr_spec), charset="utf-8")


def _ascii(address: str) -> str:
    """The address as a header and SMTP carry it (a Unicode domain in its ASCII form)."""
    return address if address.isascii() else ascii_address(address)
