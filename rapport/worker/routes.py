"""HTTP routes of a workspace's background jobs (dead letters included)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.models.jobs import JobState
from rapport.worker.deps import Jobs
from rapport.worker.repository import JobRepository
from rapport.worker.schemas import JobOut

router = api_router(prefix="/jobs", tags=["Jobs"])


@router.get("", summary="List the workspace's jobs; state=dead lists the dead letters")
async def list_jobs(
    jobs: Jobs,
    page: Annotated[PageRequest, Depends(Pagination(JobRepository.sort_columns))],
    state: JobState | None = None,
    task: Annotated[str | None, Query(max_length=100)] = None,
) -> ListEnvelope[JobOut]:
    rows, meta = await jobs.list(state, task, page)
    return ListEnvelope(data=[JobOut.model_validate(r) for r in rows], meta=meta)


@router.get("/{job_id}", summary="One job, with its last error")
async def get_job(job_id: uuid.UUID, jobs: Jobs) -> Envelope[JobOut]:
    return Envelope(data=JobOut.model_validate(await jobs.get(job_id)))


@router.post(
    "/{job_id}/retry",
    summary="Queue a dead job again, with a fresh set of attempts",
    responses=documented_errors({409: "The job is not dead (JOB_NOT_DEAD)"}),
)
async def retry_job(job_id: uuid.UUID, jobs: Jobs) -> Envelope[JobOut]:
    job = await jobs.retry(job_id)
    return Envelope(data=JobOut.model_validate(job))
