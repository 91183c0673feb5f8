"""Companies, and the memberships of contacts in them."""

from rapport.auth.scopes import Scope
from rapport.companies import query_fields
from rapport.companies.routes import router
from rapport.kit.manifest import Manifest, Sample, SampleRequest

MANIFEST = Manifest(
    name="companies",
    routers=(router,),
    event_types={
        "company.created": "A company was created",
        "company.updated": "A company changed; `data.changes` has each field before and after",
        "company.deleted": "A company was deleted (with its memberships)",
        "company_membership.created": "A contact was linked to a company",
        "company_membership.updated": "A contact's role or primary company changed",
        "company_membership.deleted": "A contact was unlinked from a company",
    },
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE),
    query_fields={"company": query_fields.of_companies, "contact": query_fields.of_contacts},
    samples=(
        Sample(
            "company_ref",
            (
                SampleRequest(
                    "POST",
                    "/companies",
                    {
                        "name": "Acme Secret Corp",
                        "domain": "acme-secret.example",
                        "externalId": "cmp-1",
                    },
                ),
            ),
            aliases=("cmp-1",),
        ),
        Sample("company_id", (SampleRequest("GET", "/companies/{company_ref}"),)),
        Sample(
            "membership_id",
            (
                SampleRequest(
                    "POST",
                    "/contacts/{ref}/company-memberships",
                    {"companyId": "{company_id}", "role": "CTO"},
                ),
            ),
        ),
    ),
)
