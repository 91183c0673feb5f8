"""Email template rules: names unique in the workspace, content that compiles before it is
stored, previews rendered for a contact of the workspace (or a sample one)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pydantic.alias_generators import to_camel

from rapport.companies.schemas import CompanyOut
from rapport.companies.service import MembershipService
from rapport.config import Settings
from rapport.contacts.schemas import ContactOut
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder, changes_between
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import NotFound, field_error
from rapport.kit.normalize import clean, not_blank
from rapport.kit.pagination import PageRequest
from rapport.mail.compose import ascii_address, header_address
from rapport.mail.service import ConnectionService, Letter, local_sender
from rapport.mail.transport import maildir_of
from rapport.models.templates import EmailTemplate
from rapport.templates.render import CompiledContent, Parts, Rendered, merge_variables
from rapport.templates.repository import EmailTemplateRepository, name_taken
from rapport.templates.schemas import (
    DraftPreviewRequest,
    TemplateCreate,
    TemplateOut,
    TemplateTestSend,
    TemplateUpdate,
    TestSendOut,
    TestSendRequest,
)

if TYPE_CHECKING:
    # Only a type: connections are read through ConnectionService.
    from rapport.models.mail import OutboundEmailConnection

PREVIEW_UNSUBSCRIBE_URL = "https://example.com/unsubscribe/preview"
PREVIEW_VIEW_URL = "https://example.com/view/preview"
"""What `unsubscribe_url` and `view_in_browser_url` are in a preview (a campaign gives each
recipient its own)."""

SAMPLE_CONTACT: dict[str, Any] = {
    "id": "00000000-0000-7000-8000-000000000000",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "givenName": "Ada",
    "familyName": "Lovelace",
    "phone": "+442071234567",
    "externalId": None,
    "status": "ACTIVE",
    "lifecycleStage": "CUSTOMER",
    "ownerUserId": None,
    "properties": {"plan": "Enterprise", "city": "London"},
    "isIdentified": True,
    "lastActivityAt": None,
    "mergedIntoId": None,
    "createdAt": "2026-11-23T09:30:00Z",
    "updatedAt": "2026-11-23T09:30:00Z",
}
SAMPLE_COMPANY: dict[str, Any] = {
    "id": "00000000-0000-7000-8000-000000000001",
    "name": "Analytical Engines Ltd",
    "domain": "analytical-engines.example",
    "externalId": None,
    "industry": "Computing",
    "size": "11-50",
    "plan": "Enterprise",
    "website": "https://analytical-engines.example",
    "phone": None,
    "role": "CUSTOMER",
    "status": "active",
    "ownerUserId": None,
    "properties": {},
    "createdAt": "2026-11-23T09:30:00Z",
    "updatedAt": "2026-11-23T09:30:00Z",
}
"""Whom an unsaved template is previewed for when no contact is named."""

_CONTENT = ("subject", "preheader", "html_body", "text_body")
_BODIES = {"html_body", "text_body"}


def parts_of(template: EmailTemplate) -> Parts:
    return Parts(
        subject=template.subject,
        preheader=template.preheader,
        html=template.html_body,
        text=template.text_body,
    )


def compiled(parts: Parts) -> CompiledContent:
    """The content compiled; 422 naming the field and line of a syntax error."""
    return CompiledContent.compile(parts)


def sample_variables() -> dict[str, Any]:
    """What templates see for the sample contact (and its company), with placeholder
    links: unsaved content's preview, and the trial render that checks content is saved."""
    return merge_variables(
        SAMPLE_CONTACT,
        SAMPLE_COMPANY,
        unsubscribe_url=PREVIEW_UNSUBSCRIBE_URL,
        view_url=PREVIEW_VIEW_URL,
    )


