"""Completes the generated OpenAPI document with the conventions applied outside routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

_UUID = {"type": "string", "format": "uuid"}
_WORKSPACE_PARAMETERS = [
    {
        "name": "X-Tenant-Id",
        "in": "header",
        "required": False,
        "description": "The workspace. Required with a session token when the user belongs to "
        "several; with an API key it must be the key's workspace.",
        "schema": _UUID,
    },
    {
        "name": "x-entity-id",
        "in": "header",
        "required": False,
        "description": "Alias of X-Tenant-Id",
        "schema": _UUID,
    },
    {
        "name": "tenantId",
        "in": "query",
        "required": False,
        "description": "Optional; must name the credential's workspace",
        "schema": _UUID,
    },
    {
        "name": "entityId",
        "in": "query",
        "required": False,
        "description": "Alias of tenantId",
        "schema": _UUID,
    },
]
_IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key and body within 24 h replays the first response "
    "(header `Idempotent-Replayed: true`); a different body is 422 IDEMPOTENCY_KEY_REUSED.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_SECURITY_SCHEME = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`ak_...`) or a session token from POST /api/v1/auth/login",
    }
}
_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ENVELOPE_REF}}}


def install_openapi(
    app: FastAPI, api_prefix: str, requires_credentials: Callable[[APIRoute], bool]
) -> None:
    """Secured operations document the bearer scheme and the workspace parameters; operations
    with a path parameter document 404; API POSTs document `Idempotency-Key`."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        spec.setdefault("components", {})["securitySchemes"] = _SECURITY_SCHEME
        secured = {
            (str(context.path), method.lower())
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            and requires_credentials(context.original_route)
            for method in context.methods or ()
        }
        for path, operations in spec.get("paths", {}).items():
            if not path.startswith(api_prefix):
                continue
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                parameters = operation.setdefault("parameters", [])
                if (path, method) in secured:
                    operation["security"] = [{"bearerAuth": []}]
                    parameters.extend(dict(p) for p in _WORKSPACE_PARAMETERS)
                if "{" in path:
                    responses.setdefault("404", _error("No such record in this workspace"))
                if method == "post":
                    parameters.append(dict(_IDEMPOTENCY_HEADER))
                    responses.setdefault(
                        "409", _error("Conflict (IDEMPOTENCY_KEY_IN_PROGRESS, or a duplicate)")
                    )
                    responses.setdefault("422", _error("Validation failed"))
        app.openapi_schema = spec
        return spec

    app.openapi = build  # type: ignore[method-assign]
