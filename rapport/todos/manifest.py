"""Tasks."""

from rapport.auth.scopes import Scope
from rapport.kit.manifest import Manifest, Sample, SampleRequest
from rapport.todos.routes import router

MANIFEST = Manifest(
    name="todos",
    routers=(router,),
    event_types={
        "task.created": "A task was created",
        "task.updated": "A task changed (status, due date, assignee...)",
        "task.deleted": "A task was deleted",
    },
    scopes=(Scope.CRM_READ, Scope.CRM_WRITE),
    samples=(Sample("task_id", (SampleRequest("POST", "/tasks", {"title": "acme secret task"}),)),),
)
