"""Email templates: content with merge tags, rendered per recipient in a sandbox."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.templates.routes import router

MANIFEST = Manifest(
    name="templates",
    routers=(router,),
    event_types={
        "template.created": "An email template was created (the record leaves out its bodies)",
        "template.updated": "An email template changed (`changedFields` lists the fields that "
        "did, bodies included; the record leaves the bodies out)",
        "template.deleted": "An email template was deleted",
    },
    scopes=(Scope.CRM_CAMPAIGNS,),
    samples=(
        Sample(
            "template_id",
            (
                SampleRequest(
                    "POST",
                    "/templates",
                    {
                        "name": "acme secret template",
                        "subject": "acme secret offer for {{ contact.givenName }}",
                        "htmlBody": "<p>acme secret offer</p>",
                    },
                ),
            ),
        ),
    ),
)
