"""Who is calling: an API key or a user, always acting inside exactly one workspace."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapport.kit.context import Actor


@dataclass(frozen=True)
class Principal:
    tenant_id: uuid.UUID
    scopes: frozenset[str]
    api_key_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    expires_at: datetime | None = None
    tenant_settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rate_limits(self) -> Mapping[str, str]:
        limits: Mapping[str, str] = self.tenant_settings.get("rateLimits") or {}
        return limits

    @property
    def kind(self) -> str:
        return "api_key" if self.api_key_id else "user"

    @property
    def actor_id(self) -> uuid.UUID:
        actor = self.api_key_id or self.user_id
        assert actor is not None
        return actor

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, self.actor_id)

    @property
    def rate_identity(self) -> str:
        return f"{self.kind}:{self.actor_id}:{self.tenant_id}"
