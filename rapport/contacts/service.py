"""Contact rules: normalisation, uniqueness, lookups by id / email / externalId, soft delete."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, Select

from rapport.contacts.filters import ContactFilters
from rapport.contacts.repository import (
    ContactRepository,
    email_taken,
    external_id_taken,
)
from rapport.contacts.schemas import (
    ContactCreate,
    ContactOut,
    ContactUpdate,
    ContactUpsert,
    ResolveRequest,
)
from rapport.events.service import EventRecorder, changes_between
from rapport.kit import hooks
from rapport.kit.batch import Batch, BatchStatus, Changed, Outcome, written
from rapport.kit.context import Context
from rapport.kit.cql.fields import Catalog
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import (
    AppError,
    Conflict,
    ErrorDetail,
    NotFound,
    ValidationFailed,
    field_error,
    query_value,
)
from rapport.kit.etag import ensure_match, etag_for
from rapport.kit.ids import new_id, parse_uuid
from rapport.kit.normalize import clean, folded, normalize_phone
from rapport.kit.pagination import PageRequest
from rapport.models.contacts import GONE, Contact, ContactStatus
from rapport.models.properties import PropertyEntity
from rapport.properties.service import PropertyRules
from rapport.suppressions.service import SuppressionService
from rapport.tenancy.service import checked_owner

NAME_LENGTH = 300
MERGE_DEPTH = 20
# How much each identifier alone says two records are the same person; several combine as
# independent evidence (1 - product of doubts).
MATCH_WEIGHTS = {"externalId": 1.0, "email": 0.95, "phone": 0.7, "name": 0.4}
SURE_MATCH = 0.9
RESOLVE_CANDIDATES = 10
# The unique identities of a contact, in the order an upsert looks for the one to update.
_IDENTITIES = {"external_id": "externalId", "email": "email"}


@dataclass(frozen=True)
class Scored:
    contact: Contact
    score: float
    reasons: list[str]


_NAME_FIELDS = ("name", "given_name", "family_name")


def normalize_email(value: str | None) -> str | None:
    if value is None:
        return None
    return _normalized_email(value.strip())


@functools.lru_cache(maxsize=4096)
def _normalized_email(value: str) -> str:
    """Remembered: a batch reads each record's email for its identity, then again when it
    builds the record, and the check is a tenth of a millisecond (a refusal is not kept)."""
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise field_error("email", str(exc)) from exc


def contact_etag(contact: Contact) -> str:
    return etag_for(contact.id, contact.version)


class ContactService:
    sort_fields = tuple(ContactRepository.sort_columns)

    def __init__(self, context: Context) -> None:
        self.context = context
        self.repo = ContactRepository(context.session)
        self.events = EventRecorder(context)
        self.phone_region: str | None = context.workspace_settings.get("defaultPhoneRegion")
        self.rules = PropertyRules(context)
        self.suppressions = SuppressionService(context)
        self._batch: Batch[ContactCreate, Contact] | None = None
        self._erased: set[str] | None = None

    async def page(
        self, filters: ContactFilters, page: PageRequest
    ) -> tuple[list[Contact], PageMeta]:
        if filters.email is not None:
            email = query_value("email", filters.email, normalize_email)
            filters = replace(filters, email=email)
        return await self.repo.page(filters, page)

    async def search(self, term: str, limit: int) -> tuple[list[Contact], PageMeta]:
        """Typeahead: live contacts whose name, email or phone contain `term`, best matches
        first; no total is counted (on PostgreSQL a trigram index serves the match)."""
        rows = await self.repo.typeahead(term, limit + 1)
        meta = PageMeta(total=None, skip=0, take=limit, page=1, has_more=len(rows) > limit)
        return rows[:limit], meta

    async def get(self, ref: str) -> Contact:
        """By id, else by email (when `ref` has an @), else by externalId; a merged contact
        resolves to the contact it was merged into."""
        contact = await self.find(ref)
        for _ in range(MERGE_DEPTH):
            if contact.merged_into_id is None:
                return contact
            winner = await self.repo.get(contact.merged_into_id)
            if winner is None:
                break
            contact = winner
        return contact

    async def by_id(self, contact_id: uuid.UUID) -> Contact | None:
        """The contact with this id, merged or not (None if there is none)."""
        return await self.repo.get(contact_id)

    async def reread(self, contact: Contact) -> Contact:
        """The contact as the database holds it now (after a lock), not as first loaded."""
        await self.repo.refresh(contact)
        return contact

    async def by_ids(self, contact_ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        return await self.repo.by_ids(contact_ids)

    async def query_catalog(self, *, nested: bool = False) -> Catalog:
        """What the query language can ask of a contact in this workspace: its own fields and
        those other domains offer (custom properties, tags, companies, activities, leads,
        lists); `nested`: as seen through a relation (no relations of its own)."""
        fields = await hooks.query_fields(self.context, "contact", nested=nested)
        return Catalog.of("contact", Contact.id, fields, Contact.properties)

    def matching_ids(
        self,
        matching: ColumnElement[bool],
        among: Collection[uuid.UUID] | Select[Any] | None = None,
    ) -> Select[Any]:
        """The ids of the live contacts meeting a compiled query condition (`among` these
        ids only, if given): what a dynamic list holds."""
        if among is None:
            return self.repo.live_ids_where(matching)
        return self.repo.live_ids_where(matching, Contact.id.in_(among))

    def export_rows(self, columns: Sequence[Any], matching: ColumnElement[bool]) -> Select[Any]:
        """The columns (of a query catalogue's fields) of the live contacts meeting a compiled
        query condition, in id order: what an export streams."""
        return self.repo.live_rows_where(columns, matching)

    async def ids_with_email(self, email: str) -> list[uuid.UUID]:
        """The live contacts whose email is this one, as stored (lowercase)."""
        return await self.repo.live_ids(Contact.email == email.strip().lower())

    async def ids_matching(self, matching: ColumnElement[bool]) -> list[uuid.UUID]:
        """The ids of the live contacts meeting a compiled query condition, in id order (a
        campaign's audience, frozen)."""
        return await self.repo.live_ids(matching)

    def not_deleted(self) -> Select[Any]:
        """A subquery of the ids of contacts that are not deleted, for other domains' lists."""
        return self.repo.ids_where(Contact.status != ContactStatus.DELETED)

    async def lock(self, contact_id: uuid.UUID) -> None:
        """Serialise changes that span several rows of one contact until commit (see
        `ContactRepository.lock`)."""
        await self.repo.lock(contact_id)

    async def flush(self) -> None:
        await self.repo.flush()

    async def taken_by_another(self, field: str, value: str, contact_id: uuid.UUID) -> bool:
        """Whether a live contact other than this one has this email or externalId."""
        holder = await self.repo.live_holder(
            getattr(Contact, field) == value, exclude_id=contact_id
        )
        return holder is not None

    async def touch_activity(self, contact_id: uuid.UUID, moment: datetime) -> None:
        """Something happened with the contact at `moment` (an activity was logged)."""
        await self.repo.touch_activity(contact_id, moment)

    async def find(self, ref: str) -> Contact:
        """The contact `ref` names, merged or not."""
        contact: Contact | None = None
        record_id = parse_uuid(ref)
        if record_id is not None:
            contact = await self.repo.get(record_id)
        if contact is None and "@" in ref:
            try:
                email = normalize_email(ref)
            except ValidationFailed:
                email = None
            if email:
                contact = await self.repo.by_reference(Contact.email, email)
        if contact is None:
            contact = await self.repo.by_reference(Contact.external_id, ref)
        if contact is None:
            raise NotFound("Contact not found")
        return contact

    async def save(self, data: ContactUpsert) -> tuple[Contact, bool]:
        """Create the contact, or with `upsert` update the live contact with its externalId
        (else its email) using the fields sent; the contact and whether it was created."""
        if data.upsert:
            external_id, email = clean(data.external_id), normalize_email(clean(data.email))
            identities = [f"externalId:{external_id}"] if external_id else []
            identities += [f"email:{email}"] if email else []
            await self.repo.serialize_identities(identities)
            existing = None
            if external_id:
                existing = await self.repo.live_by(Contact.external_id == external_id)
            if existing is None and email:
                existing = await self.repo.live_by(Contact.email == email)
            if existing is not None:
                sent = data.model_fields_set - {"upsert", "tenant_id", "entity_id"}
                patch = ContactUpdate(**{field: getattr(data, field) for field in sent})
                return await self.update(str(existing.id), patch), False
        return await self.create(ContactCreate(**data.model_dump(exclude={"upsert"}))), True

    async def resolve(self, query: ResolveRequest) -> tuple[Contact | None, list[Scored]]:
        """The contacts that may be the person described, scored; the sure match if any."""
        email = normalize_email(clean(query.email))
        phone = normalize_phone(clean(query.phone), self.phone_region)
        external_id, name = clean(query.external_id), clean(query.name)
        if not any((email, phone, external_id, name)):
            raise field_error("email", "Give at least one of email, phone, externalId, name")
        found = await self.repo.candidates(
            email=email, phone=phone, external_id=external_id, name=name
        )
        scored = []
        for contact in found:
            signals = (
                ("externalId", external_id is not None and contact.external_id == external_id),
                ("email", email is not None and contact.email == email),
                ("phone", phone is not None and contact.phone == phone),
                ("name", name is not None and folded(contact.name or "") == folded(name)),
            )
            reasons = [reason for reason, hit in signals if hit]
            doubt = 1.0
            for reason in reasons:
                doubt *= 1 - MATCH_WEIGHTS[reason]
            scored.append(Scored(contact, round(1 - doubt, 3), reasons))
        scored.sort(key=lambda s: (-s.score, str(s.contact.id)))
        best = scored[:RESOLVE_CANDIDATES]
        sure = bool(best) and best[0].score >= SURE_MATCH
        unique = len(best) < 2 or best[1].score < best[0].score
        return (best[0].contact if sure and unique else None), best

    async def create(self, data: ContactCreate) -> Contact:
        contact = await self._new_contact(data)
        self.repo.add(contact)
        await self.repo.flush()
        await self._written([(contact, None)])
        return contact

    async def save_many(
        self,
        records: Sequence[Any],
        *,
        upsert: bool,
        label: Callable[[int], str] | None = None,
    ) -> list[Outcome[Contact]]:
        """Create (with `upsert`, create or update as `save` does) each record, under the same
        rules as one at a time; a refused record changes nothing and the others go on. Every
        identity the batch names is locked and read at once, the records are written in one
        flush and their events and property values at commit."""
        batch: Batch[ContactCreate, Contact] = Batch(
            ContactCreate, records, _IDENTITIES, live=lambda c: c.status not in GONE, label=label
        )
        named = batch.read_keys(
            lambda item: {
                "external_id": clean(item.external_id),
                "email": normalize_email(clean(item.email)),
            }
        )
        await self.repo.serialize_identities(
            [f"email:{e}" for e in named["email"]]
            + [f"externalId:{x}" for x in named["external_id"]]
        )
        batch.know(await self.repo.live_with_identities(named["email"], named["external_id"]))
        self._erased = await self.suppressions.erased_among(named["email"])
        self._batch = batch
        try:
            planned = await batch.plan(self._added, self._change_sent, upsert=upsert)
        finally:
            self._batch = self._erased = None
        await self.repo.flush()
        await self._written(written(planned))
        return [outcome for outcome, _ in planned]

    async def _added(self, data: ContactCreate) -> Contact:
        contact = await self._new_contact(data)
        self.repo.add(contact)
        return contact

    async def _change_sent(self, contact: Contact, data: ContactCreate) -> Changed | None:
        sent = data.model_fields_set - {"tenant_id", "entity_id"}
        return await self._change(contact, ContactUpdate(**{f: getattr(data, f) for f in sent}))

    async def delete_many(self, refs: Sequence[str]) -> list[Outcome[Contact]]:
        """Soft-delete each contact named, as `delete` does one: deleted, unchanged (it was
        already), or failed (no such contact)."""
        outcomes: list[Outcome[Contact]] = []
        for ref in refs:
            try:
                contact = await self.get(ref)
            except AppError as exc:
                outcomes.append(Outcome.failed(exc))
                continue
            if contact.status == ContactStatus.DELETED:
                outcomes.append(Outcome(BatchStatus.UNCHANGED, contact))
            else:
                outcomes.append(Outcome(BatchStatus.DELETED, await self.delete(str(contact.id))))
        return outcomes

    async def _new_contact(self, data: ContactCreate) -> Contact:
        """The contact `data` describes, checked and normalised, not yet added."""
        if data.status in GONE:
            raise field_error(
                "status", "A new contact is ACTIVE or ARCHIVED (DELETE and merge end contacts)"
            )
        email = normalize_email(clean(data.email))
        phone = normalize_phone(clean(data.phone), self.phone_region)
        external_id = clean(data.external_id)
        given, family = clean(data.given_name), clean(data.family_name)
        derived = " ".join(p for p in (given, family) if p)[:NAME_LENGTH]
        name = clean(data.name) or derived or None
        if not any((email, phone, external_id, name)):
            raise field_error(
                "email", "A contact needs at least an email, phone, externalId or name"
            )
        await self._ensure_unique(email, external_id)
        await self._refuse_erased(email, data.reconsent)
        return Contact(
            id=new_id(),
            email=email,
            phone=phone,
            external_id=external_id,
            name=name,
            given_name=given,
            family_name=family,
            status=data.status,
            lifecycle_stage=data.lifecycle_stage,
            owner_user_id=await checked_owner(self.context, data.owner_user_id),
            properties=await self.rules.checked(
                PropertyEntity.CONTACT, data.properties, creating=True
            ),
        )

    async def _written(self, records: Sequence[tuple[Contact, Changed | None]]) -> None:
        """After the flush, for contacts created (None) or changed: the property-value index
        of them all at once, then each one's event."""
        await self.rules.store_many(
            PropertyEntity.CONTACT,
            [(c.id, change.properties if change else {}, c.properties) for c, change in records],
        )
        for contact, change in records:
            if change is None:
                self._emit("contact.created", contact)
                continue
            # Deleting by PATCH is a delete to whoever follows `contact.deleted` (as DELETE is).
            deleted = (
                contact.status == ContactStatus.DELETED and change.before["status"] != "DELETED"
            )
            self._emit("contact.deleted" if deleted else "contact.updated", contact, change.before)

    async def update(self, ref: str, patch: ContactUpdate, if_match: str | None = None) -> Contact:
        contact = await self.get(ref)
        ensure_match(if_match, contact_etag(contact))
        change = await self._change(contact, patch)
        if change is not None:
            await self.repo.flush()
            await self._written([(contact, change)])
        return contact

    async def _change(self, contact: Contact, patch: ContactUpdate) -> Changed | None:
        """Check the fields sent and set them on `contact` (nothing is set when one is
        refused); what changed, None when nothing did."""
        sent = patch.model_fields_set - {"tenant_id", "entity_id"}
        changes: dict[str, Any] = {}
        if "email" in sent:
            changes["email"] = normalize_email(clean(patch.email))
        if "phone" in sent:
            changes["phone"] = normalize_phone(clean(patch.phone), self.phone_region)
        if "external_id" in sent:
            changes["external_id"] = clean(patch.external_id)
        for field in _NAME_FIELDS:
            if field in sent:
                changes[field] = clean(getattr(patch, field))
        for field in ("status", "lifecycle_stage"):
            if field in sent:
                changes[field] = getattr(patch, field)
        if "owner_user_id" in sent:
            changes["owner_user_id"] = await checked_owner(self.context, patch.owner_user_id)
        if changes.get("status", contact.status) is None:
            raise field_error("status", "Cannot be null")
        if changes.get("status") == ContactStatus.MERGED:
            raise field_error("status", "Contacts become MERGED by POST /contacts/{id}/merge")
        if "properties" in sent:
            changes["properties"] = await self.rules.merged(
                PropertyEntity.CONTACT, contact.properties, patch.properties
            )
        changes = {k: v for k, v in changes.items() if getattr(contact, k) != v}
        if not changes:
            return None
        if "email" in changes:
            await self._refuse_erased(changes["email"], patch.reconsent)
        after_status = changes.get("status", contact.status)
        if after_status not in GONE:
            await self._ensure_unique(
                changes.get("email", contact.email),
                changes.get("external_id", contact.external_id),
                exclude_id=contact.id,
            )
        change = Changed(_record(contact), contact.properties)
        for field, value in changes.items():
            setattr(contact, field, value)
        return change

    async def delete(self, ref: str, if_match: str | None = None) -> Contact:
        """Soft delete: the contact stays readable with status DELETED; deleting twice is a no-op
        (the record is returned unchanged)."""
        contact = await self.get(ref)
        ensure_match(if_match, contact_etag(contact))
        if contact.status != ContactStatus.DELETED:
            await hooks.removing(self.context, "contact", contact.id)
            contact.status = ContactStatus.DELETED
            await self.repo.flush()
            self._emit("contact.deleted", contact)
        return contact

    def _emit(
        self, event_type: str, contact: Contact, before: dict[str, Any] | None = None
    ) -> None:
        record = _record(contact)
        data: dict[str, Any] = {"record": record}
        if before is not None:
            data["changes"] = changes_between(before, record)
        self.events.record(event_type, "contact", contact.id, data)

    async def _ensure_unique(
        self, email: str | None, external_id: str | None, exclude_id: uuid.UUID | None = None
    ) -> None:
        holder = email and await self._holder("email", email, exclude_id)
        if holder:
            raise email_taken(holder)
        holder = external_id and await self._holder("external_id", external_id, exclude_id)
        if holder:
            raise external_id_taken(holder)

    async def _refuse_erased(self, email: str | None, reconsent: bool) -> None:
        """An erased person's email comes back only with their renewed consent, which lifts
        its suppression."""
        if email is None:
            return
        if self._erased is not None:
            erased = email in self._erased
        else:
            erased = bool(await self.suppressions.erased_among([email]))
        if not erased:
            return
        if not reconsent:
            raise Conflict(
                "This email belonged to a person who was erased; send reconsent: true if they "
                "consented again",
                code="CONTACT_ERASED",
                details=[ErrorDetail(field="email", message="Erased; reconsent required")],
            )
        await self.suppressions.forget_erased(email)
        if self._erased is not None:
            self._erased.discard(email)

    async def _holder(
        self, field: str, value: str, exclude_id: uuid.UUID | None
    ) -> uuid.UUID | None:
        """The live contact other than `exclude_id` holding this email or externalId: as a
        batch knows it (it read them all at once), else from the database."""
        if self._batch is not None:
            known, holder = self._batch.holder(field, value)
            if known:
                return holder.id if holder is not None and holder.id != exclude_id else None
        return await self.repo.live_holder(getattr(Contact, field) == value, exclude_id=exclude_id)

    async def count_created_between(self, start: datetime, end: datetime) -> int:
        """How many of the live contacts (neither deleted nor merged) were created between
        `start` and `end` (both included)."""
        return await self.repo.count_live_created_between(start, end)


def _record(contact: Contact) -> dict[str, Any]:
    """The contact as the API shows it, which is also what events and webhooks carry."""
    return ContactOut.model_validate(contact).model_dump(mode="json")
