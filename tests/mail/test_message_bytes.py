"""The bytes of an outbound message, read back by the standard library's parser: what any
mail client would see."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from rapport.mail.compose import header_address, message_bytes

TEXT = "Hello Adà,\n.a line starting with a dot\n" + "long " * 60 + "\n\ttabbed   \nend"
HTML = "<p>Héllo <b>Adà</b></p>\r\n<p>=3D is not an escape here</p>"


def parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def build(**overrides: object) -> bytes:
    values: dict[str, object] = {
        "sender": header_address("news@acme.example", 'Acme "News", Ltd.'),
        "recipient": "ada@example.com",
        "subject": "Spring offer for Adà",
        "html": HTML,
        "text": TEXT,
        "message_id": "<1@acme.example>",
        "date": datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
        "headers": [("List-Unsubscribe", "<https://acme.example/u/" + "x" * 300 + ">")],
    }
    values.update(overrides)
    return message_bytes(**values)  # type: ignore[arg-type]


def test_a_message_reads_back_as_written() -> None:
    data = build()
    message = parsed(data)

    assert message["Subject"] == "Spring offer for Adà"
    assert message["From"].addresses[0].display_name == 'Acme "News", Ltd.'
    assert message["From"].addresses[0].addr_spec == "news@acme.example"
    assert message["To"] == "ada@example.com"
    assert message["List-Unsubscribe"] == "<https://acme.example/u/" + "x" * 300 + ">"
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == TEXT
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == HTML.replace("\r\n", "\n")
    lines = data.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    assert b"\n" not in data.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "subject",
    ["Eve\r\nBcc: x@evil.example", "=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?=", "Eve\u2028Bcc: x"],
)
def test_free_text_never_starts_a_header(subject: str) -> None:
    message = parsed(build(subject=subject))

    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"])
    assert "\r" not in str(message["Subject"])


def test_what_cannot_be_written_is_refused() -> None:
    with pytest.raises(ValueError, match="before the @"):
        build(recipient="jürgen@example.com")
    with pytest.raises(ValueError, match="one line"):
        build(headers=[("Reply-To", "a@b.example\r\nBcc: x@evil.example")])
