"""Email campaigns: drafts, scheduled sending through durable jobs, recipients."""

from rapport.auth.scopes import Scope
from rapport.campaigns import query_fields
from rapport.campaigns.pages import pages
from rapport.campaigns.routes import router
from rapport.kit.manifest import Manifest, Sample, SampleRequest

MANIFEST = Manifest(
    name="campaigns",
    routers=(router,),
    pages=(pages,),
    event_types={
        "campaign.created": "A campaign was created (or duplicated) as a draft",
        "campaign.updated": "A draft campaign changed",
        "campaign.deleted": "A campaign was deleted",
        "campaign.scheduled": "A campaign was scheduled to send (`record.scheduledAt`)",
        "campaign.started": "A campaign's audience was frozen and sending began",
        "campaign.paused": "A campaign paused (`record.statusReason` when sending failed)",
        "campaign.resumed": "A paused campaign resumed",
        "campaign.cancelled": "A campaign was cancelled",
        "campaign.sent": "Every recipient of a campaign was handled",
        "campaign.failed": "A campaign could not start (`record.statusReason`)",
        "email.sent": "A campaign message's mail server accepted it (`campaignId`, `contactId`)",
        "email.failed": "A campaign message was refused by its mail server (`reason`)",
        "email.unsubscribed": "A recipient unsubscribed through a campaign's link",
        "email.opened": "A campaign message was opened (its image loaded; `first` for the "
        "recipient's first open)",
        "email.clicked": "A link of a campaign message was followed (`url`, `first`)",
        "email.bounced": "A campaign message bounced (`bounceType` hard or soft, `reason`)",
        "email.complained": "A recipient marked a campaign message as spam",
    },
    task_modules=("rapport.campaigns.tasks",),
    query_fields={"contact": query_fields.provide},
    scopes=(Scope.CRM_CAMPAIGNS,),
    samples=(
        Sample(
            "campaign_id",
            (
                SampleRequest(
                    "POST",
                    "/campaigns",
                    {
                        "name": "acme secret campaign",
                        "subject": "acme secret offer",
                        "htmlBody": "<p>acme secret offer</p>",
                        "fromAddress": "secret.news@acme.example",
                        "audience": {"filter": "email exists"},
                    },
                ),
            ),
        ),
    ),
)
