"""`/healthz` (the process answers) and `/readyz` (the database answers too)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from rapport.kit.db import Database
from rapport.kit.envelope import JsonResponse
from rapport.kit.session import operation_id

router = APIRouter(tags=["Health"], generate_unique_id_function=operation_id)


class HealthOut(BaseModel):
    status: str
    database: str | None = None


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> HealthOut:
    """Answers 200 as long as the process serves requests; touches nothing else. Needs no
    credentials: for load balancers and process supervisors."""
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database is reachable",
    responses={503: {"model": HealthOut, "description": "The database does not answer"}},
    response_model=HealthOut,
)
async def readyz(request: Request) -> HealthOut | JsonResponse:
    """200 with the database dialect when a `SELECT 1` succeeds, else 503: route traffic to
    this instance only while it is ready. Needs no credentials."""
    database: Database = request.app.state.database
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return JsonResponse(
            {"status": "unavailable", "database": database.dialect}, status_code=503
        )
    return HealthOut(status="ok", database=database.dialect)
