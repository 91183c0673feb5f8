"""List rules: static lists change by hand; a dynamic list holds exactly the records its query
matches, kept current record by record from the change events (`tasks.py`), refreshed every
minute when its query depends on the time, and rebuilt in full on demand, in one transaction
(readers see the old membership until the new one is complete)."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, case, true

from rapport.companies.service import CompanyService, MembershipService
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.cql.compiler import Compiled
from rapport.kit.cql.fields import Catalog
from rapport.kit.cql.query import compiled_for, parse_query, where_renamed
from rapport.kit.cql.tree import Node, conditions_of
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import (
    Conflict,
    ErrorDetail,
    InvalidQuery,
    InvalidRequest,
    NotFound,
    ValidationFailed,
    field_error,
)
from rapport.kit.ids import parse_uuid
from rapport.kit.normalize import clean, not_blank
from rapport.kit.pagination import PageRequest
from rapport.lists.query_fields import LIST_FIELD
from rapport.lists.repository import ListRepository, MemberRepository, name_taken
from rapport.lists.schemas import (
    Evaluation,
    ListCreate,
    ListMemberOut,
    ListOut,
    ListUpdate,
    MembershipChange,
)
from rapport.models.lists import ListEntity, SegmentList

log = logging.getLogger("rapport.lists")

CRITERIA = "filterCriteria"


def list_out(segment: SegmentList) -> ListOut:
    criteria = segment.criteria or {}
    return ListOut(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        entity_type=segment.entity_type,
        is_dynamic=segment.is_dynamic,
        filter_criteria=criteria.get("where", criteria.get("filter")),
        relative_to_now=segment.relative_to_now,
        member_count=segment.member_count,
        evaluated_at=segment.evaluated_at,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
    )


def _stored(criteria: dict[str, Any] | str) -> dict[str, Any]:
    return {"where": criteria} if isinstance(criteria, str) else {"filter": criteria}


def _parsed(criteria: dict[str, Any] | None) -> Node:
    return _parsed_text(orjson.dumps(criteria or {}, option=orjson.OPT_SORT_KEYS).decode())


@functools.lru_cache(maxsize=4096)
def _parsed_text(criteria: str) -> Node:
    """A stored query's tree, parsed once per process (trees are immutable): following a
    change evaluates every dynamic list of the workspace."""
    doc = orjson.loads(criteria)
    return parse_query(
        doc.get("where"), doc.get("filter"), filter_name=CRITERIA, where_name=CRITERIA
    )


def _named_lists(node: Node) -> list[uuid.UUID]:
    return [list_id for list_id, _through in _list_references(node)]


def _list_references(node: Node) -> list[tuple[uuid.UUID, bool]]:
    """The lists a query names: by `list`, or through a relation (`company.list`), with
    whether it was through one."""
    found = []
    for condition in conditions_of(node):
        name = condition.field.lower()
        if name != LIST_FIELD and not name.endswith(f".{LIST_FIELD}"):
            continue
        value = condition.value
        for item in value if isinstance(value, tuple | list) else [value]:
            list_id = parse_uuid(item) if isinstance(item, str) else None
            if list_id is not None:
                found.append((list_id, name != LIST_FIELD))
    return found


def refuse_unknown(field: str, noun: str, given: list[uuid.UUID], known: set[uuid.UUID]) -> None:
    """422 naming the ids the workspace has no live record for (nothing changes)."""
    unknown = [str(i) for i in dict.fromkeys(given) if i not in known]
    if unknown:
        raise ValidationFailed(
            f"{field}: no {noun} with these ids in this workspace: "
            + ", ".join(unknown[:10])
            + (" ..." if len(unknown) > 10 else ""),
            details=[
                ErrorDetail(field=field, message=f"No such {noun}: {i}") for i in unknown[:100]
            ],
        )


class ListService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.repo = ListRepository(context.session)
        self.members = MemberRepository(context.session)
        self.contacts = ContactService(context)
        self.companies = CompanyService(context)
        self.events = EventRecorder(context)

    # --- reading ---------------------------------------------------------------------------

    async def page(
        self, entity_type: ListEntity | None, dynamic: bool | None, page: PageRequest
    ) -> tuple[list[SegmentList], PageMeta]:
        return await self.repo.page(entity_type, dynamic, page)

    async def get(self, list_id: uuid.UUID) -> SegmentList:
        found = await self.repo.get(list_id)
        if found is None:
            raise NotFound("List not found")
        return found

    async def check_contacts(self, list_id: uuid.UUID, field: str) -> None:
        """422 naming `field` unless the id names a list of contacts of this workspace."""
        found = await self.repo.get(list_id)
        if found is None:
            raise field_error(field, f"No such list in this workspace: {list_id}")
        if found.entity_type != ListEntity.CONTACT:
            raise field_error(field, f"List {list_id} holds companies, not contacts")

    async def check_static_contacts(self, list_id: uuid.UUID, field: str) -> None:
        """422 naming `field` unless the id names a static list of contacts of this
        workspace (one that records can be added to, as an import does)."""
        found = await self.repo.get(list_id)
        if found is None:
            raise field_error(field, "No such list in this workspace")
        if found.is_dynamic or found.entity_type != ListEntity.CONTACT:
            raise field_error(field, "Not a static list of contacts")

    async def member_page(
        self, list_id: uuid.UUID, page: PageRequest
    ) -> tuple[list[ListMemberOut], PageMeta]:
        """The list's members, newest first, each with its record."""
        segment = await self.get(list_id)
        rows, meta = await self.members.page(segment.id, page)
        ids = [row.record_id for row in rows]
        items = []
        if segment.entity_type == ListEntity.CONTACT:
            contacts = await self.contacts.by_ids(ids)
            for row in rows:
                items.append(
                    ListMemberOut(
                        entity_id=row.record_id,
                        added_at=row.added_at,
                        contact=contacts.get(row.record_id),
                    )
                )
        else:
            companies = await self.companies.by_ids(ids)
            for row in rows:
                items.append(
                    ListMemberOut(
                        entity_id=row.record_id,
                        added_at=row.added_at,
                        company=companies.get(row.record_id),
                    )
                )
        return items, meta

    # --- writing ---------------------------------------------------------------------------

    async def create(self, data: ListCreate) -> SegmentList:
        name = not_blank(data.name, "name")
        if data.is_dynamic and data.filter_criteria is None:
            raise field_error(CRITERIA, "A dynamic list needs its query")
        if not data.is_dynamic and data.filter_criteria is not None:
            raise field_error(CRITERIA, "A static list has no query (set isDynamic: true)")
        existing = await self.repo.named(data.entity_type, name)
        if existing is not None:
            raise name_taken(existing.id)
        segment = SegmentList(
            name=name,
            description=clean(data.description),
            entity_type=data.entity_type,
            is_dynamic=data.is_dynamic,
            criteria=_stored(data.filter_criteria) if data.filter_criteria is not None else None,
            member_count=0,
        )
        self.repo.add(segment)
        await self.repo.flush()
        if segment.is_dynamic:
            await self.repo.serialize_queries()
            compiled = await self._checked(segment)
            segment.relative_to_now = compiled.relative_to_now
            await self._rebuild(segment, compiled, announce=False)
        self.events.record("list.created", "list", segment.id, {"record": self._record(segment)})
        return segment

    async def update(self, list_id: uuid.UUID, patch: ListUpdate) -> SegmentList:
        segment = await self._locked(list_id)
        sent = patch.model_fields_set
        before = self._record(segment)
        if "name" in sent:
            name = not_blank(patch.name, "name")
            existing = await self.repo.named(segment.entity_type, name)
            if existing is not None and existing.id != segment.id:
                raise name_taken(existing.id)
            segment.name = name
        if "description" in sent:
            segment.description = clean(patch.description)
        if "filter_criteria" in sent:
            if not segment.is_dynamic:
                raise field_error(CRITERIA, "A static list has no query")
            if patch.filter_criteria is None:
                raise field_error(CRITERIA, "A dynamic list needs its query")
            await self.repo.serialize_queries()
            segment.criteria = _stored(patch.filter_criteria)
            compiled = await self._checked(segment)
            segment.relative_to_now = compiled.relative_to_now
            await self._rebuild(segment, compiled, announce=True)
        await self.repo.flush()
        self.events.record_change("list.updated", "list", segment.id, self._record(segment), before)
        return segment

    async def delete(self, list_id: uuid.UUID) -> None:
        """A list another dynamic list's query names cannot be deleted (409 naming them)."""
        await self.repo.serialize_queries()
        segment = await self._locked(list_id)
        users = [
            other.name
            for other in await self.repo.dynamic()
            if other.id != segment.id and segment.id in _named_lists(_parsed(other.criteria))
        ]
        if users:
            raise Conflict(
                f"The query of {', '.join(sorted(users))} uses this list",
                code="LIST_IN_USE",
            )
        record = self._record(segment)
        await self.context.session.delete(segment)
        await self.repo.flush()
        self.events.record("list.deleted", "list", list_id, {"record": record})

    async def evaluate(self, list_id: uuid.UUID) -> Evaluation:
        """Run a dynamic list's query again and make its membership exactly what it matches."""
        segment = await self._locked(list_id)
        if not segment.is_dynamic:
            raise InvalidRequest("Only a dynamic list is evaluated; a static one changes by hand")
        added, removed = await self._rebuild(segment, await self._checked(segment), announce=True)
        return Evaluation(
            member_count=segment.member_count,
            added=added,
            removed=removed,
            evaluated_at=segment.evaluated_at or utcnow(),
        )

    async def add_members(
        self, list_id: uuid.UUID, record_ids: list[uuid.UUID]
    ) -> MembershipChange:
        segment = await self._static(list_id)
        wanted = list(dict.fromkeys(record_ids))
        known = await self.existing(segment.entity_type, wanted)
        refuse_unknown("entityIds", segment.entity_type.value.lower(), wanted, known)
        present = await self.members.present(segment.id, wanted)
        joining = [i for i in wanted if i not in present]
        await self._join(segment, joining)
        return MembershipChange(
            added=len(joining), unchanged=len(present), member_count=segment.member_count
        )

    async def remove_members(
        self, list_id: uuid.UUID, record_ids: list[uuid.UUID]
    ) -> MembershipChange:
        segment = await self._static(list_id)
        wanted = list(dict.fromkeys(record_ids))
        present = await self.members.present(segment.id, wanted)
        leaving = [i for i in wanted if i in present]
        await self._leave(segment, leaving)
        return MembershipChange(
            removed=len(leaving),
            unchanged=len(wanted) - len(leaving),
            member_count=segment.member_count,
        )

    async def add_contacts(
        self, list_id: uuid.UUID, matching: Select[Any], limit: int
    ) -> tuple[int, int]:
        """Add to a static list of contacts the live contacts whose ids `matching` selects,
        leaving those already in it; (added, already present). Idempotent."""
        segment = await self._static(list_id)
        if segment.entity_type != ListEntity.CONTACT:
            raise field_error("listId", "Prospecting adds contacts: choose a list of contacts")
        live = self.contacts.matching_ids(true(), among=matching).limit(limit + 1)
        matched = await self.members.ids(live)
        if len(matched) > limit:
            raise ValidationFailed(
                f"The request names {len(matched)} contacts; at most {limit} per call"
            )
        present = await self.members.present(segment.id, matched)
        joining = [i for i in matched if i not in present]
        await self._join(segment, joining)
        return len(joining), len(present)

    # --- following changes -----------------------------------------------------------------

    async def follow(self, entity_type: ListEntity, record_ids: list[uuid.UUID]) -> None:
        """Bring every dynamic list of the entity up to date for these records (they changed):
        each list's query is run on them alone, and those that now match (or no longer do)
        join (or leave)."""
        if not record_ids:
            return
        segments = await self.repo.dynamic(entity_type)
        if not segments:
            return
        catalog = await self._catalog(entity_type)
        presence = await self.members.presence([s.id for s in segments], record_ids)
        followed: list[tuple[SegmentList, ColumnElement[bool]]] = []
        for segment in segments:
            try:
                compiled = await self._compiled(segment, catalog, correlate=True)
            except InvalidQuery as exc:
                log.warning(
                    "dynamic list skipped: its query no longer compiles",
                    extra={"listId": str(segment.id), "reason": exc.message},
                )
                continue
            followed.append((segment, compiled.where))
        # One statement: a row per record, a column per list saying whether it matches.
        evaluated = self._matching(entity_type, true(), record_ids).add_columns(
            *(case((where, 1), else_=0) for _, where in followed)
        )
        flags = await self.members.flags(evaluated)
        for index, (segment, _) in enumerate(followed):
            matched = {record_id for record_id, row in flags.items() if row[index]}
            present = presence.get(segment.id, set())
            joining = [i for i in record_ids if i in matched and i not in present]
            leaving = [i for i in record_ids if i in present and i not in matched]
            if joining or leaving:
                locked = await self._locked(segment.id)
                await self._join(locked, joining)
                await self._leave(locked, leaving)

    async def follow_companies(self, company_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """The contacts of these companies (a change of a company can change which contacts
        match a `company.*` condition)."""
        return await self.members.ids(
            MembershipService(self.context).contact_ids_in_any(company_ids)
        )

    async def refresh(self, *, relative_only: bool) -> int:
        """Rebuild the workspace's dynamic lists (those depending on the time only, with
        `relative_only`); how many were rebuilt."""
        count = 0
        for segment in await self.repo.dynamic(relative_only=relative_only):
            try:
                compiled = await self._compiled(segment)
            except InvalidQuery:
                continue
            locked = await self._locked(segment.id)
            await self._rebuild(locked, compiled, announce=True)
            count += 1
        return count

    async def move_memberships(self, loser_id: uuid.UUID, winner_id: uuid.UUID) -> int:
        """A merge: the winner joins the static lists the loser was in (and was not), and
        the loser leaves every list; how many lists the winner joined. Dynamic lists follow
        the merge's events."""
        joined = 0
        for list_id in await self.members.lists_holding(loser_id):
            segment = await self._locked(list_id)
            await self._leave(segment, [loser_id])
            if not segment.is_dynamic and not await self.members.present(list_id, [winner_id]):
                await self._join(segment, [winner_id])
                joined += 1
        return joined

    async def memberships_of(
        self, record_ids: Collection[uuid.UUID]
    ) -> list[tuple[SegmentList, uuid.UUID, datetime]]:
        """The lists the records are in: each list, the record, when it joined."""
        return await self.members.held_by(record_ids)

    async def record_removed(self, entity_type: ListEntity, record_id: uuid.UUID) -> None:
        """A deleted record leaves every list it was in (in the deleting transaction)."""
        for list_id in await self.members.lists_holding(record_id):
            segment = await self._locked(list_id)
            await self._leave(segment, [record_id])

    # --- internals -------------------------------------------------------------------------

    async def _locked(self, list_id: uuid.UUID) -> SegmentList:
        segment = await self.repo.lock(list_id)
        if segment is None:
            raise NotFound("List not found")
        return segment

    async def _static(self, list_id: uuid.UUID) -> SegmentList:
        segment = await self._locked(list_id)
        if segment.is_dynamic:
            raise InvalidRequest(
                "The members of a dynamic list follow its query: change the query, or use a "
                "static list"
            )
        return segment

    async def existing(
        self, entity_type: ListEntity, record_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of these ids name live records of the entity in this workspace."""
        if entity_type == ListEntity.CONTACT:
            return set(await self.members.ids(self.contacts.matching_ids(true(), among=record_ids)))
        return set(await self.companies.by_ids(record_ids))

    def _matching(
        self,
        entity_type: ListEntity,
        where: ColumnElement[bool],
        among: Collection[uuid.UUID] | None = None,
    ) -> Select[Any]:
        if entity_type == ListEntity.CONTACT:
            return self.contacts.matching_ids(where, among)
        return self.companies.matching_ids(where, among)

    async def _catalog(self, entity_type: ListEntity) -> Catalog:
        if entity_type == ListEntity.CONTACT:
            return await self.contacts.query_catalog()
        return await self.companies.query_catalog()

    async def _compiled(
        self, segment: SegmentList, catalog: Catalog | None = None, *, correlate: bool = False
    ) -> Compiled:
        """The list's query; `correlate`d to be evaluated on a few records (`follow`)."""
        if catalog is None:
            catalog = await self._catalog(segment.entity_type)
        try:
            return compiled_for(
                self.context,
                catalog,
                _parsed(segment.criteria),
                field=CRITERIA,
                correlate=correlate,
            )
        except InvalidQuery as exc:
            raise where_renamed(exc, CRITERIA) from None

    async def _checked(self, segment: SegmentList) -> Compiled:
        """The list's query compiled, once the lists it names are known to exist, to hold
        the same kind of records, and not to lead back to this list."""
        node = _parsed(segment.criteria)
        references = _list_references(node)
        named = [list_id for list_id, _through in references]
        found = await self.repo.by_ids(named)
        for list_id, through in references:
            other = found.get(list_id)
            if other is None:
                raise field_error(CRITERIA, f"No list {list_id} in this workspace")
            wanted = ListEntity.COMPANY if through else segment.entity_type
            if other.entity_type != wanted:
                raise field_error(
                    CRITERIA, f"List {other.name!r} holds {other.entity_type.value} records"
                )
        await self._refuse_cycle(segment, named)
        return await self._compiled(segment)

    async def _refuse_cycle(self, segment: SegmentList, named: list[uuid.UUID]) -> None:
        """422 if following the lists the query names (and the lists their queries name, and
        so on) comes back to this list."""
        dynamic = {other.id: other for other in await self.repo.dynamic()}
        path: list[uuid.UUID] = [segment.id]

        def visit(list_id: uuid.UUID) -> list[uuid.UUID] | None:
            if list_id == segment.id:
                return [*path, list_id]
            other = dynamic.get(list_id)
            if other is None or list_id in path:
                return None
            path.append(list_id)
            for next_id in _named_lists(_parsed(other.criteria)):
                cycle = visit(next_id)
                if cycle:
                    return cycle
            path.pop()
            return None

        for list_id in named:
            cycle = visit(list_id)
            if cycle:
                names = {segment.id: segment.name, **{i: d.name for i, d in dynamic.items()}}
                loop = " -> ".join(names.get(i, str(i)) for i in cycle)
                raise field_error(CRITERIA, f"Lists may not use each other in a cycle ({loop})")

    async def _rebuild(
        self, segment: SegmentList, compiled: Compiled, *, announce: bool
    ) -> tuple[int, int]:
        """Make the membership exactly what the query matches now: members that no longer
        match leave, matches that are not members join; (joined, left)."""
        matching = self._matching(segment.entity_type, compiled.where)
        leaving = await self.members.delete_unmatched(segment.id, matching)
        joining = await self.members.ids_matching(matching, segment.id)
        now = utcnow()
        await self.members.insert(segment.id, joining, now)
        segment.member_count = await self.repo.count_members(segment.id)
        segment.evaluated_at = now
        if announce:
            self._announce(segment, "list.member_added", joining)
            self._announce(segment, "list.member_removed", leaving)
        await self.repo.flush()
        return len(joining), len(leaving)

    async def _join(self, segment: SegmentList, record_ids: list[uuid.UUID]) -> None:
        """Add the records (the list is locked) that are not in it yet."""
        if not record_ids:
            return
        present = await self.members.present(segment.id, record_ids)
        record_ids = [i for i in record_ids if i not in present]
        if not record_ids:
            return
        await self.members.insert(segment.id, record_ids, utcnow())
        segment.member_count += len(record_ids)
        self._announce(segment, "list.member_added", record_ids)
        await self.repo.flush()

    async def _leave(self, segment: SegmentList, record_ids: list[uuid.UUID]) -> None:
        """Take the records out of the list (locked): only those that were in it count."""
        if not record_ids:
            return
        record_ids = await self.members.delete(segment.id, record_ids)
        if not record_ids:
            return
        segment.member_count -= len(record_ids)
        self._announce(segment, "list.member_removed", record_ids)
        await self.repo.flush()

    def _announce(self, segment: SegmentList, event_type: str, record_ids: list[uuid.UUID]) -> None:
        """One event per record that joined or left: on the record's timeline, and what
        journeys will start from (segment entered, segment exited)."""
        resource = segment.entity_type.value.lower()
        data = {"listId": str(segment.id), "listName": segment.name}
        for record_id in record_ids:
            self.events.record(event_type, resource, record_id, data)

    @staticmethod
    def _record(segment: SegmentList) -> dict[str, Any]:
        return list_out(segment).model_dump(mode="json", exclude={"member_count", "evaluated_at"})
