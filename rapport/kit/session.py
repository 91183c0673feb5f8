"""The request's database session: one per request, committed once before the response is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from rapport.kit.db import Database


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    async with database.transaction(read_only=request.method in ("GET", "HEAD")) as session:
        yield session


# scope="function": the commit runs before the response starts, so a failed commit still
# becomes an error response and a client never sees 2xx for work that was not stored.
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
