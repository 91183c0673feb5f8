"""The durable job queue on a real database: transactional enqueue, leases, retries with
backoff, dead letters, unique keys, priorities, delays, periodic tasks and batches."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from rapport.domains import TASK_MODULES
from rapport.kit.clock import utcnow
from rapport.kit.db import Database
from rapport.models import IdempotencyRecord, Job, JobState, Tenant
from rapport.worker.loop import Worker
from rapport.worker.queue import enqueue
from rapport.worker.registry import JobContext, PermanentFailure, Retry, task
from tests.helpers import EVERY_WORKSPACE

pytestmark = pytest.mark.usefixtures("app")  # empties the tables after each test

ran: list[tuple[str, dict[str, Any], int]] = []
failures_left: dict[str, int] = {}


@task("test.record", queue="test")
async def record(context: JobContext, payload: dict[str, Any]) -> None:
    ran.append(("record", payload, context.attempt))


@task("test.flaky", queue="test", max_attempts=5, backoff_base=30)
async def flaky(context: JobContext, payload: dict[str, Any]) -> None:
    key = payload["key"]
    if failures_left.get(key, 0) > 0:
        failures_left[key] -= 1
        raise RuntimeError("receiver unavailable")
    ran.append(("flaky", payload, context.attempt))


@task("test.always_fails", queue="test", max_attempts=2)
async def always_fails(_context: JobContext, _payload: dict[str, Any]) -> None:
    raise RuntimeError("broken for good")


async def release(context: JobContext, payload: dict[str, Any], error: str) -> None:
    context.session.add(Tenant(name=f"released after {error}", settings={}))
    await context.session.flush()
    if payload.get("release_fails"):
        raise RuntimeError("could not release")


@task("test.dies_and_releases", queue="test", max_attempts=2, on_dead=release)
async def dies_and_releases(_context: JobContext, _payload: dict[str, Any]) -> None:
    raise RuntimeError("broken for good")


@task("test.permanent", queue="test")
async def permanent(_context: JobContext, _payload: dict[str, Any]) -> None:
    raise PermanentFailure("the address does not exist")


@task("test.retry_later", queue="test")
async def retry_later(_context: JobContext, _payload: dict[str, Any]) -> None:
    raise Retry("rate limited", after=120)


@task("test.writes", queue="test")
async def writes(context: JobContext, payload: dict[str, Any]) -> None:
    context.session.add(Tenant(name=payload["name"], settings={}))
    await context.session.flush()
    if payload.get("fail"):
        raise RuntimeError("after writing")


@task("test.batched", queue="test", batch=True)
async def batched(context: JobContext, payload: dict[str, Any]) -> None:
    context.session.add(Tenant(name=payload["name"], settings={}))
    await context.session.flush()
    if failures_left.get(payload["name"], 0) > 0:
        failures_left[payload["name"]] -= 1
        raise RuntimeError("after writing")


@task("test.batched_dies", queue="test", max_attempts=1, on_dead=release, batch=True)
async def batched_dies(context: JobContext, _payload: dict[str, Any]) -> None:
    context.session.add(Tenant(name="undone", settings={}))
    await context.session.flush()
    raise RuntimeError("broken for good")


@task("test.every_minute", queue="test", schedule="* * * * *")
async def every_minute(_context: JobContext, _payload: dict[str, Any]) -> None:
    ran.append(("every_minute", {}, 0))


@pytest.fixture(autouse=True)
def _reset() -> None:
    ran.clear()
    failures_left.clear()


def worker(database: Database, name: str = "w1") -> Worker:
    return Worker(database, queues=("test",), name=name, lease_seconds=30)


async def job(database: Database, job_id: uuid.UUID) -> Job:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        found = await session.get(Job, job_id)
    assert found is not None
    return found


async def make_due(database: Database) -> None:
    """Time passes: every waiting job becomes due."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))


