"""Completes the generated OpenAPI document with the conventions applied outside routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

_UUID = {"type": "string", "format": "uuid"}
_WORKSPACE_PARAMETER = {
    "name": "X-Tenant-Id",
    "in": "header",
    "required": False,
    "description": "The workspace. Required with a session token when the user belongs to "
    "several; with an API key it must be the key's workspace. Also accepted as the "
    "`x-entity-id` header, or as `tenantId` / `entityId` in the query or the JSON body; "
    "all that are sent must name the same workspace.",
    "schema": _UUID,
}
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
        "description": "An API key (`ak_...`, bound to one workspace) or a session token from "
        "POST /api/v1/auth/login, with the workspace named by `X-Tenant-Id` (or its aliases "
        "`x-entity-id`, `tenantId`, `entityId`) when the user belongs to several",
    }
}
_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
_INT = {"type": "integer"}
_REQUEST_ID = {
    "X-Request-Id": {
        "description": "The caller's X-Request-Id, or req_...",
        "schema": {"type": "string"},
    }
}
_RATE_LIMIT = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the window", "schema": _INT},
    "X-RateLimit-Remaining": {"description": "Requests left in the window", "schema": _INT},
    "X-RateLimit-Reset": {"description": "When the window ends (epoch seconds)", "schema": _INT},
}
_BODY_METHODS = {"post", "put", "patch"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ENVELOPE_REF}}}


def _errors_for(method: str, path: str, secured: bool) -> dict[str, dict[str, Any]]:
    errors = {
        "400": _error("Malformed input (INVALID_REQUEST, INVALID_ID)"),
        "500": _error("A bug (INTERNAL); the request id finds it in the logs"),
    }
    if secured:
        errors["401"] = _error("Missing, unknown, expired or revoked credentials")
        errors["403"] = _error("A scope is missing (named in the message), or another workspace")
        errors["429"] = {
            **_error("Rate limit exceeded (RATE_LIMITED)"),
            "headers": {"Retry-After": {"description": "Seconds to wait", "schema": _INT}},
        }
    if "{" in path:
        errors["404"] = _error("No such record in this workspace (NOT_FOUND)")
    if method in _BODY_METHODS:
        errors["413"] = _error("Body too large (PAYLOAD_TOO_LARGE)")
        errors["422"] = _error("Field errors in the body (VALIDATION_FAILED)")
    if method == "post" and secured:
        errors["422"] = _error("Field errors (VALIDATION_FAILED) or IDEMPOTENCY_KEY_REUSED")
    return errors


def install_openapi(
    app: FastAPI, api_prefix: str, requires_credentials: Callable[[APIRoute], bool]
) -> None:
    """Every API operation documents the errors it can answer and the headers every response
    carries; secured ones the bearer scheme, the workspace header and rate-limit headers;
    secured POSTs `Idempotency-Key`."""

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
                is_secured = (path, method) in secured
                responses = operation.setdefault("responses", {})
                parameters = operation.setdefault("parameters", [])
                if is_secured:
                    operation["security"] = [{"bearerAuth": []}]
                    parameters.append(dict(_WORKSPACE_PARAMETER))
                    if method == "post":
                        parameters.append(dict(_IDEMPOTENCY_HEADER))
                if method not in _BODY_METHODS:
                    responses.pop("422", None)  # query and path errors are 400 here
                for status, response in _errors_for(method, path, is_secured).items():
                    if status == "422" or status not in responses:
                        responses[status] = response
                for status, response in responses.items():
                    headers = response.setdefault("headers", {})
                    headers.update(_REQUEST_ID)
                    if is_secured and status != "401":
                        headers.update(_RATE_LIMIT)
                    if status == "201":
                        headers["Location"] = {
                            "description": "URL of the new record",
                            "schema": {"type": "string"},
                        }
        # Request validation errors are rendered as the error envelope, never FastAPI's shape.
        for unused in ("HTTPValidationError", "ValidationError"):
            spec["components"].get("schemas", {}).pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = build  # type: ignore[method-assign]
