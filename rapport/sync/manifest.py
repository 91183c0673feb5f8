"""Where contacts live in other systems."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.sync.routes import router

MANIFEST = Manifest(
    name="sync",
    routers=(router,),
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE),
    samples=(
        Sample(
            "integration_key",
            (
                SampleRequest(
                    "PUT",
                    "/contacts/{ref}/sync-status/acme-secret-sync",
                    {"provider": "HUBSPOT", "externalId": "acme-secret-record"},
                ),
            ),
            value_at=None,
            value="acme-secret-sync",
        ),
    ),
)
