"""CSV imports of contacts."""

from rapport.auth.scopes import Scope
from rapport.imports.routes import router
from rapport.kit.manifest import Manifest, Sample, SampleRequest

MANIFEST = Manifest(
    name="imports",
    routers=(router,),
    event_types={"import.completed": "An import read its whole file (with its counts)"},
    task_modules=("rapport.imports.tasks",),
    scopes=(Scope.CRM_WRITE, Scope.CRM_IMPORT),
    samples=(
        Sample(
            "import_id",
            (
                SampleRequest(
                    "POST",
                    "/imports",
                    files={"file": ("people.csv", b"email,name\r\nsam@example.com,Sam\r\n")},
                ),
            ),
        ),
    ),
)
