"""The suppression list: addresses a workspace keeps out of every sending."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.suppressions.routes import router

MANIFEST = Manifest(
    name="suppressions",
    routers=(router,),
    event_types={
        "suppression.added": "An address was put on the suppression list (`data.record`)",
        "suppression.removed": "An address was taken off the suppression list (`data.record`)",
    },
    scopes=(Scope.CRM_CAMPAIGNS,),
    samples=(
        Sample(
            "suppression_id",
            (
                SampleRequest(
                    "POST",
                    "/suppressions",
                    {"email": "acme-secret-suppressed@example.com", "source": "acme-secret"},
                ),
            ),
        ),
    ),
)