async def _enqueue_then_fail(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await enqueue(session, "test.record", {"n": 1})
        raise RuntimeError("the request failed")


async def test_enqueue_belongs_to_the_callers_transaction(database: Database) -> None:
    with pytest.raises(RuntimeError):
        await _enqueue_then_fail(database)
    async with database.session(platform=EVERY_WORKSPACE) as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.record", {"n": 2})
    stored = await job(database, job_id)
    assert (stored.state, stored.queue, stored.max_attempts) == (JobState.QUEUED, "test", 10)


async def test_a_job_runs_once_and_succeeds(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.record", {"n": 1})
    assert await worker(database).run_once() == 1
    assert await worker(database).run_once() == 0
    assert ran == [("record", {"n": 1}, 1)]
    done = await job(database, job_id)
    assert done.state == JobState.SUCCEEDED
    assert done.finished_at is not None
    assert done.locked_by is None


async def test_failures_retry_with_growing_backoff_then_succeed(database: Database) -> None:
    failures_left["a"] = 2
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.flaky", {"key": "a"})
    waits = []
    for _ in range(2):
        started = utcnow()
        assert await worker(database).run_once() == 1
        retried = await job(database, job_id)
        assert retried.state == JobState.QUEUED
        assert retried.last_error == "RuntimeError: receiver unavailable"
        waits.append((retried.run_at - started).total_seconds())
        assert await worker(database).run_once() == 0  # not due yet
        await make_due(database)
    assert 15 <= waits[0] <= 31
    assert 30 <= waits[1] <= 61
    assert await worker(database).run_once() == 1
    assert ran == [("flaky", {"key": "a"}, 3)]
    assert (await job(database, job_id)).state == JobState.SUCCEEDED


async def test_exhausted_and_permanent_failures_are_dead(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        exhausted = await enqueue(session, "test.always_fails")
        hopeless = await enqueue(session, "test.permanent")
    await worker(database).run_once()
    await make_due(database)
    await worker(database).run_once()
    states = {j: (await job(database, j)).state for j in (exhausted, hopeless)}
    assert set(states.values()) == {JobState.DEAD}
    assert (await job(database, exhausted)).attempts == 2
    assert "does not exist" in ((await job(database, hopeless)).last_error or "")


@pytest.mark.parametrize("release_fails", [False, True])
async def test_on_dead_runs_once_with_the_burial(database: Database, release_fails: bool) -> None:
    """A task's on_dead runs when its job dies (not at earlier failures), and its writes
    commit with the burial; when it fails, the job is buried all the same."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.dies_and_releases", {"release_fails": release_fails})
    await worker(database).run_once()
    assert (await job(database, job_id)).state == JobState.QUEUED
    await make_due(database)
    await worker(database).run_once()

    assert (await job(database, job_id)).state == JobState.DEAD
    async with database.session(platform=EVERY_WORKSPACE) as session:
        names = (await session.scalars(select(Tenant.name))).all()
    assert names == ([] if release_fails else ["released after RuntimeError: broken for good"])


async def test_retry_after_is_honoured(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.retry_later")
    before = utcnow()
    await worker(database).run_once()
    delayed = await job(database, job_id)
    assert delayed.state == JobState.QUEUED
    assert 119 <= (delayed.run_at - before).total_seconds() <= 121


async def test_handler_work_and_completion_commit_together(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        ok = await enqueue(session, "test.writes", {"name": "Written"})
        bad = await enqueue(session, "test.writes", {"name": "Undone", "fail": True})
    await worker(database).run_once()
    async with database.session(platform=EVERY_WORKSPACE) as session:
        names = set((await session.execute(select(Tenant.name))).scalars())
    assert names == {"Written"}
    assert (await job(database, ok)).state == JobState.SUCCEEDED
    assert (await job(database, bad)).state == JobState.QUEUED


async def test_unique_keys_enqueue_once(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        first = await enqueue(session, "test.record", {"n": 1}, unique_key="sync:42")
        second = await enqueue(session, "test.record", {"n": 2}, unique_key="sync:42")
    assert first == second
    await worker(database).run_once()
    assert ran == [("record", {"n": 1}, 1)]


async def test_higher_priority_first_and_delayed_jobs_wait(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await enqueue(session, "test.record", {"n": "low"})
        await enqueue(session, "test.record", {"n": "high"}, priority=10)
        await enqueue(session, "test.record", {"n": "later"}, delay=3600)
    await worker(database).run_once()
    assert [p["n"] for _, p, _ in ran] == ["high", "low"]


async def test_a_job_whose_worker_died_is_taken_up_after_the_lease(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.record", {"n": 1})
    dead_worker = worker(database, "dead")
    assert len(await dead_worker.claim(10)) == 1  # claimed, then the process was killed
    survivor = worker(database, "survivor")
    assert await survivor.run_once() == 0  # the lease still holds
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert await survivor.run_once() == 1
    assert ran == [("record", {"n": 1}, 2)]
    assert (await job(database, job_id)).state == JobState.SUCCEEDED


async def test_a_claim_takes_jobs_with_expired_leases_first_then_queued_ones(
    database: Database,
) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        orphan = await enqueue(session, "test.record", {"n": "orphan"}, priority=-5)
    assert len(await worker(database, "dead").claim(10)) == 1
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
        first = await enqueue(session, "test.record", {"n": "first"}, priority=1)
        await enqueue(session, "test.record", {"n": "second"})

    claimed = await worker(database, "survivor").claim(2)

    assert {job.id for job in claimed} == {orphan, first}
    async with database.session(platform=EVERY_WORKSPACE) as session:
        states = (await session.scalars(select(Job.state))).all()
    assert sorted(states) == [JobState.QUEUED, JobState.RUNNING, JobState.RUNNING]


async def test_a_claim_reads_queued_jobs_through_their_partial_index(database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL plans each statement with its values")
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("UPDATE jobs") and "'queued'" in statement:
            sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await worker(database).claim(10)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = sent[0]
    async with database.session(platform=EVERY_WORKSPACE) as session:
        connection = await session.connection()
        plan = str(
            (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
        )

    assert "ix_jobs_due" in plan
    assert "TEMP B-TREE" not in plan  # read in the index's order, not sorted


async def test_periodic_tasks_are_enqueued_once_per_slot(database: Database) -> None:
    await worker(database, "a").schedule_periodic(force=True)
    await worker(database, "b").schedule_periodic(force=True)
    async with database.session(platform=EVERY_WORKSPACE) as session:
        count = await session.scalar(
            select(func.count()).select_from(Job).where(Job.task == "test.every_minute")
        )
    assert count == 1
    await worker(database).run_once()
    assert ran == [("every_minute", {}, 0)]


async def test_a_run_whose_lease_was_lost_cannot_complete(database: Database) -> None:
    """Even when the same worker claimed the job again, the stale run's work is rolled back."""
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.writes", {"name": "Once"})
    same = worker(database, "same")
    [stale] = await same.claim(10)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    [fresh] = await same.claim(10)
    assert stale.owner != fresh.owner
    await same.execute(stale)
    async with database.session(platform=EVERY_WORKSPACE) as session:
        assert await session.scalar(select(func.count()).where(Tenant.name == "Once")) == 0
    await same.execute(fresh)
    async with database.session(platform=EVERY_WORKSPACE) as session:
        assert await session.scalar(select(func.count()).where(Tenant.name == "Once")) == 1
    assert (await job(database, job_id)).state == JobState.SUCCEEDED


async def test_jobs_of_unknown_tasks_wait_for_a_worker_that_knows_them(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.from_a_newer_release", queue="test")
    assert await worker(database).run_once() == 0
    assert (await job(database, job_id)).state == JobState.QUEUED


async def test_unique_keys_belong_to_a_workspace(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        first = Tenant(name="A", settings={})
        second = Tenant(name="B", settings={})
        session.add_all([first, second])
        await session.flush()
        a = await enqueue(session, "test.record", {"n": "a"}, tenant_id=first.id, unique_key="k")
        b = await enqueue(session, "test.record", {"n": "b"}, tenant_id=second.id, unique_key="k")
    assert a != b


async def test_housekeeping_drops_old_finished_jobs_and_keeps_dead_ones(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        old = await enqueue(session, "test.record")
        recent = await enqueue(session, "test.record")
        dead = await enqueue(session, "test.record")
        purge = await enqueue(session, "maintenance.purge")
        long_ago = utcnow() - timedelta(days=8)
        await session.execute(
            update(Job)
            .where(Job.id.in_([old, dead]))
            .values(finished_at=long_ago, state=JobState.SUCCEEDED)
        )
        await session.execute(update(Job).where(Job.id == dead).values(state=JobState.DEAD))
        await session.execute(
            update(Job)
            .where(Job.id == recent)
            .values(finished_at=utcnow(), state=JobState.SUCCEEDED)
        )
    assert await Worker(database, queues=("default",), task_modules=TASK_MODULES).run_once() == 1
    async with database.session(platform=EVERY_WORKSPACE) as session:
        left = set((await session.execute(select(Job.id))).scalars())
    assert left == {recent, dead, purge}


async def test_housekeeping_drops_expired_idempotency_records(database: Database) -> None:
    now = utcnow()
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        tenant = Tenant(name="A", settings={})
        session.add(tenant)
        await session.flush()
        for key, expires in (
            ("old", now - timedelta(seconds=1)),
            ("live", now + timedelta(hours=1)),
        ):
            session.add(
                IdempotencyRecord(
                    tenant_id=tenant.id,
                    scope="s",
                    key=key,
                    request_hash="h",
                    status_code=201,
                    response_headers={},
                    response_body=b"{}",
                    created_at=now,
                    expires_at=expires,
                )
            )
        await enqueue(session, "maintenance.purge")
    await Worker(database, queues=("default",), task_modules=TASK_MODULES).run_once()
    async with database.session(platform=EVERY_WORKSPACE) as session:
        keys = set((await session.execute(select(IdempotencyRecord.key))).scalars())
    assert keys == {"live"}


async def test_housekeeping_refreshes_the_planners_statistics(database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its own statistics")
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        session.add_all([Tenant(name=f"T{i}", settings={}) for i in range(3)])
        await enqueue(session, "maintenance.statistics")
        connection = await session.connection()
        await connection.exec_driver_sql("DELETE FROM sqlite_stat1")

    assert await Worker(database, queues=("default",), task_modules=TASK_MODULES).run_once() == 1

    async with database.session(platform=EVERY_WORKSPACE) as session:
        connection = await session.connection()
        stats = await connection.exec_driver_sql(
            "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'tenants'"
        )
        assert stats.all(), "no statistics for the tenants table"


async def tenant_names(database: Database) -> list[str]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        return sorted((await session.scalars(select(Tenant.name))).all())


async def test_batches_run_and_complete_each_in_one_statement(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        for n, priority in enumerate((10, 8, 7, 6, 5)):
            await enqueue(session, "test.batched", {"name": f"T{n}"}, priority=priority)
        alone = await enqueue(session, "test.record", {"n": 1}, priority=9)
    runner = Worker(database, queues=("test",), name="w1", batch_size=2)
    units = runner.plan(await runner.claim(10))
    assert [[job.task for job in unit] for unit in units] == [
        ["test.batched", "test.batched"],
        ["test.record"],
        ["test.batched", "test.batched"],
        ["test.batched"],
    ]
    for unit in units:
        await runner.carry_out(unit)

    assert await tenant_names(database) == ["T0", "T1", "T2", "T3", "T4"]
    assert ran == [("record", {"n": 1}, 1)]
    done = [[await job(database, j.id) for j in unit] for unit in units]
    assert {(j.state, j.attempts, j.locked_by) for unit in done for j in unit} == {
        (JobState.SUCCEEDED, 1, None)
    }
    # One statement completed each batch.
    assert [len({j.finished_at for j in unit}) for unit in done] == [1, 1, 1, 1]
    assert len({unit[0].finished_at for unit in done}) == 4
    assert (await job(database, alone)).state == JobState.SUCCEEDED


async def test_a_failing_job_of_a_batch_leaves_its_neighbours_and_is_retried(
    database: Database,
) -> None:
    failures_left["B"] = 1
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        a, b, c = [await enqueue(session, "test.batched", {"name": name}) for name in "ABC"]

    assert await worker(database).run_once() == 3

    assert await tenant_names(database) == ["A", "C"]  # B's write was rolled back alone
    assert [(await job(database, j)).state for j in (a, b, c)] == [
        JobState.SUCCEEDED,
        JobState.QUEUED,
        JobState.SUCCEEDED,
    ]
    failed = await job(database, b)
    assert (failed.attempts, failed.last_error) == (1, "RuntimeError: after writing")
    assert failed.locked_by is None
    await make_due(database)
    assert await worker(database).run_once() == 1
    assert await tenant_names(database) == ["A", "B", "C"]
    assert (await job(database, b)).state == JobState.SUCCEEDED


async def test_a_job_dying_in_a_batch_is_buried_with_its_on_dead(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        dies = await enqueue(session, "test.batched_dies")
        lives = await enqueue(session, "test.batched", {"name": "Kept"})

    assert await worker(database).run_once() == 2

    dead = await job(database, dies)
    assert (dead.state, dead.last_error) == (JobState.DEAD, "RuntimeError: broken for good")
    assert (await job(database, lives)).state == JobState.SUCCEEDED
    assert await tenant_names(database) == ["Kept", "released after RuntimeError: broken for good"]


async def test_a_batch_whose_lease_was_lost_runs_nothing(database: Database) -> None:
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        job_id = await enqueue(session, "test.batched", {"name": "Once"})
    same = worker(database, "same")
    stale = await same.claim(10)
    async with database.transaction(platform=EVERY_WORKSPACE) as session:
        await session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    fresh = await same.claim(10)

    await same.execute_batch(stale)
    assert await tenant_names(database) == []
    await same.execute_batch(fresh)

    assert await tenant_names(database) == ["Once"]
    assert (await job(database, job_id)).state == JobState.SUCCEEDED
