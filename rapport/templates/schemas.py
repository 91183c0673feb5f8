"""Wire shapes of email templates and their previews."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field

from rapport.kit.schemas import InputModel, WireModel, not_null

BODY_LIMIT = 500_000
SUBJECT_LIMIT = 1000

_SUBJECT_DOC = (
    "A template (merge tags such as `{{ contact.givenName }}`); rendered on one line (runs of "
    "spaces as one), without escaping"
)
_PREHEADER_DOC = (
    "The preview text mail clients show after the subject; a template. It is inserted at the "
    "top of the HTML as a hidden element"
)
_HTML_DOC = (
    "The HTML body, a template: merged values are escaped, and the rendered HTML is sanitised "
    "(scripts, style sheets, event handlers, forms and unsafe links removed)"
)
_TEXT_DOC = "The plain-text part, a template; when null it is derived from the rendered HTML"
_NAME_DOC = "Unique in the workspace"
_SUBJECT = "{{ contact.givenName | default('Hello') }}, your {{ company.name }} plan"
_PREHEADER = "What changes on {{ contact.properties.renewalDate | default('renewal') }}"
_HTML = (
    "<p>Hi {{ contact.givenName | default('there') }},</p>\n"
    "<p>Your plan: {{ contact.properties.plan | default('Starter') }}.</p>\n"
    '<p><a href="{{ view_in_browser_url }}">View in browser</a> · '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)


def _one_line(value: str | None) -> str | None:
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError("Line breaks are not allowed")
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]


class TemplateOut(WireModel):
    id: uuid.UUID
    name: str = Field(description=_NAME_DOC, examples=["Renewal reminder"])
    subject: str = Field(description=_SUBJECT_DOC, examples=[_SUBJECT])
    preheader: str | None = Field(description=_PREHEADER_DOC, examples=[_PREHEADER])
    html_body: str = Field(description=_HTML_DOC, examples=[_HTML])
    text_body: str | None = Field(description=_TEXT_DOC, examples=[None])
    created_at: datetime
    updated_at: datetime


class TemplateCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Renewal reminder",
                    "subject": _SUBJECT,
                    "preheader": _PREHEADER,
                    "htmlBody": _HTML,
                }
            ]
        }
    )

    name: OneLine = Field(
        min_length=1, max_length=200, description=_NAME_DOC, examples=["Renewal reminder"]
    )
    subject: str = Field(
        min_length=1, max_length=SUBJECT_LIMIT, description=_SUBJECT_DOC, examples=[_SUBJECT]
    )
    preheader: str | None = Field(
        default=None, max_length=SUBJECT_LIMIT, description=_PREHEADER_DOC, examples=[_PREHEADER]
    )
    html_body: str = Field(
        min_length=1, max_length=BODY_LIMIT, description=_HTML_DOC, examples=[_HTML]
    )
    text_body: str | None = Field(default=None, max_length=BODY_LIMIT, description=_TEXT_DOC)


class TemplateUpdate(InputModel):
    """Only the fields sent change; `preheader: null` and `textBody: null` clear them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Renewal reminder (v2)",
                    "textBody": "Hi {{ contact.givenName | default('there') }}, "
                    "your renewal is coming up.\nUnsubscribe: {{ unsubscribe_url }}",
                }
            ]
        }
    )

    name: OneLine | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=200,
        description=_NAME_DOC,
    )
    subject: str | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=SUBJECT_LIMIT,
        description=_SUBJECT_DOC,
    )
    preheader: str | None = Field(
        default=None, max_length=SUBJECT_LIMIT, description=f"{_PREHEADER_DOC}; null clears it"
    )
    html_body: str | None = Field(
        default=None,
        json_schema_extra=not_null,
        min_length=1,
        max_length=BODY_LIMIT,
        description=_HTML_DOC,
    )
    text_body: str | None = Field(default=None, max_length=BODY_LIMIT, description=_TEXT_DOC)


class PreviewRequest(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"contactId": "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"}]}
    )

    contact_id: uuid.UUID = Field(description="The contact to render the template for")


class DraftPreviewRequest(InputModel):
    """Content not saved yet (an editor's), and whom to render it for."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subject": _SUBJECT,
                    "preheader": _PREHEADER,
                    "htmlBody": _HTML,
                    "contactId": "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b",
                }
            ]
        }
    )

    subject: str = Field(
        min_length=1, max_length=SUBJECT_LIMIT, description=_SUBJECT_DOC, examples=[_SUBJECT]
    )
    preheader: str | None = Field(
        default=None, max_length=SUBJECT_LIMIT, description=_PREHEADER_DOC, examples=[_PREHEADER]
    )
    html_body: str = Field(
        min_length=1, max_length=BODY_LIMIT, description=_HTML_DOC, examples=[_HTML]
    )
    text_body: str | None = Field(default=None, max_length=BODY_LIMIT, description=_TEXT_DOC)
    contact_id: uuid.UUID | None = Field(
        default=None,
        description="The contact to render it for; when left out, a sample contact (Ada "
        "Lovelace of Analytical Engines Ltd)",
    )


_PREVIEW_EXAMPLE: dict[str, Any] = {
    "subject": "Ada, your Analytical Engines Ltd plan",
    "preheader": "What changes on renewal",
    "html": "<p>Hi Ada,</p>",
    "text": "Hi Ada,",
}


class PreviewOut(WireModel):
    """What the contact would receive. In a preview, `unsubscribe_url` and
    `view_in_browser_url` are placeholders; a campaign fills in the real ones."""

    model_config = ConfigDict(json_schema_extra={"examples": [_PREVIEW_EXAMPLE]})

    subject: str = Field(examples=[_PREVIEW_EXAMPLE["subject"]])
    preheader: str | None = Field(examples=[_PREVIEW_EXAMPLE["preheader"]])
    html: str = Field(
        description="Sanitised, with the preheader as a hidden first element",
        examples=[_PREVIEW_EXAMPLE["html"]],
    )
    text: str = Field(description="The plain-text part", examples=[_PREVIEW_EXAMPLE["text"]])


class TestSendRequest(InputModel):
    """Whom to send a test to (at most 10 addresses), rendered for which contact (by
    default a sample one)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"emails": ["me@acme.example"]}]})

    emails: list[str] = Field(min_length=1, max_length=10)
    contact_id: uuid.UUID | None = Field(
        default=None, description="Render the merge tags for this contact"
    )


class TestSendOut(WireModel):
    emails: list[str] = Field(description="The addresses the test went to")
    subject: str


class TemplateTestSend(TestSendRequest):
    """A test of the template: to whom, rendered for which contact, sent through which
    connection and from which address."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"emails": ["me@acme.example"], "fromName": "Acme"}]}
    )

    connection_id: uuid.UUID | None = Field(
        default=None,
        description="By default the workspace's first connection; with none, the local maildir",
    )
    from_address: str | None = Field(
        default=None, max_length=320, description="By default the connection's address"
    )
    from_name: str | None = Field(default=None, max_length=200)
