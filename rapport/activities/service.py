"""Activity rules: what an activity is linked to, lastActivityAt of contacts, and notes (the
NOTE activities of a contact)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic.alias_generators import to_camel
from sqlalchemy import Select

from rapport.activities.repository import ActivityFilters, ActivityRepository
from rapport.activities.schemas import (
    ActivityCreate,
    ActivityLog,
    ActivityOut,
    ActivityUpdate,
    NoteCreate,
    NoteUpdate,
)
from rapport.companies.service import CompanyService
from rapport.contacts.service import ContactService
from rapport.events.service import EventRecorder, changes_between
from rapport.kit import hooks
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import NotFound, field_error
from rapport.kit.normalize import clean
from rapport.kit.pagination import PageRequest
from rapport.models.activities import Activity, ActivityModule, ActivityType

if TYPE_CHECKING:
    # Only a type: contacts are read through ContactService.
    from rapport.models.contacts import Contact


class ActivityService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.actor = context.actor
        self.session = context.session
        self.repo = ActivityRepository(context.session)
        self.companies = CompanyService(context)
        self.contacts = ContactService(context)
        self.events = EventRecorder(context)

    def contact_ids_active_in(self, module: ActivityModule) -> Select[Any]:
        """A subquery of the ids of contacts with an activity logged in the module."""
        return self.repo.contact_ids_in(module)

    async def page(
        self, filters: ActivityFilters, page: PageRequest
    ) -> tuple[list[Activity], PageMeta]:
        return await self.repo.page(filters, page)

    async def of_contact(
        self, contact_ref: str, filters: ActivityFilters, page: PageRequest
    ) -> tuple[list[Activity], PageMeta]:
        contact = await self.contacts.get(contact_ref)
        return await self.repo.page(replace(filters, contact_id=contact.id), page)

    async def get(self, activity_id: uuid.UUID) -> Activity:
        activity = await self.repo.get(activity_id)
        if activity is None:
            raise NotFound("Activity not found")
        return activity

    async def log_for_contact(self, contact_ref: str, data: ActivityCreate) -> Activity:
        contact = await self.contacts.get(contact_ref)
        if data.lead_id is not None:
            await self._lead_links(data.lead_id)
        return await self._log(data, contact)

    async def log(self, data: ActivityLog) -> Activity:
        """An activity of `contactId`, `companyId` and/or `leadId` (at least one). An activity
        of a lead is linked to the lead's contact and company too, unless the body names
        them."""
        if data.lead_id is not None:
            links = await self._lead_links(data.lead_id)
            data = data.model_copy(
                update={
                    "contact_id": data.contact_id or links.contact_id,
                    "company_id": data.company_id or links.company_id,
                }
            )
        contact = None
        if data.contact_id is not None:
            try:
                contact = await self.contacts.get(str(data.contact_id))
            except NotFound as exc:
                raise field_error("contactId", "No such contact in this workspace") from exc
        elif data.company_id is None and data.lead_id is None:
            raise field_error("contactId", "An activity needs a contactId, a companyId or a leadId")
        return await self._log(data, contact)

    async def _lead_links(self, lead_id: uuid.UUID) -> hooks.Links:
        links = await hooks.links_of(self.context, "lead", lead_id)
        if links is None:
            raise field_error("leadId", "No such lead in this workspace")
        return links

    async def _log(self, data: ActivityCreate, contact: Contact | None) -> Activity:
        _ensure_note_content(data.type, data.content)
        if data.company_id is not None and not await self.companies.exists(data.company_id):
            raise field_error("companyId", "No such company in this workspace")
        activity = self.repo.add(
            Activity(
                type=data.type,
                module=data.module,
                subject=clean(data.subject),
                content=data.content,
                properties=data.properties,
                occurred_at=data.occurred_at or utcnow(),
                contact_id=contact.id if contact else None,
                company_id=data.company_id,
                lead_id=data.lead_id,
                actor_type=self.actor.type,
                actor_id=self.actor.id,
            )
        )
        await self.repo.flush()
        if contact is not None:
            await self.contacts.touch_activity(contact.id, activity.occurred_at)
        self._emit("activity.created", activity)
        return activity

    async def update(
        self,
        activity: Activity,
        patch: ActivityUpdate | NoteUpdate,
        *,
        recorded_keys: frozenset[str] = frozenset(),
    ) -> Activity:
        """Change what the patch sends. The keys of `properties` that a domain records on the
        activities it logged (an email's `delivery`) change only through that domain
        (`recorded_keys`, which `set_property` passes), never through the API."""
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        changes: dict[str, Any] = {}
        for field in ("type", "occurred_at", "properties", "content"):
            if field in sent:
                value = getattr(patch, field)
                if value is None and field != "content":
                    raise field_error(to_camel(field), "Cannot be null")
                changes[field] = value
        if "subject" in sent:
            changes["subject"] = clean(patch.subject)
        _ensure_note_content(
            changes.get("type", activity.type), changes.get("content", activity.content)
        )
        changes = {k: v for k, v in changes.items() if getattr(activity, k) != v}
        if "properties" in changes:
            _keep_recorded(activity.properties, changes["properties"], recorded_keys)
        if not changes:
            return activity
        before = ActivityOut.of(activity).model_dump(mode="json")
        for field, value in changes.items():
            setattr(activity, field, value)
        await self.repo.flush()
        if activity.contact_id is not None and "occurred_at" in changes:
            await self.contacts.touch_activity(activity.contact_id, activity.occurred_at)
        self._emit("activity.updated", activity, before)
        return activity

    async def delete(self, activity: Activity) -> None:
        record = ActivityOut.of(activity).model_dump(mode="json")
        await self.session.delete(activity)
        await self.repo.flush()
        self.events.record("activity.deleted", "activity", activity.id, {"record": record})

    async def note(self, contact_ref: str, note_id: uuid.UUID) -> Activity:
        contact = await self.contacts.get(contact_ref)
        note = await self.repo.of_contact(contact.id, note_id, note=True)
        if note is None:
            raise NotFound("Note not found")
        return note

    async def add_note(self, contact_ref: str, data: NoteCreate) -> Activity:
        return await self.log_for_contact(
            contact_ref,
            ActivityCreate(type=ActivityType.NOTE, subject=data.subject, content=data.content),
        )

    def _emit(
        self, event_type: str, activity: Activity, before: dict[str, Any] | None = None
    ) -> None:
        record = ActivityOut.of(activity).model_dump(mode="json")
        data: dict[str, Any] = {"record": record}
        if before is not None:
            data["changes"] = changes_between(before, record)
        self.events.record(event_type, "activity", activity.id, data)

    async def set_property(self, activity_id: uuid.UUID, key: str, value: Any) -> Activity | None:
        """Set one key of the activity's properties and keep the others: how the domain that
        logged an activity records what became of it (an email's delivery status). None when
        the activity was deleted meanwhile; emits `activity.updated` if the value changed."""
        activity = await self.repo.get(activity_id)
        if activity is None:
            return None
        patch = ActivityUpdate(properties={**activity.properties, key: value})
        return await self.update(activity, patch, recorded_keys=frozenset({key}))

    async def of_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[Activity]:
        """The contacts' activities (notes included), oldest first."""
        return await self.repo.of_contacts(contact_ids)

    async def redact_of_contacts(self, contact_ids: Collection[uuid.UUID]) -> int:
        """An erasure: the contacts' activities stay (type, time, actor, company and lead:
        what the figures count) without their subject, content, properties or contact; how
        many. Their events are the events domain's to redact."""
        return await self.repo.redact_of_contacts(contact_ids)

    async def count_by_type_logged_by(
        self, user_id: uuid.UUID, api_key_ids: Select[Any], start: datetime, end: datetime
    ) -> dict[str, int]:
        """How many activities of each type (every type, 0 for none) occurred between `start`
        and `end` (both included) that the user logged: signed in, or through one of
        `api_key_ids` (a subquery of the API keys the user created)."""
        counts = await self.repo.count_by_type_logged_by(user_id, api_key_ids, start, end)
        return {kind.value: counts.get(kind, 0) for kind in ActivityType}


RECORDED_KEYS = frozenset({"delivery"})
"""Keys of `properties` that the domain which logged the activity keeps (see `update`)."""


def _keep_recorded(
    current: dict[str, Any], wanted: dict[str, Any], allowed: frozenset[str]
) -> None:
    for key in RECORDED_KEYS - allowed:
        if key in current and wanted.get(key) != current[key]:
            raise field_error(
                f"properties.{key}",
                "Recorded by Rapport (an email's delivery status); it cannot be changed. Send "
                "the key back as it is, or leave properties out",
            )


def _ensure_note_content(kind: ActivityType, content: str | None) -> None:
    """A note is its content: a NOTE without any is refused, however it is written."""
    if kind == ActivityType.NOTE and not (content and content.strip()):
        raise field_error("content", "A note needs content")
