"""The workspace's background jobs, and the platform's housekeeping."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.worker.routes import router

MANIFEST = Manifest(
    name="worker",
    routers=(router,),
    task_modules=("rapport.worker.tasks",),
    scopes=(Scope.CRM_ADMIN,),
    samples=(Sample("job_id", (SampleRequest("GET", "/jobs"),), value_at="data.0.id"),),
)
