"""What a domain package adds to Rapport, declared in one place (`<domain>/manifest.py`).

`rapport/domains.py` lists every manifest; the app mounts their routers, the worker loads their
task modules, the event catalogue is the union of their event types, and the isolation walk
(tests/test_isolation.py) makes a record of each kind from their samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from rapport.kit.hooks import FieldProvider, LinkResolver, RemovalHook, WorkspaceSetup


@dataclass(frozen=True)
class SampleRequest:
    """One API call; `{name}` in the path, and string values of the body that are exactly
    `{name}`, are filled with records made before (by path parameter name), or with what the
    isolation walk provides: `{smtp_host}` and `{smtp_port}` name a test SMTP server that
    accepts the login of the body they are in."""

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    files: Mapping[str, tuple[str, bytes]] | None = None
    """An upload (multipart/form-data) instead of a JSON body: part name -> file name and
    content."""


@dataclass(frozen=True)
class Sample:
    """How to make, through the API, one record of a workspace that a path parameter names:
    the requests to send, and where the first response has the record's value (`data.id`, or
    `data.0.id` for the first item of a list; None: `value` itself). With `after_events`, the
    event stream's consumers run first (for records the worker makes, such as deliveries).
    `aliases` are other spellings of the same record (an email, an externalId)."""

    parameter: str
    requests: tuple[SampleRequest, ...]
    value_at: str | None = "data.id"
    value: str | None = None
    after_events: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """A domain: its routers (mounted under /api/v1 in this order), the event types its
    services record, the modules declaring its job tasks and stream consumers, the scopes its
    routes require, samples of its records for the isolation walk, and its hooks into lower
    domains (`rapport.kit.hooks`): work done when a workspace is created, before a record of
    another domain is removed, and how to find what one of its records is linked to."""

    name: str
    routers: tuple[APIRouter, ...] = ()
    pages: tuple[APIRouter, ...] = ()
    """Routers mounted at the root, outside the API (and its OpenAPI document): the pages
    people open from links in emails."""
    event_types: Mapping[str, str] = field(default_factory=dict)
    task_modules: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    samples: tuple[Sample, ...] = ()
    workspace_setup: tuple[WorkspaceSetup, ...] = ()
    before_removal: Mapping[str, RemovalHook] = field(default_factory=dict)
    link_resolvers: Mapping[str, LinkResolver] = field(default_factory=dict)
    query_fields: Mapping[str, FieldProvider] = field(default_factory=dict)
    """Fields the domain offers to the query language, by entity (contact, company, lead)."""
