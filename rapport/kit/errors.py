"""Domain errors (code + HTTP status) and the one place that renders every error envelope."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rapport.kit.envelope import JsonResponse
from rapport.kit.requestctx import current_request_id

log = logging.getLogger("rapport.errors")


T = TypeVar("T")


class ErrorDetail(BaseModel):
    field: str | None = Field(default=None, description="Dotted path of the offending input")
    message: str
    existing_id: uuid.UUID | None = Field(
        default=None,
        serialization_alias="existingId",
        description="Conflicts (`..._EXISTS`): the record that already holds the value",
    )
    line: int | None = Field(
        default=None,
        description="`INVALID_QUERY` in a text query, or a part of an email template: the line "
        "(1-based)",
    )
    column: int | None = Field(
        default=None, description="`INVALID_QUERY` in a text query: the column (1-based)"
    )
    expected: list[str] | None = Field(
        default=None,
        description="`INVALID_QUERY` syntax errors: what the query could have had there",
    )


class ErrorBody(BaseModel):
    code: str = Field(examples=["NOT_FOUND"])
    message: str = Field(examples=["Contact not found"])
    request_id: str = Field(alias="requestId", examples=["req_01HZX3..."])
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class AppError(Exception):
    """Base of every error a service may raise; rendered as the error envelope."""

    status_code = 400
    code = "INVALID_REQUEST"
    default_message = "The request is invalid"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Iterable[ErrorDetail] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.details = list(details)
        self.headers = headers or {}
        super().__init__(self.message)


class InvalidRequest(AppError):
    pass


class InvalidQuery(AppError):
    """A query (text `where` or JSON `filter`) that does not parse, names a field that does
    not exist, or uses an operator or value that does not fit the field."""

    code = "INVALID_QUERY"
    default_message = "The query is invalid"


class InvalidId(AppError):
    code = "INVALID_ID"
    default_message = "The id is not valid"


class Unauthenticated(AppError):
    status_code = 401
    code = "UNAUTHENTICATED"
    default_message = "Missing or invalid credentials"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status_code = 403
    code = "FORBIDDEN"
    default_message = "Not allowed"


class NotFound(AppError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Not found"


class Conflict(AppError):
    status_code = 409
    code = "CONFLICT"
    default_message = "The request conflicts with the current state"


class PreconditionFailed(AppError):
    status_code = 412
    code = "PRECONDITION_FAILED"
    default_message = "The record has changed since it was read (If-Match)"


class ValidationFailed(AppError):
    status_code = 422
    code = "VALIDATION_FAILED"
    default_message = "Some fields are invalid"


class RateLimited(AppError):
    status_code = 429
    code = "RATE_LIMITED"
    default_message = "Too many requests"


def taken(message: str, code: str, field: str, existing_id: uuid.UUID | None = None) -> Conflict:
    """409: a unique value is held by another record (named in `details`, when known; a race
    lost at commit does not know it)."""
    detail = ErrorDetail(field=field, message="Already taken", existing_id=existing_id)
    return Conflict(message, code=code, details=[detail])


def field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}", details=[ErrorDetail(field=field, message=message)]
    )


def query_error(field: str, message: str) -> InvalidRequest:
    """A malformed query parameter: 400 (a malformed body field is 422)."""
    return InvalidRequest(
        f"{field}: {message}", details=[ErrorDetail(field=field, message=message)]
    )


def query_value(field: str, value: str, normalize: Callable[[str], T | None]) -> T:
    """A query parameter normalized by the same function as the body field it filters on:
    what that refuses with 422 is the query's 400, and a blank value is refused too."""
    try:
        normalized = normalize(value)
    except ValidationFailed as exc:
        raise InvalidRequest(exc.message, details=exc.details) from exc
    if normalized is None:
        raise query_error(field, "Cannot be blank")
    return normalized


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Sequence[ErrorDetail] = (),
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body = {
        "error": {
            "code": code,
            "message": message,
            "requestId": current_request_id(),
            "details": [
                d.model_dump(mode="json", exclude_none=True, by_alias=True) for d in details
            ],
        }
    }
    return JsonResponse(body, status_code=status_code, headers=headers)


