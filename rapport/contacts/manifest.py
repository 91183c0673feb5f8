"""Contacts: create, upsert, read, update, delete, search, resolve."""

from rapport.auth.scopes import Scope
from rapport.contacts import query_fields
from rapport.contacts.routes import router
from rapport.kit.manifest import Manifest, Sample, SampleRequest

MANIFEST = Manifest(
    name="contacts",
    routers=(router,),
    event_types={
        "contact.created": "A contact was created",
        "contact.updated": "A contact changed; `data.changes` has each field before and after",
        "contact.deleted": "A contact was deleted, by DELETE or by PATCH to status DELETED "
        "(then with `data.changes`); a soft delete: it stays readable",
    },
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE),
    query_fields={"contact": query_fields.provide},
    samples=(
        Sample(
            "ref",
            (
                SampleRequest(
                    "POST",
                    "/contacts",
                    {"email": "secret.person@acme.example", "externalId": "acme-secret-1"},
                ),
            ),
            aliases=("secret.person@acme.example", "acme-secret-1"),
        ),
    ),
)
