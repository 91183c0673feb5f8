"""Tags, and tags on contacts and companies."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.tags import query_fields
from rapport.tags.routes import router

MANIFEST = Manifest(
    name="tags",
    routers=(router,),
    query_fields={"contact": query_fields.of_contacts, "company": query_fields.of_companies},
    event_types={
        "tag.created": "A tag was created",
        "tag.updated": "A tag changed",
        "tag.deleted": "A tag was deleted (and taken off everything it was on)",
        "contact.tagged": "A tag was put on a contact (`data.tag`)",
        "contact.untagged": "A tag was taken off a contact (`data.tag`)",
        "company.tagged": "A tag was put on a company (`data.tag`)",
        "company.untagged": "A tag was taken off a company (`data.tag`)",
    },
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE),
    samples=(
        Sample(
            "tag_id",
            (
                SampleRequest("POST", "/tags", {"key": "acme-secret-tag", "name": "Secret"}),
                SampleRequest("POST", "/contacts/{ref}/tags", {"tagId": "{tag_id}"}),
                SampleRequest("POST", "/companies/{company_ref}/tags", {"tagId": "{tag_id}"}),
            ),
        ),
    ),
)
