"""Jobs over the API: a workspace sees its own jobs, dead letters, and can retry them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import update

from rapport.kit.db import Database
from rapport.models import Job, JobState
from rapport.worker.queue import enqueue
from tests.helpers import EVERY_WORKSPACE, Workspace, add_key, assert_error, snapshot

JOBS = "/api/v1/jobs"


async def dead_job(database: Database, tenant_id: uuid.UUID | None) -> uuid.UUID:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "maintenance.purge", {"n": 1}, tenant_id=tenant_id)
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state=JobState.DEAD, attempts=3, last_error="RuntimeError: receiver down")
        )
    return job_id


async def listing(client: httpx.AsyncClient, ws: Workspace, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(JOBS, params=params, headers=ws.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_dead_letters_are_listed_with_their_error(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    job_id = await dead_job(database, workspace.id)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await enqueue(session, "maintenance.purge", tenant_id=workspace.id)
    dead = await listing(client, workspace, state="dead")
    assert [j["id"] for j in dead] == [str(job_id)]
    assert dead[0]["lastError"] == "RuntimeError: receiver down"
    assert dead[0]["attempts"] == 3
    assert len(await listing(client, workspace)) == 2
    one = await client.get(f"{JOBS}/{job_id}", headers=workspace.headers)
    assert one.json()["data"] == dead[0]


async def test_retry_queues_a_dead_job_with_fresh_attempts(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    job_id = await dead_job(database, workspace.id)
    response = await client.post(f"{JOBS}/{job_id}/retry", headers=workspace.headers)
    assert response.status_code == 200
    assert (response.json()["data"]["state"], response.json()["data"]["attempts"]) == ("queued", 0)
    before = await snapshot(database)
    again = await client.post(f"{JOBS}/{job_id}/retry", headers=workspace.headers)
    assert_error(again, 409, "JOB_NOT_DEAD")
    assert await snapshot(database) == before


async def test_platform_and_other_workspaces_jobs_are_invisible(
    client: httpx.AsyncClient, database: Database, workspace: Workspace, other_workspace: Workspace
) -> None:
    platform = await dead_job(database, None)
    theirs = await dead_job(database, other_workspace.id)
    assert await listing(client, workspace) == []
    for job_id in (platform, theirs):
        response = await client.get(f"{JOBS}/{job_id}", headers=workspace.headers)
        assert_error(response, 404, "NOT_FOUND")


async def test_jobs_need_crm_admin(
    client: httpx.AsyncClient, database: Database, workspace: Workspace
) -> None:
    job_id = await dead_job(database, workspace.id)
    reader = await add_key(database, workspace, ["crm:read", "crm:write"])
    before = await snapshot(database)
    for response in (
        await client.get(JOBS, headers=reader),
        await client.post(f"{JOBS}/{job_id}/retry", headers=reader),
    ):
        error = assert_error(response, 403, "FORBIDDEN")
        assert "crm:admin" in error["message"]
    assert await snapshot(database) == before
