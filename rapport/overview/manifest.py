"""Read views across domains: lists filtered through relations, one contact with its
surroundings (reads companies, tags, activities, tasks and events)."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest
from rapport.overview.routes import companies_router, router

MANIFEST = Manifest(name="overview", routers=(router, companies_router), scopes=(Scope.CRM_READ,))
