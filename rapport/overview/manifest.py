"""Views of one contact across domains (reads companies, tags, activities, tasks
and events)."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest
from rapport.overview.routes import router

MANIFEST = Manifest(name="overview", routers=(router,), scopes=(Scope.CRM_READ,))
