"""Tag rules: unique keys per workspace, and putting tags on contacts and companies."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select

from rapport.companies.service import CompanyService
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder, changes_between
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import NotFound, field_error
from rapport.kit.ids import parse_uuid
from rapport.kit.normalize import clean
from rapport.kit.pagination import PageRequest
from rapport.models.tags import Tag
from rapport.tags.repository import (
    CompanyTagRepository,
    ContactTagRepository,
    TagRepository,
    key_taken,
)
from rapport.tags.schemas import TagCreate, TagOut, TagUpdate


class TagService:
    def __init__(self, context: Context) -> None:
        self.session = context.session
        self.repo = TagRepository(context.session)
        self.events = EventRecorder(context)

    async def page(self, search: str | None, page: PageRequest) -> tuple[list[Tag], PageMeta]:
        return await self.repo.page(search, page)

    async def find(self, ref: str) -> Tag:
        """By id, else by key (in any case: keys are lowercase)."""
        tag_id = parse_uuid(ref)
        tag = await self.repo.get(tag_id) if tag_id is not None else None
        tag = tag or await self.repo.by_key(ref.lower())
        if tag is None:
            raise NotFound("Tag not found")
        return tag

    async def get(self, tag_id: uuid.UUID) -> Tag:
        tag = await self.repo.get(tag_id)
        if tag is None:
            raise NotFound("Tag not found")
        return tag

    async def create(self, data: TagCreate) -> Tag:
        name = clean(data.name)
        if name is None:
            raise field_error("name", "Cannot be blank")
        holder = await self.repo.by_key(data.key)
        if holder is not None:
            raise key_taken(holder.id)
        tag = self.repo.add(
            Tag(
                key=data.key,
                name=name,
                description=clean(data.description),
                color=data.color.upper() if data.color else None,
            )
        )
        await self.repo.flush()
        self.events.record("tag.created", "tag", tag.id, {"record": tag_record(tag)})
        return tag

    async def update(self, tag_id: uuid.UUID, patch: TagUpdate) -> Tag:
        tag = await self.get(tag_id)
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        changes: dict[str, Any] = {}
        for field in ("key", "name"):
            if field in sent:
                if getattr(patch, field) is None or clean(getattr(patch, field)) is None:
                    raise field_error(field, "Cannot be null or blank")
                changes[field] = clean(getattr(patch, field))
        if "description" in sent:
            changes["description"] = clean(patch.description)
        if "color" in sent:
            changes["color"] = patch.color.upper() if patch.color else None
        changes = {k: v for k, v in changes.items() if getattr(tag, k) != v}
        if not changes:
            return tag
        holder = "key" in changes and await self.repo.by_key(changes["key"], exclude_id=tag.id)
        if holder:
            raise key_taken(holder.id)
        before = tag_record(tag)
        for field, value in changes.items():
            setattr(tag, field, value)
        await self.repo.flush()
        after = tag_record(tag)
        data = {"record": after, "changes": changes_between(before, after)}
        self.events.record("tag.updated", "tag", tag.id, data)
        return tag

    async def delete(self, tag_id: uuid.UUID) -> None:
        """Deletes the tag, which comes off every contact and company carrying it."""
        tag = await self.get(tag_id)
        record = tag_record(tag)
        await self.session.delete(tag)
        await self.repo.flush()
        self.events.record("tag.deleted", "tag", tag_id, {"record": record})


class TaggingService:
    """The tags on contacts (`kind="contact"`) or companies (`kind="company"`)."""

    def __init__(self, context: Context, kind: str) -> None:
        self.kind = kind
        self.tags = TagService(context)
        self.events = EventRecorder(context)
        if kind == "contact":
            self.links: ContactTagRepository | CompanyTagRepository = ContactTagRepository(
                context.session
            )
            self.records: ContactService | CompanyService = ContactService(context)
        else:
            self.links = CompanyTagRepository(context.session)
            self.records = CompanyService(context)

    @classmethod
    def of_contacts(cls, context: Context) -> TaggingService:
        return cls(context, "contact")

    @classmethod
    def of_companies(cls, context: Context) -> TaggingService:
        return cls(context, "company")

    def record_ids_tagged(self, tag_ref: str) -> Select[Any]:
        """A subquery of the ids of the records carrying the tag named by id or key (none if
        there is no such tag): lists filtered by tag."""
        return self.links.record_ids_tagged(self.tags.repo.ids_of(tag_ref))

    async def tags_of(self, ref: str) -> list[Tag]:
        record = await self.records.get(ref)
        return await self.links.tags_of(record.id)

    async def untag_all(self, record_ids: Collection[uuid.UUID]) -> int:
        """An erasure: every tag comes off these records, without events (the records' own
        are redacted); how many tags came off."""
        return await self.links.unlink_all(record_ids)

    async def add(self, ref: str, tag_id: uuid.UUID) -> tuple[Tag, bool]:
        """The tag, and whether it was newly put on (putting it on twice changes nothing)."""
        record = await self.records.get(ref)
        tag = await self.tags.repo.get(tag_id)
        if tag is None:
            raise field_error("tagId", "No such tag in this workspace")
        added = bool(await self.links.put_on([record.id], tag.id))
        if added:
            self._emit("tagged", record.id, tag)
        return tag, added

    async def put_on_many(self, record_ids: Sequence[uuid.UUID], tag_id: uuid.UUID) -> int:
        """Put the tag on these records (known to exist) at once; how many did not carry it
        already (each of them gets its event)."""
        tag = await self.tags.get(tag_id)
        added = await self.links.put_on(record_ids, tag.id)
        for record_id in added:
            self._emit("tagged", record_id, tag)
        return len(added)

    async def remove(self, ref: str, tag_ref: str) -> None:
        """Take the tag (by id or key) off the record."""
        record = await self.records.get(ref)
        tag = await self.tags.find(tag_ref)
        link = await self.links.link(record.id, tag.id)
        if link is None:
            raise NotFound(f"The {self.kind} does not carry this tag")
        await self.links.session.delete(link)
        await self.links.flush()
        self._emit("untagged", record.id, tag)

    def _emit(self, verb: str, record_id: uuid.UUID, tag: Tag) -> None:
        self.events.record(f"{self.kind}.{verb}", self.kind, record_id, {"tag": tag_record(tag)})


def tag_record(tag: Tag) -> dict[str, Any]:
    return TagOut.model_validate(tag).model_dump(mode="json")
