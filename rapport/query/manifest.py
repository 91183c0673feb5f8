"""The query language over HTTP."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest
from rapport.query.routes import filter_router, router

MANIFEST = Manifest(name="query", routers=(router, filter_router), scopes=(Scope.CRM_READ,))
