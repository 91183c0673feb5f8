"""The workspace of the credential: read it, rename it, change its settings."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest
from rapport.tenancy.routes import router

MANIFEST = Manifest(name="tenancy", routers=(router,), scopes=(Scope.CRM_READ, Scope.CRM_ADMIN))
