"""Wire shapes of a merge."""

from __future__ import annotations

import uuid

from pydantic import ConfigDict, Field

from rapport.kit.schemas import InputModel


class MergeRequest(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"loserId": "01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"}]}
    )

    loser_id: uuid.UUID = Field(
        description="The id of the contact absorbed by the one in the path; it stays as "
        "MERGED. It may be a deleted contact, not one already merged.",
        examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"],
    )