class TemplateService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.session = context.session
        self.repo = EmailTemplateRepository(context.session)
        self.events = EventRecorder(context)

    async def page(self, page: PageRequest) -> tuple[list[EmailTemplate], PageMeta]:
        return await self.repo.page(page)

    async def get(self, template_id: uuid.UUID) -> EmailTemplate:
        template = await self.repo.get(template_id)
        if template is None:
            raise NotFound("Email template not found")
        return template

    async def content(self, template_id: uuid.UUID) -> CompiledContent:
        """The template's content compiled, to render for each recipient."""
        return compiled(parts_of(await self.get(template_id)))

    async def create(self, data: TemplateCreate) -> EmailTemplate:
        """Stored only once every part compiles."""
        name = not_blank(data.name, "name")
        values = _content(data.model_dump(include=set(_CONTENT), by_alias=False))
        compiled(Parts(**_parts_kwargs(values)))
        holder = await self.repo.by_name(name)
        if holder is not None:
            raise name_taken(holder.id)
        template = self.repo.add(EmailTemplate(name=name, **values))
        await self.repo.flush()
        self.events.record(
            "template.created", "template", template.id, {"record": template_record(template)}
        )
        return template

    async def update(self, template_id: uuid.UUID, patch: TemplateUpdate) -> EmailTemplate:
        """Changes the fields sent; the content as it would be must compile."""
        template = await self.get(template_id)
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        for field in sent & {"name", "subject", "html_body"}:
            if getattr(patch, field) is None:
                raise field_error(to_camel(field), "Cannot be null")
        changes: dict[str, Any] = _content(
            {field: getattr(patch, field) for field in sent if field in _CONTENT}
        )
        if "name" in sent:
            changes["name"] = not_blank(patch.name, "name")
        changes = {k: v for k, v in changes.items() if getattr(template, k) != v}
        if not changes:
            return template
        after = {field: changes.get(field, getattr(template, field)) for field in _CONTENT}
        compiled(Parts(**_parts_kwargs(after)))
        if "name" in changes:
            holder = await self.repo.by_name(changes["name"], exclude_id=template.id)
            if holder is not None:
                raise name_taken(holder.id)
        before = template_record(template)
        for field, value in changes.items():
            setattr(template, field, value)
        await self.repo.flush()
        record = template_record(template)
        self.events.record(
            "template.updated",
            "template",
            template.id,
            {
                "record": record,
                "changes": changes_between(before, record),
                "changedFields": sorted(to_camel(field) for field in changes),
            },
        )
        return template

    async def delete(self, template_id: uuid.UUID) -> None:
        template = await self.get(template_id)
        record = template_record(template)
        await self.session.delete(template)
        await self.repo.flush()
        self.events.record("template.deleted", "template", template_id, {"record": record})

    async def preview(self, template_id: uuid.UUID, contact_id: uuid.UUID) -> Rendered:
        """The saved template rendered for the contact (404 if it is not in the workspace)."""
        content = await self.content(template_id)
        return content.render(await self.variables_for(contact_id))

    async def preview_draft(self, data: DraftPreviewRequest) -> Rendered:
        """Unsaved content rendered for the contact named, else for the sample contact."""
        values = _content(data.model_dump(include=set(_CONTENT), by_alias=False))
        content = compiled(Parts(**_parts_kwargs(values)))
        if data.contact_id is None:
            variables = sample_variables()
        else:
            variables = await self.variables_for(data.contact_id)
        return content.render(variables)

    async def send_test(
        self, template_id: uuid.UUID, data: TemplateTestSend, settings: Settings
    ) -> TestSendOut:
        """The template sent as a test (`TestSender`) through the connection named, else the
        workspace's first, else into the local maildir."""
        content = await self.content(template_id)
        sender = TestSender(self.context, settings)
        connection = await sender.connections.pick(data.connection_id)
        return await sender.send(
            content,
            data,
            connection,
            from_address=data.from_address,
            from_name=data.from_name,
        )

    async def variables_for(
        self,
        contact_id: uuid.UUID,
        *,
        unsubscribe_url: str = PREVIEW_UNSUBSCRIBE_URL,
        view_url: str = PREVIEW_VIEW_URL,
    ) -> dict[str, Any]:
        """What templates see for this contact: the contact and its primary company as the
        API shows them (404 if the contact is not in the workspace)."""
        contact = await ContactService(self.context).get(str(contact_id))
        company = await MembershipService(self.context).primary_company(contact.id)
        return merge_variables(
            ContactOut.model_validate(contact).model_dump(mode="json"),
            None if company is None else CompanyOut.model_validate(company).model_dump(mode="json"),
            unsubscribe_url=unsubscribe_url,
            view_url=view_url,
        )


def _content(values: dict[str, Any]) -> dict[str, Any]:
    """Subject and HTML body must have something in them; a blank preheader is none; a text
    body, if sent, must have something in it (null derives it from the HTML)."""
    if "subject" in values:
        values["subject"] = not_blank(values["subject"], "subject")
    if "html_body" in values:
        values["html_body"] = not_blank(values["html_body"], "htmlBody")
    if "preheader" in values:
        values["preheader"] = clean(values["preheader"])
    if values.get("text_body") is not None and not values["text_body"].strip():
        raise field_error("textBody", "Cannot be blank (null derives it from the HTML)")
    return values


def _parts_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": values["subject"],
        "preheader": values.get("preheader"),
        "html": values["html_body"],
        "text": values.get("text_body"),
    }


def template_record(template: EmailTemplate) -> dict[str, Any]:
    """The template as its events carry it: without its bodies, which GET shows."""
    return TemplateOut.model_validate(template).model_dump(mode="json", exclude=_BODIES)


class TestSender:
    """Test sends: content rendered for a contact (or the sample one), its subject marked
    [Test], sent at once to a few addresses; nothing recorded, links are placeholders."""

    def __init__(self, context: Context, settings: Settings) -> None:
        self.context = context
        self.settings = settings
        self.connections = ConnectionService(
            context,
            allow_private=settings.allow_private_smtp,
            secret_key=settings.resolved_secret_key(),
        )

    async def send(
        self,
        content: CompiledContent,
        data: TestSendRequest,
        connection: OutboundEmailConnection | None,
        *,
        from_address: str | None,
        from_name: str | None = None,
        reply_to: str | None = None,
    ) -> TestSendOut:
        addresses = []
        for index, email in enumerate(data.emails):
            try:
                addresses.append(ascii_address(email))
            except ValueError as exc:
                raise field_error(f"emails[{index}]", str(exc)) from exc
        sender = from_address or (
            connection.from_address
            if connection
            else local_sender(self.settings.resolved_public_url)
        )
        try:
            header_address(ascii_address(sender), from_name)
        except ValueError as exc:
            raise field_error("fromAddress", str(exc)) from exc
        variables = (
            sample_variables()
            if data.contact_id is None
            else await TemplateService(self.context).variables_for(data.contact_id)
        )
        rendered = content.render(variables)
        subject = f"[Test] {rendered.subject}"
        letter = Letter(
            subject=subject,
            html=rendered.html,
            text=rendered.text,
            from_address=sender,
            from_name=from_name if from_address else (connection.from_name if connection else None),
            reply_to=reply_to,
        )
        maildir = maildir_of(self.settings.data_dir, self.context.workspace_id)
        await self.connections.send_now(connection, maildir, addresses, letter)
        return TestSendOut(emails=addresses, subject=subject)
