"""Email consent: a status per contact, recorded over the API or confirmed by the person."""

from rapport.auth.scopes import Scope
from rapport.consent import query_fields
from rapport.consent.pages import pages
from rapport.consent.routes import router
from rapport.kit.manifest import Manifest

MANIFEST = Manifest(
    name="consent",
    routers=(router,),
    pages=(pages,),
    event_types={
        "contact.email_consent_changed": "A contact's email consent changed (`status`, "
        "`previousStatus`, `source`; `confirmed: true` when the person confirmed through the "
        "double opt-in link)",
    },
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE),
    query_fields={"contact": query_fields.provide},
)
