"""The OpenAPI document reads well in generated clients: short, stable operationIds, and one
workspace parameter (its aliases documented once, not on every operation)."""

from __future__ import annotations

import re
from pathlib import Path

from rapport.app import create_app
from tests.helpers import make_settings


def _operations(tmp_path: Path) -> dict[tuple[str, str], dict[str, object]]:
    spec = create_app(make_settings(tmp_path)).openapi()
    return {
        (method.upper(), path): operation
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }


def test_operation_ids_are_short_unique_camel_case(tmp_path: Path) -> None:
    operations = _operations(tmp_path)
    ids = [str(op["operationId"]) for op in operations.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-zA-Z]+", i) for i in ids), ids
    named = {key: operations[key]["operationId"] for key in operations}
    assert named["GET", "/api/v1/contacts"] == "listContacts"
    assert named["POST", "/api/v1/contacts/{ref}/merge"] == "mergeContacts"
    assert named["GET", "/api/v1/companies/{company_ref}"] == "getCompany"


def test_the_workspace_is_one_documented_header(tmp_path: Path) -> None:
    spec = create_app(make_settings(tmp_path)).openapi()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]["description"]
    assert all(alias in scheme for alias in ("X-Tenant-Id", "x-entity-id", "tenantId", "entityId"))
    for (method, path), operation in _operations(tmp_path).items():
        names = [p["name"] for p in operation.get("parameters", [])]  # type: ignore[attr-defined]
        assert not {"x-entity-id", "tenantId", "entityId"} & set(names), (method, path)
        if operation.get("security"):
            assert names.count("X-Tenant-Id") == 1, (method, path)


def test_every_success_answer_has_its_body_in_the_schema(tmp_path: Path) -> None:
    """A generated client parses every 2xx answer: each one (but 204) documents its body, the
    200 of an upsert and of a tag already on a record included."""
    operations = _operations(tmp_path)
    for (method, path), operation in operations.items():
        for status, answer in operation["responses"].items():  # type: ignore[attr-defined]
            if status.startswith("2") and status != "204":
                assert "content" in answer, (method, path, status)
    upsert = operations["POST", "/api/v1/contacts"]["responses"]["200"]  # type: ignore[index]
    assert upsert["content"]["application/json"]["schema"]["$ref"].endswith("ContactOut_")


def test_fields_a_patch_cannot_clear_are_not_nullable(tmp_path: Path) -> None:
    """PATCH refuses null for these (omit them to keep the value): the schema says so."""
    schemas = create_app(make_settings(tmp_path)).openapi()["components"]["schemas"]
    for schema, fields in {
        "ContactUpdate": ["status"],
        "CompanyUpdate": ["name", "role", "status"],
        "MembershipUpdate": ["isPrimary"],
        "TaskUpdate": ["title", "status"],
        "ActivityUpdate": ["type", "occurredAt", "properties"],
        "PropertyUpdate": ["label", "group", "isRequired", "options"],
        "TagUpdate": ["key", "name"],
        "WebhookUpdate": ["url", "eventTypes", "active"],
        "NoteUpdate": ["content"],
    }.items():
        for field in fields:
            described = str(schemas[schema]["properties"][field])
            assert "'null'" not in described, (schema, field)


def test_the_schema_states_what_the_server_always_sends_and_checks(tmp_path: Path) -> None:
    schemas = create_app(make_settings(tmp_path)).openapi()["components"]["schemas"]
    assert set(schemas["PageMeta"]["required"]) >= {"total", "totalPages", "nextCursor"}
    settings = schemas["WorkspaceSettingsInput"]["properties"]
    assert "write" in settings["rateLimits"]["propertyNames"]["enum"]
    assert "GB" in settings["defaultPhoneRegion"]["enum"]
