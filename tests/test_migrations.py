"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from rapport.domains import TASK_MODULES
from rapport.kit.clock import utcnow
from rapport.kit.db import Base, Database
from rapport.kit.migrate import upgrade
from rapport.models import Activity, Contact, Webhook
from rapport.webhooks.signing import new_secret
from rapport.worker.loop import Worker
from tests.conftest import new_database_url
from tests.helpers import (
    EVERY_WORKSPACE,
    TEST_SECRET,
    add_key,
    custom_client,
    insert,
    make_settings,
    migrate,
    old_workspace,
)
from tests.webhooks.conftest import drain
from tests.webhooks.receiver import running_receiver, verify

# Indexes that exist only in migrations: the PostgreSQL trigram index for substring search,
# which the models cannot declare for one database only.
MIGRATION_ONLY = re.compile(r"^ix_contacts_search_trgm$")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        diff
        for diff in compare_metadata(context, Base.metadata)
        if not (diff[0] == "remove_index" and MIGRATION_ONLY.match(diff[1].name or ""))
    ]


async def test_migrated_schema_matches_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_the_live_count_triggers_exist(database: Database) -> None:
    """A migration rebuilding the contacts table on SQLite (batch mode) drops its triggers;
    it must create them again, or the kept count of live contacts goes wrong."""
    query = (
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        if database.dialect == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    )
    async with database.engine.connect() as connection:
        names = {row[0] for row in await connection.exec_driver_sql(query)}
    kinds = ("inserted", "updated", "deleted")
    assert {f"live_contacts_{kind}" for kind in kinds} <= names


async def test_upgrade_is_idempotent(database: Database) -> None:
    await upgrade(database)
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


@pytest.fixture
async def blank(
    request: pytest.FixtureRequest, database: Database, tmp_path: Path
) -> AsyncIterator[Database]:
    """A database of the test's kind with no schema yet."""
    backend = "sqlite" if database.dialect == "sqlite" else "postgres"
    blank = Database(await new_database_url(request, backend, tmp_path))
    yield blank
    await blank.dispose()


async def test_rebuilding_a_table_keeps_the_rows_referring_to_it(blank: Database) -> None:
    """0016 rebuilds `contacts` on SQLite (batch mode): the activities of its contacts (ON
    DELETE CASCADE) and the merges into them (SET NULL) stay."""
    await migrate(blank, "0015")
    now = utcnow()
    tenant, winner, loser = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stamps = {"created_at": now, "updated_at": now}
    await insert(blank, "tenants", id=tenant, name="Acme", settings={}, **stamps)
    for contact, email, status, merged_into in (
        (winner, "ada@example.com", "ACTIVE", None),
        (loser, "ada@old.example.com", "MERGED", winner),
    ):
        await insert(
            blank,
            "contacts",
            id=contact,
            tenant_id=tenant,
            email=email,
            status=status,
            merged_into_id=merged_into,
            properties={},
            version=1,
            **stamps,
        )
    await insert(
        blank,
        "activities",
        id=uuid.uuid4(),
        tenant_id=tenant,
        contact_id=winner,
        type="NOTE",
        module="CRM",
        actor_type="system",
        occurred_at=now,
        properties={},
        **stamps,
    )

    await upgrade(blank)

    async with blank.session(platform=EVERY_WORKSPACE) as session:
        assert await session.scalar(select(func.count()).select_from(Activity)) == 1
        merged = await session.get(Contact, loser)
    assert merged is not None
    assert merged.merged_into_id == winner


async def test_0017_encrypts_the_secrets_of_existing_webhooks(
    blank: Database, tmp_path: Path
) -> None:
    """A webhook saved with a plain secret keeps signing with it after the upgrade, stored
    encrypted; its delivery log stays; the downgrade gives the plain secret back."""
    await migrate(blank, "0016")
    tenant_id = await old_workspace(blank)
    secret = new_secret()
    hook_id, now = uuid.uuid4(), utcnow()
    stamps = {"created_at": now, "updated_at": now}
    async with running_receiver() as receiver:
        await insert(
            blank,
            "webhooks",
            id=hook_id,
            tenant_id=tenant_id,
            url=receiver.url(),
            event_types=["contact.*"],
            secret=secret,
            active=True,
            consecutive_failures=0,
            **stamps,
        )
        await insert(
            blank,
            "webhook_deliveries",
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            webhook_id=hook_id,
            event_id=uuid.uuid4(),
            event_type="contact.created",
            event_sequence=1,
            resource_id=uuid.uuid4(),
            status="succeeded",
            attempts=1,
            **stamps,
        )

        with pytest.raises(RuntimeError, match="secret key"):
            await upgrade(blank)  # nothing to encrypt with: refused before any change
        await upgrade(blank, secret_key=TEST_SECRET)
        headers = await add_key(blank, tenant_id, ["crm:read", "crm:write", "crm:admin"])

        async with blank.session(platform=EVERY_WORKSPACE) as session:
            stored = await session.get(Webhook, hook_id)
        assert stored is not None
        assert secret.removeprefix("whsec_") not in stored.encrypted_secret
        async with custom_client(blank, tmp_path, allow_private_webhooks=True) as http:
            response = await http.post(
                "/api/v1/contacts", json={"email": "ada@example.com"}, headers=headers
            )
            assert response.status_code == 201, response.text
            settings = make_settings(tmp_path, allow_private_webhooks=True)
            await drain(Worker(blank, task_modules=TASK_MODULES, settings=settings))
            response = await http.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=headers)
        [received] = receiver.requests
        assert verify(secret, received.headers, received.body)
        assert [d["status"] for d in response.json()["data"]] == ["succeeded", "succeeded"]

    await migrate(blank, "0016", down=True, secret_key=TEST_SECRET)
    async with blank.engine.connect() as connection:
        plain = await connection.scalar(sa.text("SELECT secret FROM webhooks"))
    assert plain == secret


