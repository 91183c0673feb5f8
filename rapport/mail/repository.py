"""Every query on outbound email connections and outbound emails."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, ClassVar

from sqlalchemy import case, update

from rapport.kit.envelope import PageMeta
from rapport.kit.errors import AppError, taken
from rapport.kit.pagination import PageRequest, paginate
from rapport.kit.repository import Repository
from rapport.models.mail import OutboundEmail, OutboundEmailConnection


def name_taken(existing_id: uuid.UUID | None = None) -> AppError:
    return taken(
        "An outbound email connection with this name already exists",
        "EMAIL_CONNECTION_NAME_EXISTS",
        "name",
        existing_id,
    )


class ConnectionRepository(Repository[OutboundEmailConnection]):
    model = OutboundEmailConnection
    sort_columns: ClassVar[dict[str, Any]] = {
        "createdAt": OutboundEmailConnection.created_at,
        "updatedAt": OutboundEmailConnection.updated_at,
        "name": OutboundEmailConnection.name,
    }
    unique_violations: ClassVar[dict[str, Any]] = {
        "uq_outbound_email_connections_tenant_name": name_taken,
        "outbound_email_connections.tenant_id, outbound_email_connections.name": name_taken,
    }

    async def page(self, request: PageRequest) -> tuple[list[OutboundEmailConnection], PageMeta]:
        return await paginate(
            self.session, self.select(), request, self.sort_columns, OutboundEmailConnection.id
        )

    async def oldest(self) -> OutboundEmailConnection | None:
        result = await self.session.execute(
            self.select()
            .order_by(OutboundEmailConnection.created_at, OutboundEmailConnection.id)
            .limit(1)
        )
        connection: OutboundEmailConnection | None = result.scalar_one_or_none()
        return connection

    async def by_name(
        self, name: str, exclude_id: uuid.UUID | None = None
    ) -> OutboundEmailConnection | None:
        conditions = [OutboundEmailConnection.name == name]
        if exclude_id is not None:
            conditions.append(OutboundEmailConnection.id != exclude_id)
        return await self.first(*conditions)

    async def take_slots(
        self, connection_id: uuid.UUID, count: int, rate: float, now: float
    ) -> float | None:
        """Take the connection's next `count` sending slots (1/rate seconds each, after those
        already taken, none before `now`) in one statement, so that every worker shares the
        pace; the time the first slot opens (seconds since the epoch), or None if the
        connection is gone."""
        span = count / rate
        taken_until = OutboundEmailConnection.paced_until
        result = await self.session.execute(
            update(OutboundEmailConnection)
            .where(OutboundEmailConnection.id == connection_id)
            .values(
                paced_until=case((taken_until > now, taken_until), else_=now) + span,
                # Sending state, not a change of the connection: its updatedAt stays.
                updated_at=OutboundEmailConnection.updated_at,
            )
            .returning(OutboundEmailConnection.paced_until)
            .execution_options(synchronize_session=False)
        )
        end = result.scalar_one_or_none()
        return None if end is None else float(end) - span


class OutboundEmailRepository(Repository[OutboundEmail]):
    model = OutboundEmail

    async def to_contacts(self, contact_ids: Collection[uuid.UUID]) -> list[OutboundEmail]:
        result = await self.session.execute(
            self.select()
            .where(OutboundEmail.contact_id.in_(contact_ids))
            .order_by(OutboundEmail.created_at, OutboundEmail.id)
        )
        return list(result.scalars())

    async def update_to_contacts(
        self, contact_ids: Collection[uuid.UUID], *where: Any, **values: Any
    ) -> int:
        result = await self.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.contact_id.in_(contact_ids), *where)
            .values(**values)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)
