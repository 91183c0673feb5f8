"""Every domain of Rapport, in the order their routes are mounted (a literal path such as
/contacts/search before /contacts/{ref}) and their isolation samples are made (a record before
the records that point at it). Adding a domain means adding its manifest here:
docs/adding-a-domain.md."""

from __future__ import annotations

from rapport.activities.manifest import MANIFEST as ACTIVITIES
from rapport.auth.manifest import MANIFEST as AUTH
from rapport.campaigns.manifest import MANIFEST as CAMPAIGNS
from rapport.companies.manifest import MANIFEST as COMPANIES
from rapport.consent.manifest import MANIFEST as CONSENT
from rapport.contacts.manifest import MANIFEST as CONTACTS
from rapport.dashboard.manifest import MANIFEST as DASHBOARD
from rapport.events import catalog
from rapport.events.manifest import MANIFEST as EVENTS
from rapport.exports.manifest import MANIFEST as EXPORTS
from rapport.imports.manifest import MANIFEST as IMPORTS
from rapport.kit import hooks
from rapport.kit.manifest import Manifest
from rapport.lists.manifest import MANIFEST as LISTS
from rapport.mail.manifest import MANIFEST as MAIL
from rapport.merge.manifest import MANIFEST as MERGE
from rapport.overview.manifest import MANIFEST as OVERVIEW
from rapport.privacy.manifest import MANIFEST as PRIVACY
from rapport.properties.manifest import MANIFEST as PROPERTIES
from rapport.query.manifest import MANIFEST as QUERY
from rapport.sales.manifest import MANIFEST as SALES
from rapport.suppressions.manifest import MANIFEST as SUPPRESSIONS
from rapport.sync.manifest import MANIFEST as SYNC
from rapport.tags.manifest import MANIFEST as TAGS
from rapport.templates.manifest import MANIFEST as TEMPLATES
from rapport.tenancy.manifest import MANIFEST as TENANCY
from rapport.todos.manifest import MANIFEST as TODOS
from rapport.webhooks.manifest import MANIFEST as WEBHOOKS
from rapport.worker.manifest import MANIFEST as WORKER

DOMAINS: tuple[Manifest, ...] = (
    AUTH,
    TENANCY,
    CONTACTS,
    OVERVIEW,
    MERGE,
    COMPANIES,
    TAGS,
    PROPERTIES,
    ACTIVITIES,
    TODOS,
    SALES,
    QUERY,
    LISTS,
    IMPORTS,
    EXPORTS,
    MAIL,
    TEMPLATES,
    DASHBOARD,
    EVENTS,
    WEBHOOKS,
    WORKER,
    SYNC,
    SUPPRESSIONS,
    PRIVACY,
    CONSENT,
    CAMPAIGNS,
)

TASK_MODULES: tuple[str, ...] = tuple(m for domain in DOMAINS for m in domain.task_modules)
"""The modules declaring job tasks and event stream consumers; a worker loads them all."""


def install() -> None:
    """Fill the event catalogue and register the domains' hooks from the manifests (the app,
    the command line and the tests call this before recording or checking any event type, or
    creating a workspace; calling it again changes nothing)."""
    for domain in DOMAINS:
        catalog.install(domain.event_types)
        hooks.install(
            domain.workspace_setup,
            domain.before_removal,
            domain.link_resolvers,
            domain.query_fields,
        )
