"""Contract test: schemathesis generates requests from /openapi.json for every operation and
checks the app never answers 500 and never contradicts its own schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from rapport.app import create_app
from rapport.kit.db import Database
from tests.helpers import Workspace, make_settings

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 40


def test_every_operation_matches_the_schema(
    database: Database, tmp_path: Path, workspace: Workspace
) -> None:
    # Its own unpooled engine: schemathesis calls the app from another event loop, where
    # pooled connections of the suite's loop cannot be used.
    app = create_app(
        make_settings(tmp_path, database_url=database.url, rate_limits_enabled=False),
        database=Database(database.url, pooled=False),
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: Any) -> None:
            case.call_and_validate(headers=workspace.headers, checks=CHECKS)

        exercise()
