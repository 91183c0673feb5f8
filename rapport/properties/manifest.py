"""Custom property definitions."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.models.properties import PropertyEntity
from rapport.properties.query_fields import provider
from rapport.properties.routes import router

MANIFEST = Manifest(
    name="properties",
    routers=(router,),
    query_fields={
        "contact": provider(PropertyEntity.CONTACT),
        "company": provider(PropertyEntity.COMPANY),
        "lead": provider(PropertyEntity.LEAD),
    },
    event_types={
        "property.created": "A custom property was defined",
        "property.updated": "A custom property definition changed",
        "property.archived": "A custom property was archived (its values are kept)",
    },
    scopes=(Scope.CRM_READ, Scope.CRM_ADMIN),
    samples=(
        Sample(
            "property_id",
            (
                SampleRequest(
                    "POST",
                    "/properties",
                    {"key": "acme_secret", "entity": "CONTACT", "label": "Secret", "type": "TEXT"},
                ),
            ),
        ),
    ),
)
