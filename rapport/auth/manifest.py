"""The auth domain: logging in, who am I, API keys."""

from rapport.auth.routes import router
from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest

MANIFEST = Manifest(
    name="auth",
    routers=(router,),
    scopes=(Scope.CRM_ADMIN,),
    samples=(
        Sample(
            "key_id",
            (SampleRequest("POST", "/api-keys", {"name": "acme only", "scopes": ["crm:read"]}),),
        ),
    ),
)
