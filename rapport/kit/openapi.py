"""Completes the generated OpenAPI document with the conventions applied outside routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from rapport.kit.pagination import Pagination

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
        routes = {
            (str(context.path), method.lower()): context.original_route
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            for method in context.methods or ()
        }
        secured = {key for key, route in routes.items() if requires_credentials(route)}
        examples = _Examples(spec.get("components", {}).get("schemas", {}))
        for path, operations in spec.get("paths", {}).items():
            if not path.startswith(api_prefix):
                continue
            for method, operation in operations.items():
                is_secured = (path, method) in secured
                responses = operation.setdefault("responses", {})
                parameters = operation.setdefault("parameters", [])
                # A route with credentials optional declares its own security (a signed link
                # instead, say); with credentials, the workspace is named the same way.
                declared = operation.get("security")
                if is_secured or declared:
                    operation["security"] = declared or [{"bearerAuth": []}]
                    parameters.append(dict(_WORKSPACE_PARAMETER))
                    if method == "post":
                        parameters.append(dict(_IDEMPOTENCY_HEADER))
                route = routes.get((path, method))
                if route is not None:
                    _document_sorting(route, parameters)
                if method not in _BODY_METHODS:
                    responses.pop("422", None)  # query and path errors are 400 here
                for status, response in _errors_for(method, path, is_secured).items():
                    if status == "422" or status not in responses:
                        responses[status] = response
                for status, response in responses.items():
                    if status.startswith("2"):
                        examples.complete(response)
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


def _document_sorting(route: APIRoute, parameters: list[dict[str, Any]]) -> None:
    """A list's `sortBy` and `sort` name the fields that list sorts by, and its default."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Pagination):
            paging = dependant.call
            for parameter in parameters:
                if parameter["name"] == "sortBy":
                    parameter["schema"] = {"type": "string", "enum": list(paging.sort_fields)}
                    order = "descending" if paging.default.descending else "ascending"
                    parameter["description"] = (
                        f"The field to sort by (default {paging.default.field}, {order})"
                    )
                elif parameter["name"] == "sort":
                    spellings = [
                        f"{field}{suffix}"
                        for field in paging.sort_fields
                        for suffix in ("", ":asc", ":desc")
                    ]
                    parameter["schema"] = {"type": "string", "enum": spellings}
            return
        pending.extend(dependant.dependencies)


_STRING_FORMATS = {
    "uuid": "0193a0e4-5b7c-7d3e-9f10-2a4b6c8d0e1f",
    "date-time": "2026-11-30T09:30:00Z",
    "date": "2026-11-30",
    "email": "alice@example.com",
    "uri": "https://example.com/",
}


class _Examples:
    """Response examples made from the response schemas: each field shows its own example
    when it declares one, else a value of its type, so every 2xx body in the document has an
    example that its schema accepts."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self.made: dict[str, Any] = {}

    def complete(self, response: dict[str, Any]) -> None:
        for media in response.get("content", {}).values():
            schema = media.get("schema")
            if schema and "example" not in media and "examples" not in media:
                media["example"] = self.of(schema)

    def of(self, schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
        ref = schema.get("$ref")
        if ref is not None:
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                return None
            if name not in self.made:
                self.made[name] = self.of(self.components[name], seen | {name})
            return self.made[name]
        for key in ("examples", "example", "const", "enum"):
            if key in schema:
                value = schema[key]
                return value[0] if key in ("examples", "enum") else value
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = schema[key]
                if any(branch.get("type") == "null" for branch in branches):
                    return None  # a field that may be empty and shows no example of its own
                return self.of(branches[0], seen)
        if "allOf" in schema:
            return self.of(schema["allOf"][0], seen)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {
                name: self.of(field, seen) for name, field in schema.get("properties", {}).items()
            }
        if kind == "array":
            return [self.of(schema.get("items", {}), seen)]
        if kind == "string":
            return _STRING_FORMATS.get(schema.get("format", ""), "string")
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return schema.get("minimum", 1.5)
        if kind == "boolean":
            return True
        return None
