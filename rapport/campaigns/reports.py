"""Delivery reports as mail servers send them, read into feedback: a DSN (RFC 3464,
`multipart/report; report-type=delivery-status`) is a bounce, hard when the action is
`failed` with a 5.x.x status, soft when it is `delayed` or 4.x.x; an ARF report (RFC 5965,
`report-type=feedback-report`) is a complaint. The returned message's Message-ID names the
campaign message it is about."""

from __future__ import annotations

from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

from rapport.campaigns.schemas import FeedbackIn, FeedbackKind
from rapport.kit.errors import InvalidRequest
from rapport.models.campaigns import BounceType


def feedback_of(raw: bytes) -> FeedbackIn:
    """The report's feedback; 400 naming what is missing if it is not one."""
    report = message_from_bytes(raw, policy=policy.default)
    if report.get_content_type() != "multipart/report":
        raise _not_a_report("The body is not a multipart/report message (a DSN or ARF report)")
    kind = str(report.get_param("report-type", header="content-type") or "").lower()
    parts = list(report.walk())
    original = _original_headers(parts)
    message_id = original.get("Message-ID") if original is not None else None
    if kind == "delivery-status":
        return _bounce(parts, message_id)
    if kind == "feedback-report":
        fields = _fields(_part(parts, "message/feedback-report"))
        email = fields.get("original-rcpt-to") or (original.get("To") if original else None)
        return FeedbackIn(
            type=FeedbackKind.COMPLAINT,
            email=_address(email),
            message_id=str(message_id) if message_id else None,
            reason=fields.get("feedback-type", "abuse"),
        )
    raise _not_a_report(
        f"Unknown report-type {kind!r}: expected delivery-status or feedback-report"
    )


def _bounce(parts: Sequence[Message], message_id: object) -> FeedbackIn:
    status_part = _part(parts, "message/delivery-status")
    recipient: dict[str, str] = {}
    for block in _blocks(status_part):
        if "final-recipient" in block or "original-recipient" in block:
            recipient = block
            break
    action = recipient.get("action", "failed").lower()
    status = recipient.get("status", "5.0.0")
    hard = action == "failed" and status.startswith("5")
    email = recipient.get("final-recipient") or recipient.get("original-recipient")
    return FeedbackIn(
        type=FeedbackKind.BOUNCE,
        bounce_type=BounceType.HARD if hard else BounceType.SOFT,
        email=_address(email),
        message_id=str(message_id) if message_id else None,
        reason=(recipient.get("diagnostic-code") or f"{action} {status}")[:1000],
    )


def _part(parts: Sequence[Message], content_type: str) -> Message:
    for part in parts:
        if part.get_content_type() == content_type:
            return part
    raise _not_a_report(f"The report has no {content_type} part")


def _blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a delivery-status part (the message's, then each recipient's)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [_fields_of(block) for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    return [_parse_fields(chunk) for chunk in text.replace("\r\n", "\n").split("\n\n")]


def _fields(part: Message) -> dict[str, str]:
    payload = part.get_payload()
    if isinstance(payload, list):
        merged: dict[str, str] = {}
        for block in payload:
            if isinstance(block, Message):
                merged.update(_fields_of(block))
        return merged
    return _parse_fields(payload if isinstance(payload, str) else "")


def _fields_of(block: Message) -> dict[str, str]:
    return {key.lower(): str(value).strip() for key, value in block.items()}


def _parse_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            fields[name.strip().lower()] = value.strip()
    return fields


def _original_headers(parts: Sequence[Message]) -> EmailMessage | None:
    """The headers of the message the report returns (a message/rfc822 part, or
    text/rfc822-headers)."""
    for part in parts:
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage):
                return inner[0]
        if content_type == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                parsed = message_from_bytes(text, policy=policy.default)
                if isinstance(parsed, EmailMessage):
                    return parsed
    return None


def _address(value: object) -> str | None:
    """`rfc822; someone@example.com` or `<someone@example.com>` as the address alone."""
    if not value:
        return None
    text = str(value).rpartition(";")[2].strip().strip("<>").strip()
    return text or None


def _not_a_report(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="INVALID_REPORT")
