"""Wire shapes of a merge."""

from __future__ import annotations

import uuid

from pydantic import Field

from rapport.kit.schemas import InputModel


class MergeRequest(InputModel):
    loser_id: uuid.UUID = Field(
        description="The contact absorbed by the one in the path; it stays as MERGED",
        examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"],
    )
