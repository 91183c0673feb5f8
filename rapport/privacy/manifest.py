"""A person's data: export and erasure (reads and writes contacts, activities, tasks,
companies, tags, leads, lists, sync links, emails, events, webhook deliveries and the
suppression list through their services)."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest
from rapport.privacy.routes import router

MANIFEST = Manifest(
    name="privacy",
    routers=(router,),
    event_types={
        "contact.erased": "A contact was erased with its personal data, for good; the event "
        "carries its id alone (`resourceId`), and the events about it are redacted",
    },
    scopes=(Scope.CRM_ADMIN,),
)
