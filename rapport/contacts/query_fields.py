"""What the query language can ask of a contact's own columns. Queries see live contacts only
(deleted and merged ones are out of every query, list and segment)."""

from __future__ import annotations

from typing import Any

from rapport.kit.context import Context
from rapport.kit.cql.fields import Field, FieldType, Predicate, column_builder, column_field
from rapport.kit.cql.tree import Op
from rapport.models.contacts import Contact, ContactStatus, LifecycleStage

T = FieldType


def _email_builder() -> Any:
    """Emails are stored in lowercase: compared so, an equality still uses the index."""
    plain = column_builder(Contact.email, T.TEXT)

    def build(op: Op, value: Any) -> Predicate:
        if op == Op.EQ:
            value = value.lower()
        elif op == Op.IN:
            value = tuple(v.lower() for v in value)
        return plain(op, value)

    return build


def _identified(op: Op, value: Any) -> Predicate:
    if op == Op.EXISTS:
        return Contact.id.is_not(None)
    identified = Contact.is_identified.expression
    return identified if value else ~identified


def contact_fields() -> list[Field]:
    return [
        column_field("id", "Id", Contact.id, T.ID),
        Field("email", T.TEXT, "Email", _email_builder(), writable=True, column=Contact.email),
        column_field("name", "Name", Contact.name, T.TEXT),
        column_field("givenName", "First name", Contact.given_name, T.TEXT, 2),
        column_field("familyName", "Last name", Contact.family_name, T.TEXT, 2),
        column_field("phone", "Phone", Contact.phone, T.TEXT),
        column_field("externalId", "External id", Contact.external_id, T.TEXT),
        Field(
            "status",
            T.CHOICE,
            "Status",
            column_builder(Contact.status, T.CHOICE),
            options=(ContactStatus.ACTIVE.value, ContactStatus.ARCHIVED.value),
            cost=2,
            writable=True,
            column=Contact.status,
        ),
        Field(
            "lifecycleStage",
            T.CHOICE,
            "Lifecycle stage",
            column_builder(Contact.lifecycle_stage, T.CHOICE),
            options=tuple(stage.value for stage in LifecycleStage),
            cost=2,
            writable=True,
            column=Contact.lifecycle_stage,
        ),
        column_field("ownerUserId", "Owner", Contact.owner_user_id, T.ID),
        Field(
            "isIdentified",
            T.BOOLEAN,
            "Identified (has an email or an externalId)",
            _identified,
            cost=2,
        ),
        column_field("createdAt", "Created", Contact.created_at, T.DATETIME),
        column_field("updatedAt", "Updated", Contact.updated_at, T.DATETIME, 2),
        column_field("lastActivityAt", "Last activity", Contact.last_activity_at, T.DATETIME, 2),
    ]


async def provide(_context: Context, _nested: bool) -> list[Field]:
    return contact_fields()
