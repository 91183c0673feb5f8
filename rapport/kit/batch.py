"""Batch writes: many records in one call, each with its own outcome, so that one bad record
never blocks the others. The records of a batch body are read as they came
(`SkipValidation` keeps their schema in the OpenAPI) and validated one by one here; a
record's errors name fields relative to the record."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, ValidationError
from starlette.responses import Response

from rapport.kit.errors import (
    AppError,
    Conflict,
    ErrorDetail,
    ValidationFailed,
    validation_details,
)
from rapport.kit.schemas import InputModel, WireModel

MAX_BATCH = 1000
"""Records per batch call."""

BATCH_PATH = re.compile(r"/batch(/[a-z-]+)?$")
"""The paths of batch operations, whose bodies may be larger than others'."""

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
T = TypeVar("T")


class BatchStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What became of one record of a batch: its status and record, or the error refusing it."""

    status: BatchStatus
    record: R | None = None
    error: AppError | None = None

    @classmethod
    def failed(cls, error: AppError) -> Outcome[R]:
        return cls(BatchStatus.FAILED, error=error)


def validated(model: type[M], records: Sequence[Any]) -> list[M | AppError]:
    """Each raw record as `model`, or the 422 naming its invalid fields."""
    checked: list[M | AppError] = []
    for raw in records:
        try:
            checked.append(model.model_validate(raw))
        except ValidationError as exc:
            details = validation_details(exc.errors())
            summary = "; ".join(f"{d.field or 'record'}: {d.message}" for d in details[:5])
            checked.append(ValidationFailed(summary, details=details))
    return checked


K = TypeVar("K")
C = TypeVar("C")
Identity = tuple[str, str]


class Batch(Generic[M, K]):
    """The records of one batch write of an entity with unique keys (an email, an externalId,
    a domain): each record's keys, who holds each of them (read at once, then kept current as
    the records are planned one by one), and the plan of what becomes of each record.

    `keys` maps the attributes of the unique keys to their names on the wire, in the order an
    upsert looks for the record to update (the first key held wins); `label` names a record
    by its position in messages (`records[3]`, or an import's `row 5`)."""

    def __init__(
        self,
        model: type[M],
        records: Sequence[Any],
        keys: Mapping[str, str],
        live: Callable[[K], bool],
        label: Callable[[int], str] | None = None,
    ) -> None:
        self.items = validated(model, records)
        self.keys = dict(keys)
        self.live = live
        self.label = label or (lambda index: f"records[{index}]")
        self.values: list[dict[str, str | None]] = []
        self.holders: dict[Identity, K | None] = {}

    def read_keys(self, normalized: Callable[[M], Mapping[str, str | None]]) -> dict[str, set[str]]:
        """Each record's keys as `normalized` gives them (a record it refuses fails); every
        value named, by attribute."""
        for index, item in enumerate(self.items):
            values: Mapping[str, str | None] = {}
            if not isinstance(item, AppError):
                try:
                    values = normalized(item)
                except AppError as exc:
                    self.items[index] = exc
            self.values.append({field: values.get(field) for field in self.keys})
        named: dict[str, set[str]] = {field: set() for field in self.keys}
        for values in self.values:
            for field, value in values.items():
                if value:
                    named[field].add(value)
                    self.holders[(field, value)] = None
        return named

    def know(self, holding: Iterable[K]) -> None:
        """The live records holding any of the values named."""
        for record in holding:
            self._hold(record)

    def holder(self, field: str, value: str) -> tuple[bool, K | None]:
        """Whether the batch knows who holds this value, and who (None: nobody)."""
        identity = (field, value)
        return identity in self.holders, self.holders.get(identity)

    async def plan(
        self,
        create: Callable[[M], Awaitable[K]],
        change: Callable[[K, M], Awaitable[C | None]],
        *,
        upsert: bool,
    ) -> list[tuple[Outcome[K], C | None]]:
        """What becomes of each record, in order: `create` makes a new record (checked, added
        to the session, not flushed); with `upsert`, a record whose key is held goes to
        `change` instead (None: nothing changed). A refusal fails that record alone."""
        repeats = self._repeats()
        planned: list[tuple[Outcome[K], C | None]] = []
        for index, item in enumerate(self.items):
            try:
                if isinstance(item, AppError):
                    raise item
                if index in repeats:
                    raise repeats[index]
                target = self._match(self.values[index]) if upsert else None
                if target is None:
                    record = await create(item)
                    self._hold(record)
                    planned.append((Outcome(BatchStatus.CREATED, record), None))
                    continue
                before = self._identities(target)
                changed = await change(target, item)
                for identity in before:
                    if self.holders.get(identity) is target:
                        self.holders[identity] = None
                self._hold(target)
                status = BatchStatus.UNCHANGED if changed is None else BatchStatus.UPDATED
                planned.append((Outcome(status, target), changed))
            except AppError as exc:
                planned.append((Outcome.failed(exc), None))
        return planned

    def _identities(self, record: K) -> list[Identity]:
        pairs = ((field, getattr(record, field)) for field in self.keys)
        return [(field, value) for field, value in pairs if value]

    def _hold(self, record: K) -> None:
        if self.live(record):
            for identity in self._identities(record):
                self.holders[identity] = record

    def _match(self, values: Mapping[str, str | None]) -> K | None:
        for field in self.keys:
            value = values.get(field)
            holder = self.holders.get((field, value)) if value else None
            if holder is not None:
                return holder
        return None

    def _repeats(self) -> dict[int, AppError]:
        """A batch names each record once: a record with a key an earlier record has fails."""
        refused: dict[int, AppError] = {}
        for field, name in self.keys.items():
            first: dict[str, int] = {}
            for index, values in enumerate(self.values):
                value = values[field]
                if not value or index in refused:
                    continue
                if value in first:
                    message = (
                        f"{self.label(first[value])} has the same {name}: a batch names each "
                        "record once"
                    )
                    detail = ErrorDetail(field=name, message=message)
                    refused[index] = Conflict(message, code="DUPLICATE_IN_BATCH", details=[detail])
                else:
                    first[value] = index
        return refused


@dataclass(frozen=True)
class Changed:
    """A record as it was before an update: as the API showed it (for the event's changes) and
    its custom properties (for the value index)."""

    before: dict[str, Any]
    properties: dict[str, Any]


def written(planned: Sequence[tuple[Outcome[K], C | None]]) -> list[tuple[K, C | None]]:
    """The records a plan created (with None) or changed (with their change), in order."""
    return [
        (outcome.record, change)
        for outcome, change in planned
        if outcome.record is not None
        and (outcome.status is BatchStatus.CREATED or change is not None)
    ]


class BatchCreate(InputModel, Generic[T]):
    """Up to 1,000 records to create."""

    # Each record is checked on its own (a bad one fails alone), not with the request.
    records: list[SkipValidation[T]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="The records, each as the body of the single create (without `upsert`)",
    )


class BatchWrite(BatchCreate[T], Generic[T]):
    """Up to 1,000 records to create (with `upsert`, to create or update)."""

    upsert: bool = Field(
        default=False,
        description="A record whose unique key an existing record has (the operation says which "
        "keys, in which order) updates that record with the fields sent instead of failing",
    )


class RecordError(WireModel):
    code: str = Field(examples=["CONTACT_EMAIL_EXISTS"])
    message: str = Field(examples=["A live contact already has this email"])
    details: list[ErrorDetail] = Field(default_factory=list)


class BatchItem(WireModel, Generic[T]):
    # Every field is in every item, null or not: generated clients type them as present.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    index: int = Field(description="The record's position in the request (from 0)")
    status: BatchStatus
    id: uuid.UUID | None = Field(default=None, description="The record's id, unless it failed")
    record: T | None = Field(default=None, description="The record as stored, unless it failed")
    error: RecordError | None = Field(default=None, description="Why it failed")


class BatchMeta(WireModel):
    total: int = Field(description="Records in the request", examples=[2])
    created: int = Field(examples=[1])
    updated: int = Field(examples=[1])
    unchanged: int = Field(examples=[0])
    deleted: int = Field(examples=[0])
    failed: int = Field(examples=[0])


class BatchEnvelope(BaseModel, Generic[T]):
    data: list[BatchItem[T]]
    meta: BatchMeta


def some_failed(envelope: type[BatchEnvelope[Any]]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a batch operation's 207."""
    return {
        207: {
            "model": envelope,
            "description": "Some records failed: each result says how it went, failed ones "
            "with their error",
        }
    }


class Identified(Protocol):
    id: uuid.UUID


Shown = TypeVar("Shown", bound=Identified)


def batch_answer(
    outcomes: Sequence[Outcome[R]], render: Callable[[R], Shown], response: Response
) -> BatchEnvelope[Shown]:
    """The per-record results, in request order; 207 when any record failed."""
    items: list[BatchItem[Shown]] = []
    for index, outcome in enumerate(outcomes):
        if outcome.error is not None:
            error = RecordError(
                code=outcome.error.code,
                message=outcome.error.message,
                details=outcome.error.details,
            )
            items.append(BatchItem(index=index, status=outcome.status, error=error))
        else:
            assert outcome.record is not None
            shown = render(outcome.record)
            items.append(BatchItem(index=index, status=outcome.status, id=shown.id, record=shown))
    counts = Counter(outcome.status for outcome in outcomes)
    meta = BatchMeta(total=len(outcomes), **{s.value: counts[s] for s in BatchStatus})
    response.status_code = 207 if counts[BatchStatus.FAILED] else 200
    return BatchEnvelope(data=items, meta=meta)
