"""The event log."""

from rapport.auth.scopes import Scope
from rapport.events.routes import router
from rapport.kit.manifest import Manifest, Sample, SampleRequest

MANIFEST = Manifest(
    name="events",
    routers=(router,),
    scopes=(Scope.CRM_READ,),
    samples=(Sample("event_id", (SampleRequest("GET", "/events?take=1"),), value_at="data.0.id"),),
)
