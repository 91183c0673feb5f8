"""The query language over HTTP."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest
from rapport.query.routes import router

MANIFEST = Manifest(name="query", routers=(router,), scopes=(Scope.CRM_READ,))
