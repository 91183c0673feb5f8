"""The context a piece of work runs in: which workspace, who acts, with which session. A request
gets one from the auth dependency, a job from the worker; services are built from it alone."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.clock import utcnow
from rapport.kit.tenant_guard import bind_workspace


@dataclass(frozen=True)
class Actor:
    """Who caused a change: an API key, a user, or the system itself (command line, jobs)."""

    type: str
    id: uuid.UUID | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    workspace_id: uuid.UUID
    workspace_settings: Mapping[str, Any] = field(default_factory=dict)
    actor: Actor = field(default_factory=Actor.system)
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def bound(
        cls,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        workspace_settings: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> Context:
        """A context whose session is bound to the workspace (see `kit.tenant_guard`)."""
        bind_workspace(session, workspace_id)
        return cls(session, workspace_id, workspace_settings or {}, actor or Actor.system())
