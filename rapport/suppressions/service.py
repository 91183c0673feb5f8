"""Suppression rules. Addresses are known by the SHA-256 of their normalised form, so that an
erased person is recognised when their address comes back without the address being kept."""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from rapport.kit.context import Context
from rapport.models.suppressions import SuppressionReason
from rapport.suppressions.repository import SuppressionRepository


def normalised(email: str) -> str:
    """The form addresses are compared in: trimmed and lowercase (as contacts store them)."""
    return email.strip().lower()


def email_hash(email: str) -> str:
    """The sha256 hex digest of the normalised address."""
    return hashlib.sha256(normalised(email).encode()).hexdigest()


class SuppressionService:
    def __init__(self, context: Context) -> None:
        self.repo = SuppressionRepository(context.session)

    async def erased_among(self, emails: Collection[str]) -> set[str]:
        """Which of these addresses belong to erased people (one query), as given."""
        by_hash = {email_hash(email): email for email in emails}
        if not by_hash:
            return set()
        found = await self.repo.hashes_with_reason(by_hash, SuppressionReason.ERASED)
        return {by_hash[digest] for digest in found}

    async def record_erased(self, email: str) -> None:
        """The address belongs to an erased person: its hash is kept, reason `erased`. An
        entry for it already (a manual one, say, or one a concurrent erasure of another
        contact with this address just wrote) becomes this one and loses the address."""
        digest = email_hash(email)
        await self.repo.add_if_missing(digest, SuppressionReason.ERASED)
        await self.repo.set_reason(digest, SuppressionReason.ERASED)

    async def forget_erased(self, email: str) -> bool:
        """The erased person gave their consent again: the address is no longer suppressed
        as erased; whether it was."""
        return await self.repo.delete_with_reason(email_hash(email), SuppressionReason.ERASED)
