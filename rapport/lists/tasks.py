"""Background work of lists: following the event stream to keep dynamic lists current, and
refreshing the lists whose queries depend on the time.

The consumer reads which contacts and companies each event touched (the record the event is
about, and the `contactId`/`companyId` it carries before and after a change) and queues one
`lists.follow` job per workspace that has dynamic lists, in the consumer's own transaction;
the job evaluates each dynamic list on those records alone. A change whose effect no event
names record by record (a tag or a custom property redefined, a company deleted with its
memberships) queues a rebuild of the workspace's dynamic lists instead.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from rapport.events.stream import consumer
from rapport.kit.clock import utcnow
from rapport.lists.repository import ListRepository
from rapport.lists.service import ListService
from rapport.models.events import Event
from rapport.models.lists import ListEntity
from rapport.worker.queue import enqueue, enqueue_many
from rapport.worker.registry import JobContext, task

FOLLOW_TASK = "lists.follow"
REFRESH_TASK = "lists.refresh"
RECORDS_PER_JOB = 500

_RECORDS = {"contact": "contacts", "company": "companies"}
_REFERENCES = {
    "contactId": "contacts",
    "companyId": "companies",
    "winnerId": "contacts",
    "loserId": "contacts",
}
_REBUILDING = ("tag.updated", "tag.deleted", "property.", "pipeline", "company.deleted")
"""Events changing what a query matches without naming the records it changes for."""


def touched(event: Event) -> dict[str, set[str]]:
    """The contacts and companies whose matches the event may have changed, by id."""
    found: dict[str, set[str]] = {"contacts": set(), "companies": set()}
    bucket = _RECORDS.get(event.resource_type)
    if bucket is not None:
        found[bucket].add(str(event.resource_id))
    data = event.data or {}
    record = data.get("record") if isinstance(data.get("record"), dict) else {}
    changes = data.get("changes") if isinstance(data.get("changes"), dict) else {}
    for key, target in _REFERENCES.items():
        for value in (data.get(key), (record or {}).get(key)):
            if isinstance(value, str):
                found[target].add(value)
        change = (changes or {}).get(key)
        if isinstance(change, dict):
            for side in ("before", "after"):
                if isinstance(change.get(side), str):
                    found[target].add(change[side])
    return found


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), RECORDS_PER_JOB):
        yield ids[start : start + RECORDS_PER_JOB]


@consumer("lists")
async def follow_events(session: AsyncSession, events: list[Event]) -> None:
    tenants = await ListRepository(session).tenants_with_dynamic({e.tenant_id for e in events})
    if not tenants:
        return
    records: dict[uuid.UUID, dict[str, set[str]]] = defaultdict(
        lambda: {"contacts": set(), "companies": set()}
    )
    rebuild: set[uuid.UUID] = set()
    for event in events:
        if event.tenant_id not in tenants:
            continue
        if event.type.startswith(_REBUILDING):
            rebuild.add(event.tenant_id)
        for bucket, ids in touched(event).items():
            records[event.tenant_id][bucket] |= ids
    jobs: list[tuple[uuid.UUID | None, dict[str, Any]]] = []
    for tenant, buckets in records.items():
        for bucket, ids in buckets.items():
            for chunk in _chunks(sorted(ids)):
                jobs.append((tenant, {bucket: chunk}))
    await enqueue_many(session, FOLLOW_TASK, jobs, priority=5)
    # One rebuild per workspace and batch of events: rebuilds run alone (not batched), as
    # they may take seconds.
    await enqueue_many(session, REFRESH_TASK, [(t, {"relativeOnly": False}) for t in rebuild])


def _ids(values: Any) -> list[uuid.UUID]:
    found = []
    for value in values or ():
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


@task(FOLLOW_TASK, batch=True, max_attempts=5)
async def follow(context: JobContext, payload: dict[str, Any]) -> None:
    """Bring the workspace's dynamic lists up to date for the records the events touched;
    a company's change is also followed to its contacts (for `company.*` conditions)."""
    lists = ListService(context.workspace)
    companies = _ids(payload.get("companies"))
    contacts = _ids(payload.get("contacts"))
    if companies:
        await lists.follow(ListEntity.COMPANY, companies)
        contacts += await lists.follow_companies(companies)
    unique = list(dict.fromkeys(contacts))
    for start in range(0, len(unique), RECORDS_PER_JOB):
        await lists.follow(ListEntity.CONTACT, unique[start : start + RECORDS_PER_JOB])


@task(REFRESH_TASK, max_attempts=5)
async def refresh(context: JobContext, payload: dict[str, Any]) -> None:
    """Rebuild the workspace's dynamic lists (only those depending on the time, with
    `relativeOnly`)."""
    await ListService(context.workspace).refresh(relative_only=bool(payload.get("relativeOnly")))


@task("lists.refresh_relative", schedule="* * * * *", max_attempts=1)
async def refresh_relative(context: JobContext, _payload: dict[str, Any]) -> None:
    """Every minute: one refresh job per workspace having lists whose queries depend on the
    time (`within last 30 days` changes as days pass, with no event to say so)."""
    minute = utcnow().strftime("%Y%m%d%H%M")
    for tenant in await ListRepository(context.session).tenants_with_dynamic(relative_only=True):
        await enqueue(
            context.session,
            REFRESH_TASK,
            {"relativeOnly": True},
            tenant_id=tenant,
            # One per workspace and minute: a refresh still running when the next minute
            # comes is not queued twice; a finished one does not hold back the next.
            unique_key=f"{REFRESH_TASK}:{tenant}:{minute}",
        )
