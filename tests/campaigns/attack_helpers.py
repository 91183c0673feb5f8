"""Helpers of the hostile-integrator tests of campaigns and consent: people in the audience,
links read out of the mail sent, tokens forged or altered every way a careless or hostile
caller might."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from rapport.consent.links import EmailLinks
from rapport.kit.db import Database
from rapport.models import CampaignMessage
from rapport.models.jobs import Job
from tests.campaigns.conftest import body_of, call
from tests.helpers import EVERY_WORKSPACE, TEST_SECRET, Workspace

PUBLIC_URL = "http://127.0.0.1:8000"
HTML = (
    '<p>Hello {{ contact.givenName | default("there") }}</p>'
    '<p><a href="{{ view_in_browser_url }}">View</a> '
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)


def draft(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Attack",
        "subject": "Hi {{ contact.givenName | default('you') }}",
        "htmlBody": HTML,
        "fromAddress": "news@acme.example",
        "fromName": "Acme",
        "audience": {"filter": "tag = newsletter"},
        **extra,
    }


async def subscribers(
    http: httpx.AsyncClient, ws: Workspace, *names: str, status: str = "subscribed"
) -> dict[str, dict[str, Any]]:
    """Contacts tagged `newsletter`, each with the consent `status`, by given name."""
    tags = await call(http, ws, "GET", "/tags")
    tag = next((t for t in tags if t["key"] == "newsletter"), None)
    if tag is None:
        tag = await call(http, ws, "POST", "/tags", {"key": "newsletter", "name": "News"}, 201)
    people = {}
    for name in names:
        person = await call(
            http,
            ws,
            "POST",
            "/contacts",
            {"email": f"{name.lower()}@example.com", "givenName": name},
            201,
        )
        await call(http, ws, "POST", f"/contacts/{person['id']}/tags", {"tagId": tag["id"]}, 201)
        await call(
            http, ws, "PUT", f"/contacts/{person['id']}/subscriptions/email", {"status": status}
        )
        people[name] = person
    return people


def links() -> EmailLinks:
    """The links the test apps sign (the same secret key)."""
    return EmailLinks(TEST_SECRET, PUBLIC_URL)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def unsubscribe_path(message: EmailMessage) -> str:
    found = re.search(r"<(http[^>]+/email/unsubscribe/[^>]+)>", str(message["List-Unsubscribe"]))
    assert found is not None
    return path_of(found.group(1))


def view_path(message: EmailMessage) -> str:
    found = re.search(r'href="(http[^"]+/email/view/[^"]+)"', body_of(message))
    assert found is not None
    return path_of(found.group(1))


def token_variants(token: str, foreign: str) -> dict[str, str]:
    """Ways to spoil a valid token (`foreign`: a validly signed one of another kind)."""
    head, _, signature = token.rpartition(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    tenant, subject, issued = head.split(".")
    return {
        "altered signature": f"{head}.{flipped}",
        "truncated": token[: len(token) // 2],
        "no signature": head,
        "empty signature": f"{head}.",
        "another subject": f"{tenant}.{uuid.uuid4().hex}.{issued}.{signature}",
        "extra part": f"{token}.x",
        "another kind": foreign,
        "long": token + "A" * 300,
        "very long": "A" * 5000,
        "non-ascii signature": f"{head}.{signature[:-1]}é",
        "non-ascii subject": f"{tenant}.{subject[:-1]}é.{issued}.{signature}",
        "emoji": "\U0001f4a9" * 10,
        "null byte": f"{head}.%00{signature}",
        "dots only": "...",
        "upper-case hex": f"{tenant.upper()}.{subject}.{issued}.{signature}",
        "encoded slash": f"..%2F..%2Fapi%2Fv1%2Fcampaigns.{signature}",
        "percent dots": "%2E%2E",
        "leading space": f"%20{token}",
    }


async def jobs_of(database: Database, task: str) -> int:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        count = await session.scalar(select(func.count()).select_from(Job).where(Job.task == task))
    return int(count or 0)


async def message_rows(database: Database, campaign_id: str) -> list[CampaignMessage]:
    async with database.session(platform=EVERY_WORKSPACE) as session:
        rows = await session.scalars(
            select(CampaignMessage).where(CampaignMessage.campaign_id == uuid.UUID(campaign_id))
        )
        return list(rows)


def maildir_files(tmp_path: Path, ws: Workspace) -> list[Path]:
    return sorted((tmp_path / "maildir" / str(ws.id) / "new").glob("*.eml"))
