"""Outbound email: SMTP connections, and emails to contacts sent through them."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.mail.routes import router

MANIFEST = Manifest(
    name="mail",
    routers=(router,),
    event_types={
        "outbound_email_connection.created": "An outbound email (SMTP) connection was added",
        "outbound_email_connection.updated": "An outbound email connection changed "
        "(`passwordChanged: true` when its password did; events never hold it)",
        "outbound_email_connection.deleted": "An outbound email connection was deleted",
        "outbound_email.queued": "An email to a contact was queued for sending",
        "outbound_email.sent": "An email's SMTP server accepted it",
        "outbound_email.failed": "An email could not be sent: its server refused it for good, "
        "or kept refusing until the retries ran out (`record.error` has its reply)",
    },
    task_modules=("rapport.mail.tasks",),
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE, Scope.CRM_ADMIN),
    samples=(
        # Saving a connection logs in to its server: the walk provides one (`smtp_host`,
        # `smtp_port`) that accepts this login.
        Sample(
            "connection_id",
            (
                SampleRequest(
                    "POST",
                    "/outbound-email-connections",
                    {
                        "name": "acme secret mailbox",
                        "host": "{smtp_host}",
                        "port": "{smtp_port}",
                        "tlsMode": "none",
                        "username": "acme-secret-user",
                        "password": "acme-secret-password",
                        "fromAddress": "secret.sales@acme.example",
                    },
                ),
            ),
        ),
        Sample(
            "email_id",
            (
                SampleRequest(
                    "POST",
                    "/outbound-email",
                    {
                        "contactId": "{ref}",
                        "connectionId": "{connection_id}",
                        "subject": "acme secret offer",
                        "htmlBody": "<p>acme secret offer</p>",
                    },
                ),
            ),
        ),
    ),
)
