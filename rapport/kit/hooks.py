"""Where a lower domain lets higher ones take part in its work, without importing them.

Domains depend downwards only (sales uses contacts, never the reverse), yet some rules of a
higher domain must run inside a lower one's transaction: a new workspace gets its default
pipeline, a contact about to be deleted lets go of its leads, an activity logged on a lead is
linked to the lead's contact. A manifest declares its hooks; `rapport.domains.install()`
registers them here; the lower domain calls them by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from rapport.kit.context import Context
from rapport.kit.cql.fields import Field

WorkspaceSetup = Callable[[Context], Awaitable[None]]
"""Runs once in the transaction that creates a workspace, bound to it."""

RemovalHook = Callable[[Context, uuid.UUID], Awaitable[None]]
"""Runs in the transaction that deletes the record, before it is deleted."""


@dataclass(frozen=True)
class Links:
    """What a record is about: the contact and company an activity logged on it belongs to."""

    contact_id: uuid.UUID | None
    company_id: uuid.UUID | None


LinkResolver = Callable[[Context, uuid.UUID], Awaitable[Links | None]]
"""The links of a record by id; None when the workspace has no such record."""

FieldProvider = Callable[[Context, bool], Awaitable[Iterable[Field]]]
"""The query-language fields a domain offers on one entity (contact, company, lead) in the
context's workspace: its own columns, or relations it owns (tags, companies, lists). With
`nested` true, the fields are wanted through a relation (a contact's `company.*`): a provider
that offers fields of another entity through a relation then offers none, so relations go one
level deep."""

_SETUP: list[WorkspaceSetup] = []
_REMOVAL: dict[str, list[RemovalHook]] = {}
_RESOLVERS: dict[str, LinkResolver] = {}
_FIELDS: dict[str, list[FieldProvider]] = {}


def install(
    setup: tuple[WorkspaceSetup, ...],
    removal: Mapping[str, RemovalHook],
    resolvers: Mapping[str, LinkResolver],
    fields: Mapping[str, FieldProvider] = {},
) -> None:
    """Register a domain's hooks; registering the same hook again changes nothing."""
    for setup_hook in setup:
        if setup_hook not in _SETUP:
            _SETUP.append(setup_hook)
    for resource, removal_hook in removal.items():
        hooks = _REMOVAL.setdefault(resource, [])
        if removal_hook not in hooks:
            hooks.append(removal_hook)
    for resource, resolver in resolvers.items():
        if _RESOLVERS.setdefault(resource, resolver) is not resolver:
            raise ValueError(f"Two domains resolve links of {resource!r}")
    for entity, provider in fields.items():
        providers = _FIELDS.setdefault(entity, [])
        if provider not in providers:
            providers.append(provider)


async def workspace_created(context: Context) -> None:
    for hook in _SETUP:
        await hook(context)


async def removing(context: Context, resource: str, record_id: uuid.UUID) -> None:
    for hook in _REMOVAL.get(resource, ()):
        await hook(context, record_id)


async def query_fields(context: Context, entity: str, *, nested: bool = False) -> list[Field]:
    """Every field the domains offer on the entity, in the order the domains are mounted."""
    found: list[Field] = []
    for provider in _FIELDS.get(entity, ()):
        found.extend(await provider(context, nested))
    return found


async def links_of(context: Context, resource: str, record_id: uuid.UUID) -> Links | None:
    resolver = _RESOLVERS.get(resource)
    if resolver is None:
        raise LookupError(f"No domain resolves links of {resource!r}")
    return await resolver(context, record_id)
