"""The dashboard: figures read from sales, activities, tasks, contacts and companies through
their services."""

from rapport.auth.scopes import Scope
from rapport.dashboard.routes import router
from rapport.kit.manifest import Manifest

MANIFEST = Manifest(name="dashboard", routers=(router,), scopes=(Scope.CRM_READ,))
