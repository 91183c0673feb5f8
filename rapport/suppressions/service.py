"""Suppression rules. Addresses are known by the SHA-256 of their normalised form, so that an
erased person is recognised when their address comes back without the address being kept."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from typing import Any

from email_validator import EmailNotValidError, validate_email

from rapport.events.service import EventRecorder
from rapport.kit.context import Context
from rapport.kit.envelope import PageMeta
from rapport.kit.errors import Conflict, NotFound, field_error, query_value
from rapport.kit.normalize import clean
from rapport.kit.pagination import PageRequest
from rapport.models.suppressions import Suppression, SuppressionReason
from rapport.suppressions.repository import SuppressionRepository
from rapport.suppressions.schemas import SuppressionCreate, SuppressionOut

# Addresses looked up per statement: one query for any list a caller is likely to hold, well
# under the bound parameters either database takes.
_LOOKUP_CHUNK = 10_000


def normalised(email: str) -> str:
    """The form addresses are compared in: trimmed and lowercase (as contacts store them)."""
    return email.strip().lower()


def email_hash(email: str) -> str:
    """The sha256 hex digest of the normalised address."""
    return hashlib.sha256(normalised(email).encode()).hexdigest()


def checked_email(value: str) -> str:
    """The address as contacts store it (checked, normalised, lowercase); a 422 on `email`
    when it is not an address."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise field_error("email", str(exc)) from exc


def erased_entry() -> Conflict:
    return Conflict(
        "This entry is an erased person's: it goes when the person consents again, which is "
        'recorded by creating the contact again with "reconsent": true',
        code="SUPPRESSION_ERASED",
    )


def suppression_record(entry: Suppression) -> dict[str, Any]:
    """The entry as the API shows it (what its events carry)."""
    return SuppressionOut.model_validate(entry).model_dump(mode="json")


class SuppressionService:
    """The workspace's suppression list. It imports no other domain but events, so that
    contacts (and the campaigns sending to them) can consult it."""

    def __init__(self, context: Context) -> None:
        self.repo = SuppressionRepository(context.session)
        self.events = EventRecorder(context)

    # --- consulted by other domains -------------------------------------------------------

    async def suppressed_among(self, emails: Collection[str]) -> set[str]:
        """Which of these addresses are on the list, for any reason, as given (every
        spelling of one address is): one query for up to 10,000 distinct addresses."""
        by_hash: dict[str, list[str]] = {}
        for email in emails:
            by_hash.setdefault(email_hash(email), []).append(email)
        hashes = list(by_hash)
        found: set[str] = set()
        for start in range(0, len(hashes), _LOOKUP_CHUNK):
            found |= await self.repo.hashes_among(hashes[start : start + _LOOKUP_CHUNK])
        return {email for digest in found for email in by_hash[digest]}

    async def erased_among(self, emails: Collection[str]) -> set[str]:
        """Which of these addresses belong to erased people (one query), as given."""
        by_hash = {email_hash(email): email for email in emails}
        if not by_hash:
            return set()
        found = await self.repo.hashes_with_reason(by_hash, SuppressionReason.ERASED)
        return {by_hash[digest] for digest in found}

    async def ids_of(self, emails: Collection[str]) -> list[uuid.UUID]:
        """The ids of these addresses' entries (the events about an entry name it by id)."""
        if not emails:
            return []
        return await self.repo.ids_of_hashes({email_hash(email) for email in emails})

    async def suppress(
        self, email: str, reason: SuppressionReason, source: str | None = None
    ) -> tuple[Suppression, bool]:
        """Put the address on the list unless it is there (bounce and complaint handling);
        the entry and whether it is new. An entry there already stays as it is, whatever its
        reason: a manual entry is not turned into a bounce. Erasures use `record_erased`."""
        if reason == SuppressionReason.ERASED:
            raise ValueError("An erased person's address is recorded by record_erased")
        return await self._add(email, reason, clean(source))

    async def record_erased(self, email: str) -> None:
        """The address belongs to an erased person: its hash is kept, reason `erased`. An
        entry for it already (a manual one, say, or one a concurrent erasure of another
        contact with this address just wrote) becomes this one and loses the address and
        its source."""
        digest = email_hash(email)
        await self.repo.add_if_missing(digest, SuppressionReason.ERASED)
        await self.repo.set_reason(digest, SuppressionReason.ERASED)

    async def forget_erased(self, email: str) -> bool:
        """The erased person gave their consent again: the address is no longer suppressed
        as erased; whether it was."""
        return await self.repo.delete_with_reason(email_hash(email), SuppressionReason.ERASED)

    # --- the routes -----------------------------------------------------------------------

    async def page(
        self, reason: SuppressionReason | None, email: str | None, page: PageRequest
    ) -> tuple[list[Suppression], PageMeta]:
        """The list, filtered by reason and by one address (found by its hash, so an erased
        person's entry is found too)."""
        digest = None
        if email is not None:
            digest = email_hash(query_value("email", email, checked_email))
        return await self.repo.page(reason, digest, page)

    async def get(self, suppression_id: uuid.UUID) -> Suppression:
        entry = await self.repo.get(suppression_id)
        if entry is None:
            raise NotFound("Suppression not found")
        return entry

    async def add(self, data: SuppressionCreate) -> tuple[Suppression, bool]:
        """The address's entry, made unless there is one (which is answered unchanged); whether
        it is new."""
        reason = SuppressionReason(data.reason.value)
        return await self._add(data.email, reason, clean(data.source))

    async def remove(self, suppression_id: uuid.UUID) -> None:
        """Take a manual, bounced or complained entry off the list; an erased person's entry
        is refused (409 SUPPRESSION_ERASED)."""
        entry = await self.get(suppression_id)
        if entry.reason == SuppressionReason.ERASED:
            raise erased_entry()
        record = suppression_record(entry)
        if not await self.repo.delete_unless_erased(suppression_id):
            # An erasure made it an erased person's entry meanwhile, or it was removed.
            if await self.repo.exists(suppression_id):
                raise erased_entry()
            raise NotFound("Suppression not found")
        self.events.record("suppression.removed", "suppression", suppression_id, {"record": record})

    async def _add(
        self, email: str, reason: SuppressionReason, source: str | None
    ) -> tuple[Suppression, bool]:
        address = checked_email(email)
        digest = email_hash(address)
        # Twice at most: the entry this insert gave way to may have been removed meanwhile.
        for _attempt in range(2):
            new_id = await self.repo.insert_if_missing(digest, address, reason, source)
            if new_id is not None:
                entry = await self.get(new_id)
                record = suppression_record(entry)
                self.events.record("suppression.added", "suppression", entry.id, {"record": record})
                return entry, True
            existing = await self.repo.by_hash(digest)
            if existing is not None:
                return existing, False
        raise Conflict("The address's entry changed during the request; send it again")
