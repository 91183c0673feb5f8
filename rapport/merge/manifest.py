"""Merging contacts (writes contacts, company memberships, tags, activities, tasks,
and sync links through the sync service)."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest
from rapport.merge.routes import router

MANIFEST = Manifest(
    name="merge",
    routers=(router,),
    event_types={
        "contact.merged": "Another contact was merged into this one (`data.winnerId`, "
        "`data.loserId`, `data.moved` counts, `data.changes` for the fields filled in)",
    },
    scopes=(Scope.CRM_ADMIN,),
)
