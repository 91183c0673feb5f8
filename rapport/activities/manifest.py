"""Activities and notes."""

from rapport.activities import query_fields
from rapport.activities.routes import router
from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest

MANIFEST = Manifest(
    name="activities",
    routers=(router,),
    query_fields={"contact": query_fields.of_contacts, "company": query_fields.of_companies},
    event_types={
        "activity.created": "An activity (call, meeting, email, note, tracked event) was logged",
        "activity.updated": "An activity changed",
        "activity.deleted": "An activity was deleted",
    },
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE),
    samples=(
        Sample(
            "activity_id",
            (
                SampleRequest(
                    "POST",
                    "/contacts/{ref}/activities",
                    {"type": "CALL", "content": "acme secret call"},
                ),
            ),
        ),
        Sample(
            "note_id",
            (SampleRequest("POST", "/contacts/{ref}/notes", {"content": "acme secret note"}),),
        ),
    ),
)
