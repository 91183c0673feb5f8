"""Rows written at commit: records that nothing reads back in the transaction that writes them
(domain events, stored idempotent responses, the index of property values) are inserted just
before the commit, each model's rows in one Core statement, instead of being flushed one ORM
object at a time (the unit of work's cost per object is most of a small write's).

Counts are added at commit the same way (`add_at_commit`): the amounts a transaction adds
to one count are summed, and every count it touches is written in one upsert, in the order
of their keys, so that two transactions adding to the same counts lock them in the same
order.

The rows keep the transaction's semantics: they commit with it, and a rollback forgets them,
a savepoint's rollback only the rows added since that savepoint began. A statement that must
see them (a DELETE of rows that may be pending) calls `write_pending` first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util.concurrency import greenlet_spawn

from rapport.kit.tenant_guard import GuardedSession, add_checked, insert_checked

_PENDING = "rapport.rows_at_commit"
_COUNTS = "rapport.counts_at_commit"

Pending = list[tuple[SessionTransaction | None, type[Any], dict[str, Any]]]


def insert_at_commit(
    session: AsyncSession | Session, model: type[Any], row: dict[str, Any]
) -> None:
    """Insert `row` into `model`'s table when `session` commits (through the tenant guard, so a
    tenant-owned row must name the session's workspace)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if sync.get_transaction() is None:
        # Begin now (no I/O: the connection comes with the first statement), so that a
        # rollback before anything else ran still ends a transaction and forgets the row.
        sync.begin()
    pending: Pending = sync.info.setdefault(_PENDING, [])
    pending.append((sync.get_nested_transaction() or sync.get_transaction(), model, row))


def add_at_commit(
    session: AsyncSession | Session, model: type[Any], key: tuple[str, ...], row: dict[str, Any]
) -> None:
    """Add `row["value"]` to the row of `model` whose `key` columns hold `row`'s values (or
    insert `row`) when `session` commits."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if sync.get_transaction() is None:
        sync.begin()
    pending: Pending = sync.info.setdefault(_COUNTS, [])
    pending.append((sync.get_nested_transaction() or sync.get_transaction(), model, {**row}))
    sync.info.setdefault(_COUNTS + ".keys", {})[model] = key


async def write_pending(session: AsyncSession) -> None:
    """Write the rows and counts waiting for the commit now, for a statement that must see
    them (a DELETE of rows that may still be pending, a read of counts the transaction added
    to)."""
    info = session.sync_session.info
    if info.get(_PENDING) or info.get(_COUNTS):
        await greenlet_spawn(_insert_pending, session.sync_session)


@event.listens_for(GuardedSession, "before_commit")
def _insert_pending(session: Session) -> None:
    """After the session's own changes (the rows may refer to records it creates)."""
    _add_counts(session)
    pending: Pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()
    start = 0
    for end in range(1, len(pending) + 1):
        if end == len(pending) or pending[end][1] is not pending[start][1]:
            model = pending[start][1]
            insert_checked(session, model, [row for _, _, row in pending[start:end]])
            start = end


def _add_counts(session: Session) -> None:
    pending: Pending = session.info.pop(_COUNTS, [])
    keys: dict[type[Any], tuple[str, ...]] = session.info.pop(_COUNTS + ".keys", {})
    if not pending:
        return
    session.flush()
    summed: dict[type[Any], dict[tuple[Any, ...], dict[str, Any]]] = {}
    for _, model, row in pending:
        of_model = summed.setdefault(model, {})
        identity = tuple(row[column] for column in keys[model])
        if identity in of_model:
            of_model[identity]["value"] += row["value"]
        else:
            of_model[identity] = row
    for model, rows in summed.items():
        ordered = [rows[identity] for identity in sorted(rows, key=str)]
        add_checked(session, model, ordered, keys[model])


@event.listens_for(GuardedSession, "after_soft_rollback")
def _forget_savepoint(session: Session, rolled_back: SessionTransaction) -> None:
    if not rolled_back.nested:
        return
    for name in (_PENDING, _COUNTS):
        pending: Pending | None = session.info.get(name)
        if pending:
            session.info[name] = [e for e in pending if not _within(e[0], rolled_back)]


@event.listens_for(GuardedSession, "after_transaction_end")
def _forget_transaction(session: Session, ended: SessionTransaction) -> None:
    """Committed (the rows were written) or rolled back, closed: either way, done with."""
    if ended.parent is None:
        for name in (_PENDING, _COUNTS, _COUNTS + ".keys"):
            session.info.pop(name, None)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
