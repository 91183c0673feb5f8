"""Exports of contacts, companies and leads."""

from rapport.auth.scopes import Scope
from rapport.exports.routes import router
from rapport.kit.manifest import Manifest, Sample, SampleRequest

MANIFEST = Manifest(
    name="exports",
    routers=(router,),
    task_modules=("rapport.exports.tasks",),
    scopes=(Scope.CRM_READ, Scope.CRM_IMPORT),
    samples=(
        Sample(
            "export_id",
            (
                SampleRequest(
                    "POST",
                    "/exports",
                    {"entity": "contact", "columns": ["email", "name"], "format": "jsonl"},
                ),
            ),
        ),
    ),
)
