"""HTTP routes of a workspace's background jobs (dead letters included)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.models.jobs import JobState
from rapport.worker.deps import Jobs
from rapport.worker.repository import JobRepository
from rapport.worker.schemas import JobOut

router = api_router(prefix="/jobs", tags=["Jobs"])

JobId = Annotated[uuid.UUID, Path(description="The job's id")]


@router.get("", summary="List the workspace's jobs; state=dead lists the dead letters")
async def list_jobs(
    jobs: Jobs,
    page: Annotated[PageRequest, Depends(Pagination(JobRepository.sort_columns))],
    state: Annotated[
        JobState | None,
        Query(
            description="Only jobs in this state (queued, running, succeeded, dead); `dead` "
            "lists the dead letters"
        ),
    ] = None,
    task: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Only jobs of this task, by its exact name (`webhooks.deliver`)",
        ),
    ] = None,
) -> ListEnvelope[JobOut]:
    """The workspace's background jobs, newest first by default; the platform's own
    housekeeping jobs are never listed.

    A job is `queued` (until its `runAt`), `running`, then `succeeded` or `dead`. A failed run
    is retried with exponential backoff until `maxAttempts` runs have failed (a failure no
    retry can fix ends it at once); the job is then dead, and kept with its `lastError` until
    someone retries it. Succeeded jobs are deleted
    after 7 days. A webhook receiver's failures are in the webhook's delivery log, not here:
    a `webhooks.deliver` job fails only on Rapport's own errors. Needs the crm:admin scope.
    """
    rows, meta = await jobs.list(state, task, page)
    return ListEnvelope(data=[JobOut.model_validate(r) for r in rows], meta=meta)


@router.get("/{job_id}", summary="One job, with its last error")
async def get_job(job_id: JobId, jobs: Jobs) -> Envelope[JobOut]:
    """One job of the workspace with its payload, its attempts so far and the error of its
    last failed run (`lastError`, cleared when it succeeds). Needs the crm:admin scope."""
    return Envelope(data=JobOut.model_validate(await jobs.get(job_id)))


@router.post(
    "/{job_id}/retry",
    summary="Queue a dead job again, with a fresh set of attempts",
    responses=documented_errors({409: "The job is not dead (JOB_NOT_DEAD)"}),
)
async def retry_job(job_id: JobId, jobs: Jobs) -> Envelope[JobOut]:
    """Queues a dead job again to run now, with its attempt count reset to zero, so it gets
    its task's whole set of attempts again (`lastError` stays until a run succeeds). Only a
    dead job can be retried; any other state answers 409 JOB_NOT_DEAD. Needs the crm:admin
    scope."""
    job = await jobs.retry(job_id)
    return Envelope(data=JobOut.model_validate(job))
