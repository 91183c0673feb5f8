"""HTTP routes of email templates and their previews."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Response

from rapport.auth.dependencies import ServerSettings
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.templates.deps import Templates
from rapport.templates.render import Rendered
from rapport.templates.repository import EmailTemplateRepository
from rapport.templates.schemas import (
    DraftPreviewRequest,
    PreviewOut,
    PreviewRequest,
    TemplateCreate,
    TemplateOut,
    TemplateTestSend,
    TemplateUpdate,
    TestSendOut,
)

router = api_router(tags=["Email templates"])

TemplateId = Annotated[uuid.UUID, Path(description="The email template's id")]

_TEMPLATE_404 = documented_errors({404: "No such email template in this workspace"})
_NAME_TAKEN = documented_errors({409: "Another template has this name (TEMPLATE_NAME_EXISTS)"})
_INVALID = documented_errors(
    {422: "A field is invalid, or a part does not compile: `details[]` names the field and line"}
)
_RENDER = documented_errors(
    {422: "A part does not compile, or fails to render: `details[]` names the field and line"}
)
_PREVIEW_404 = documented_errors(
    {404: "No such email template, or no such contact, in this workspace"}
)
_CONTACT_404 = documented_errors({404: "No such contact in this workspace"})


def _preview(rendered: Rendered) -> Envelope[PreviewOut]:
    return Envelope(
        data=PreviewOut(
            subject=rendered.subject,
            preheader=rendered.preheader,
            html=rendered.html,
            text=rendered.text,
        )
    )


@router.get("/templates", summary="List email templates")
async def list_templates(
    templates: Templates,
    page: Annotated[PageRequest, Depends(Pagination(EmailTemplateRepository.sort_columns))],
) -> ListEnvelope[TemplateOut]:
    """The workspace's email templates, newest first by default. Needs the crm:campaigns
    scope."""
    rows, meta = await templates.page(page)
    return ListEnvelope(data=[TemplateOut.model_validate(t) for t in rows], meta=meta)


@router.post(
    "/templates",
    status_code=201,
    summary="Create an email template (its merge tags are checked first)",
    responses={**_NAME_TAKEN, **_INVALID},
)
async def create_template(
    body: TemplateCreate, templates: Templates, response: Response
) -> Envelope[TemplateOut]:
    """Saves a subject, an optional preheader, an HTML body and an optional text body, each a
    template with merge tags (`{{ contact.givenName | default("there") }}`,
    `{{ company.name }}`, `{{ contact.properties.plan }}`, `{{ unsubscribe_url }}`; see
    docs/campaigns.md). Every part is compiled first: a syntax error is answered with 422
    naming the field (`subject`, `preheader`, `htmlBody` or `textBody`) and the line in
    `details[]`, and nothing is stored. Names are unique in the workspace (409
    TEMPLATE_NAME_EXISTS). Needs the crm:campaigns scope; emits `template.created`."""
    template = await templates.create(body)
    response.headers["Location"] = f"/api/v1/templates/{template.id}"
    return Envelope(data=TemplateOut.model_validate(template))


@router.post(
    "/templates/preview",
    summary="Render unsaved template content for a contact, or a sample contact",
    responses={**_CONTACT_404, **_RENDER},
)
async def preview_draft_template(
    body: DraftPreviewRequest, templates: Templates
) -> Envelope[PreviewOut]:
    """Renders content that is not saved (an editor's) as `contactId` would receive it, or,
    without `contactId`, as a sample contact would (Ada Lovelace of Analytical Engines Ltd,
    with the custom properties `plan` and `city`). Stores nothing. The HTML comes back
    sanitised with the preheader as a hidden first element, and the text part derived from it
    when no `textBody` is given. `unsubscribe_url` and `view_in_browser_url` are placeholders
    in a preview. A part that does not compile or fails to render is answered with 422 naming
    the field and line. A POST, so it counts against the write rate limit. Needs the
    crm:campaigns scope."""
    return _preview(await templates.preview_draft(body))


@router.get(
    "/templates/{template_id}",
    summary="One email template",
    responses=_TEMPLATE_404,
)
async def get_template(template_id: TemplateId, templates: Templates) -> Envelope[TemplateOut]:
    """One email template of the workspace, with its bodies. Needs the crm:campaigns
    scope."""
    return Envelope(data=TemplateOut.model_validate(await templates.get(template_id)))


@router.patch(
    "/templates/{template_id}",
    summary="Change an email template (its merge tags are checked first)",
    responses={**_TEMPLATE_404, **_NAME_TAKEN, **_INVALID},
)
async def update_template(
    template_id: TemplateId, body: TemplateUpdate, templates: Templates
) -> Envelope[TemplateOut]:
    """Changes the fields sent; `preheader` and `textBody` may be null (which clears them;
    without a text body the text part is derived from the rendered HTML). The content as it
    would be is compiled first: a syntax error is answered with 422 naming the field and the
    line, and nothing changes. A body that changes nothing is answered with the template as it
    is. Needs the crm:campaigns scope; emits `template.updated` (`changedFields` lists every
    field that changed; its record leaves out the bodies)."""
    return Envelope(data=TemplateOut.model_validate(await templates.update(template_id, body)))


@router.delete(
    "/templates/{template_id}",
    status_code=204,
    summary="Delete an email template",
    responses=_TEMPLATE_404,
)
async def delete_template(template_id: TemplateId, templates: Templates) -> Response:
    """Deletes the template. Needs the crm:campaigns scope; emits `template.deleted`."""
    await templates.delete(template_id)
    return Response(status_code=204)


@router.post(
    "/templates/{template_id}/test-send",
    summary="Send a test of an email template to a few addresses now",
    responses={
        **_PREVIEW_404,
        **_RENDER,
        **documented_errors(
            {502: "`EMAIL_NOT_SENT`: the mail server did not take it (its reply is in the message)"}
        ),
    },
)
async def test_send_template(
    template_id: TemplateId, body: TemplateTestSend, templates: Templates, settings: ServerSettings
) -> Envelope[TestSendOut]:
    """Renders the template for `contactId` (or a sample contact), marks its subject
    `[Test]` and sends it at once to each address (up to 10): through `connectionId`, else
    the workspace's first outbound email connection, else into the local maildir; from
    `fromAddress`, by default the connection's. Nothing is recorded. Needs crm:campaigns."""
    return Envelope(data=await templates.send_test(template_id, body, settings))


@router.post(
    "/templates/{template_id}/preview",
    summary="Render an email template for one contact",
    responses={**_PREVIEW_404, **_RENDER},
)
async def preview_template(
    template_id: TemplateId, body: PreviewRequest, templates: Templates
) -> Envelope[PreviewOut]:
    """Renders the template as the contact would receive it: `contact` is the contact as the
    API shows it (custom property values in `contact.properties`), `company` its primary
    company. The HTML comes back sanitised with the preheader as a hidden first element, and
    the text part derived from it when the template has no text body; `unsubscribe_url` and
    `view_in_browser_url` are placeholders in a preview. 404 when the template or the contact
    is not in the workspace; 422 naming the field and line when a part fails to render (for
    instance calling something the sandbox forbids). Stores nothing; a POST, so it counts
    against the write rate limit. Needs the crm:campaigns scope."""
    return _preview(await templates.preview(template_id, body.contact_id))
