"""The tasks domain's dependencies: read with crm:read, changed with crm:write."""

from typing import Annotated

from rapport.auth.dependencies import provide
from rapport.auth.scopes import Scope
from rapport.todos.service import TaskService

TasksRead = Annotated[TaskService, provide(TaskService, Scope.CRM_READ)]
TasksWrite = Annotated[TaskService, provide(TaskService, Scope.CRM_WRITE)]
