"""Webhook subscriptions, their deliveries and the delivery log."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.webhooks.routes import router

MANIFEST = Manifest(
    name="webhooks",
    routers=(router,),
    event_types={
        "webhook.created": "A webhook subscription was created",
        "webhook.updated": "A webhook subscription changed (URL, event types, active flag, secret)",
        "webhook.deleted": "A webhook subscription was deleted",
        "webhook.disabled": "Rapport disabled a webhook whose deliveries kept failing",
    },
    task_modules=("rapport.webhooks.tasks",),
    scopes=(Scope.CRM_ADMIN,),
    samples=(
        Sample(
            "webhook_id",
            (
                SampleRequest(
                    "POST",
                    "/webhooks",
                    {"url": "https://93.184.215.14/acme-secret-hook", "eventTypes": ["*"]},
                ),
                # A change after the webhook exists, so that it has a delivery.
                SampleRequest("PATCH", "/contacts/{ref}", {"name": "Zed"}),
            ),
        ),
        Sample(
            "delivery_id",
            (SampleRequest("GET", "/webhooks/{webhook_id}/deliveries"),),
            value_at="data.0.id",
            after_events=True,
        ),
    ),
)
