"""Per-request context (request id, tenant) readable from logs and error rendering."""

from __future__ import annotations

import secrets
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_tenant_id: ContextVar[str] = ContextVar("tenant_id", default="")


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def current_request_id() -> str:
    return _request_id.get() or new_request_id()


def set_request_id(value: str) -> None:
    _request_id.set(value)


def current_tenant_id() -> str:
    return _tenant_id.get()


def set_tenant_id(value: str) -> None:
    _tenant_id.set(value)


def request_id_or_empty() -> str:
    return _request_id.get()