async def test_0021_gives_every_workspace_the_default_pipeline_and_keeps_free_lead_references(
    blank: Database, tmp_path: Path
) -> None:
    await migrate(blank, "0020")
    tenant_id = await old_workspace(blank)
    activity_id, lead_ref, now = uuid.uuid4(), uuid.uuid4(), utcnow()
    stamps = {"created_at": now, "updated_at": now}
    await insert(
        blank,
        "activities",
        id=activity_id,
        tenant_id=tenant_id,
        type="CALL",
        module="CRM",
        properties={"outcome": "interested"},
        occurred_at=now,
        lead_id=lead_ref,
        actor_type="system",
        **stamps,
    )

    await upgrade(blank)

    headers = await add_key(blank, tenant_id, ["crm:read"])
    async with custom_client(blank, tmp_path) as http:
        stages = await http.get("/api/v1/pipeline-stages", headers=headers)
        activity = await http.get(f"/api/v1/activities/{activity_id}", headers=headers)
    assert [s["systemKey"] for s in stages.json()["data"]] == [
        "new",
        "qualified",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
    kept = activity.json()["data"]
    assert kept["leadId"] is None
    assert kept["properties"]["outcome"] == "interested"
    assert uuid.UUID(kept["properties"]["leadRef"]) == lead_ref


async def test_0033_counts_the_campaigns_sent_before_it(blank: Database, tmp_path: Path) -> None:
    await migrate(blank, "0032")
    tenant_id = await old_workspace(blank)
    campaign_id, now = uuid.uuid4(), utcnow()
    await insert(
        blank,
        "campaigns",
        id=campaign_id,
        tenant_id=tenant_id,
        name="Old",
        subject="Old news",
        html_body="<p>News</p>",
        from_address="news@acme.example",
        audience={"filter": "email exists"},
        track_opens=True,
        track_clicks=True,
        status="sent",
        created_at=now,
        updated_at=now,
    )
    messages = []
    for n, (status, bounce, opened) in enumerate(
        [("sent", None, True), ("sent", "hard", False), ("skipped", None, False)]
    ):
        message_id = uuid.uuid4()
        messages.append(message_id)
        await insert(
            blank,
            "campaign_messages",
            id=message_id,
            tenant_id=tenant_id,
            campaign_id=campaign_id,
            email=f"p{n}@example.com",
            status=status,
            chunk=0,
            sent_at=now if status == "sent" else None,
            bounce_type=bounce,
            opened_at=now if opened else None,
            clicked_at=now if opened else None,
        )
    for kind, url in (("opened", None), ("opened", None), ("clicked", "https://a.example/")):
        await insert(
            blank,
            "campaign_interactions",
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            campaign_id=campaign_id,
            message_id=messages[0],
            kind=kind,
            url=url,
            at=now,
        )

    await upgrade(blank)

    headers = await add_key(blank, tenant_id, ["crm:campaigns"])
    async with custom_client(blank, tmp_path) as http:
        response = await http.get(f"/api/v1/campaigns/{campaign_id}/stats", headers=headers)
    figures = response.json()["data"]
    assert (figures["recipients"], figures["sent"], figures["skipped"]) == (3, 2, 1)
    assert figures["bounced"] == {"total": 1, "hard": 1, "soft": 0}
    assert (figures["openedUnique"], figures["openedTotal"]) == (1, 2)
    assert (figures["clickedUnique"], figures["clickedTotal"]) == (1, 1)
    assert figures["links"] == [
        {"url": "https://a.example/", "clickedUnique": 1, "clickedTotal": 1}
    ]
    assert sum(bucket["sent"] for bucket in figures["timeline"]) == 2