_QUERY_LOCATIONS = {"query", "path", "header", "cookie"}
_HTTP_ERROR_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def validation_details(errors: Sequence[Any]) -> list[ErrorDetail]:
    details = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        if loc and loc[0] in _QUERY_LOCATIONS | {"body"}:
            loc = loc[1:]
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "unstorable":
            inner = str(err["ctx"]["field"])
            loc = [*loc, inner] if inner else loc
            message = str(err["ctx"]["reason"])
        elif err.get("type") == "value_error" and "error" in err.get("ctx", {}):
            message = str(err["ctx"]["error"])
        elif err.get("type") == "extra_forbidden":
            message = "Unknown field"
        details.append(ErrorDetail(field=".".join(loc) or None, message=message))
    return details


async def _handle_app_error(_request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


def validation_error_response(exc: RequestValidationError) -> JsonResponse:
    """Malformed JSON is 400; bad query, header or path values are 400 (INVALID_ID for a path
    id); field errors in a body are 422."""
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "INVALID_REQUEST", "The body is not valid JSON")
    details = validation_details(errors)
    in_body = any(e.get("loc", ("",))[0] == "body" for e in errors)
    if in_body:
        summary = "; ".join(f"{d.field or 'body'}: {d.message}" for d in details[:5])
        return error_response(422, "VALIDATION_FAILED", summary, details)
    summary = "; ".join(f"{d.field}: {d.message}" for d in details[:5])
    in_path = all(e.get("loc", ("",))[0] == "path" for e in errors)
    return error_response(400, "INVALID_ID" if in_path else "INVALID_REQUEST", summary, details)


async def _handle_validation_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type", "")
    whole_body = any(tuple(error.get("loc", ())) == ("body",) for error in exc.errors())
    if whole_body and "json" not in content_type:
        # FastAPI reads a body as JSON only when it says so: say that, not "not an object".
        return error_response(
            422,
            "VALIDATION_FAILED",
            "Send the body as JSON, with Content-Type: application/json",
            [ErrorDetail(field="Content-Type", message=f"Got {content_type or 'none'}")],
        )
    return validation_error_response(exc)


async def _handle_http_exception(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_ERROR_CODES.get(exc.status_code, "INVALID_REQUEST")
    message = exc.detail if isinstance(exc.detail, str) else "Request refused"
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 404 and message == "Not Found":
        message = "No such endpoint"
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        message = f"Use one of {', '.join(allowed)} on this path"
    return error_response(exc.status_code, code, message, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (routes are registered one per method).
    A literal path (`/companies/search`) is its own resource: the routes of a parameter that
    would also match it (`/companies/{ref}`) do not count."""
    literal: set[str] = set()
    templated: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        regex = getattr(context, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            found = literal if "{" not in str(context.path) else templated
            found |= set(context.methods or ())
    return sorted(literal or templated)


async def _handle_database_busy(_request: Request, exc: Exception) -> JsonResponse:
    """SQLite's write queue timed out (a long transaction holds it): a moment's wait helps."""
    if "database is locked" not in str(exc):
        return await _handle_unexpected(_request, exc)
    log.warning("database busy", exc_info=exc)
    return error_response(
        503,
        "SERVICE_UNAVAILABLE",
        "The database is busy; retry shortly",
        headers={"Retry-After": "2", "X-Request-Id": current_request_id()},
    )


async def _handle_unexpected(_request: Request, exc: Exception) -> JsonResponse:
    log.exception("unhandled error", exc_info=exc)
    request_id = current_request_id()
    return error_response(
        500,
        "INTERNAL",
        "Internal error; the request id identifies it in logs",
        headers={"X-Request-Id": request_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _handle_app_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(OperationalError, _handle_database_busy)
    app.add_exception_handler(Exception, _handle_unexpected)


def documented_errors(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries rendering each status with the error envelope."""
    return {
        status: {"model": ErrorEnvelope, "description": description}
        for status, description in descriptions.items()
    }
