"""Completes the generated OpenAPI document with the conventions applied outside routes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key and body within 24 h replays the first response "
    "(header `Idempotent-Replayed: true`); a different body is 422 IDEMPOTENCY_KEY_REUSED.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ENVELOPE_REF}}}


def install_openapi(app: FastAPI, api_prefix: str) -> None:
    """Every API operation with a path parameter documents 404; every API POST documents
    `Idempotency-Key` and the 409/422 it can produce."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path, operations in spec.get("paths", {}).items():
            if not path.startswith(api_prefix):
                continue
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if "{" in path:
                    responses.setdefault("404", _error("No such record in this workspace"))
                if method == "post":
                    operation.setdefault("parameters", []).append(dict(_IDEMPOTENCY_HEADER))
                    responses.setdefault(
                        "409", _error("Conflict (IDEMPOTENCY_KEY_IN_PROGRESS, or a duplicate)")
                    )
                    responses.setdefault("422", _error("Validation failed"))
        app.openapi_schema = spec
        return spec

    app.openapi = build  # type: ignore[method-assign]
