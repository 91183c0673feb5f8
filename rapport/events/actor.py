"""Who caused a change: an API key, a user, or the system itself (command line, jobs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    type: str
    id: uuid.UUID | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")
