"""A campaign to N subscribed contacts sent end to end into a local SMTP sink
(`bench/smtp_sink.py`, a bare asyncio SMTP server in a process of its own that accepts any
login and discards every message):
from `send` (its commit) to the campaign's status `sent`, by `rapport worker` processes started
beforehand (2 on PostgreSQL, 1 on SQLite), with a ~10 KB HTML newsletter carrying five merge
tags, its text part written (`textBody`) or derived from the HTML; on SQLite also through the
maildir a campaign without a connection writes to. Reported per run: messages/s, the start job
(the audience frozen) and the sending, the workers' CPU per message and their resident memory
(when a tenth of the messages were sent, at the end, and their peak), and where one worker's
CPU went (py-spy, each sample charged to the first step of the send that its stack is in,
innermost first).

Baselines in the same run: aiosmtplib's `sendmail` of the same number of prebuilt messages
over one logged-in connection to the same sink (the maildir's: writing and renaming that many
prebuilt files), and the standard library's cost of building one such message (an
EmailMessage with a text and an HTML part) and serialising it.

    .venv/bin/python -m bench.campaign_send [--contacts 100000] [--db both|postgres|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import func, insert, select, text

from bench.crm_core import contact_rows
from bench.figures import DIALECTS, Figure, collect_on
from rapport.campaigns.schemas import CampaignCreate, SendRequest
from rapport.campaigns.service import CampaignService
from rapport.config import Settings
from rapport.kit.clock import utcnow
from rapport.kit.context import Context
from rapport.kit.db import Database
from rapport.kit.ids import new_id
from rapport.kit.migrate import upgrade
from rapport.mail.compose import header_address, message_bytes, sanitize_html, text_of
from rapport.mail.schemas import ConnectionCreate
from rapport.mail.service import ConnectionService
from rapport.models import Contact, Job, JobState
from rapport.models.campaigns import Campaign, CampaignMessage, CampaignStatus, MessageStatus
from rapport.models.consent import ConsentStatus, EmailConsent
from rapport.models.mail import TlsMode
from rapport.templates.render import CompiledContent, Parts, merge_variables
from rapport.tenancy.service import WorkspaceService

ROOT = Path(__file__).resolve().parent.parent
RAPPORT = Path(sys.executable).parent / "rapport"
PY_SPY = Path(sys.executable).parent / "py-spy"
SETUP = "benchmark set-up and checks"
SECRET_KEY = "bench-secret-key-" + "x" * 40  # the set-up and the workers sign links alike
FROM = "news@acme.example"
BATCH = 5000
POLL_SECONDS = 0.25
SAMPLE_RATE = 100  # py-spy samples per second

# --- the newsletter ---------------------------------------------------------------------------

SUBJECT = "{{ contact.givenName | default('Hello') }}, the March issue of Acme News"
PREHEADER = "Five stories from Acme this month"
_ARTICLE = """
<tr><td style="padding:24px 32px;border-bottom:1px solid #e5e7eb;font-family:Helvetica,Arial,
sans-serif;font-size:15px;line-height:22px;color:#374151">
<h2 style="margin:0 0 8px;font-size:20px;line-height:26px;color:#111827">{title}</h2>
<img src="https://cdn.acme.example/news/march/{n}.jpg" width="536" height="240" alt="{title}"
 style="display:block;width:100%;max-width:536px;border:0;margin:0 0 12px">
<p style="margin:0 0 12px">{body}</p>
<p style="margin:0"><a href="https://acme.example/news/march/{n}?utm_source=newsletter&amp;utm_medium=email"
 style="color:#2563eb;text-decoration:underline;font-weight:bold">Read the whole story</a></p>
</td></tr>"""
_BODY = (
    "Our team spent the winter rebuilding the parts of the product you told us about most: "
    "faster search across every record, exports that finish while you wait, and a calendar "
    "that finally knows about time zones. Here is what changed, why, and what comes next. "
    "We also visited customers in six cities and wrote down what they asked for; most of it "
    "is already on the roadmap, and the rest is being discussed with the people who asked."
)
_TITLES = (
    "Search that keeps up",
    "Exports in seconds",
    "Time zones, at last",
    "What six cities told us",
    "Coming in April",
)
HTML = (
    """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Acme News</title>
<style>body{margin:0;padding:0}</style></head>
<body style="margin:0;padding:0;background-color:#f3f4f6">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"
 bgcolor="#f3f4f6"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"
 bgcolor="#ffffff" style="max-width:600px;border-radius:8px">
<tr><td style="padding:12px 32px;font-family:Helvetica,Arial,sans-serif;font-size:12px;
color:#6b7280" align="right"><a href="{{ view_in_browser_url }}" style="color:#6b7280">View
in your browser</a></td></tr>
<tr><td style="padding:24px 32px;font-family:Helvetica,Arial,sans-serif;font-size:28px;
font-weight:bold;color:#111827">Acme News, March</td></tr>
<tr><td style="padding:0 32px 16px;font-family:Helvetica,Arial,sans-serif;font-size:16px;
line-height:24px;color:#374151"><p style="margin:0">Hello {{ contact.givenName |
default("there") }} {{ contact.familyName }},</p><p style="margin:12px 0 0">Here is what
happened at Acme this month, in five short stories.</p></td></tr>"""
    + "".join(_ARTICLE.format(n=n, title=title, body=_BODY) for n, title in enumerate(_TITLES, 1))
    + """
<tr><td style="padding:24px 32px;font-family:Helvetica,Arial,sans-serif;font-size:12px;
line-height:18px;color:#6b7280">You receive this email at {{ contact.email }} because you
subscribed to Acme News. <a href="{{ unsubscribe_url }}" style="color:#6b7280">Unsubscribe</a>
at any time.<br>Acme Inc., 1 Market Street, San Francisco, CA 94105</td></tr>
</table></td></tr></table></body></html>"""
)
TEXT = (
    """Hello {{ contact.givenName | default("there") }} {{ contact.familyName }},

Here is what happened at Acme this month, in five short stories.
(View in your browser: {{ view_in_browser_url }})
"""
    + "".join(
        f"\n{title}\n\n{_BODY}\n\nRead the whole story: https://acme.example/news/march/{n}\n"
        for n, title in enumerate(_TITLES, 1)
    )
    + """
You receive this email at {{ contact.email }} because you subscribed to Acme News.
Unsubscribe: {{ unsubscribe_url }}
Acme Inc., 1 Market Street, San Francisco, CA 94105
"""
)


# --- the workspace ----------------------------------------------------------------------------


async def seed(database: Database, contacts: int) -> uuid.UUID:
    """A workspace of `contacts` live contacts, each with email consent `subscribed`."""
    async with database.transaction(platform=SETUP) as session:
        tenant = (await WorkspaceService(session).create("Campaigns")).id
    rng = random.Random(5)
    for first in range(0, contacts, BATCH):
        rows = contact_rows(tenant, first, min(BATCH, contacts - first), rng)
        for n, row in enumerate(rows, first):
            # ASCII local parts: the sender cannot write others into a header yet.
            row["email"] = f"person.{n}@example.com"
        now = utcnow()
        consents = [
            {
                "id": new_id(),
                "tenant_id": tenant,
                "contact_id": row["id"],
                "status": ConsentStatus.SUBSCRIBED,
                "source": "benchmark",
                "changed_at": now,
            }
            for row in rows
        ]
        async with database.transaction(platform=SETUP) as session:
            await session.execute(insert(Contact), rows)
            await session.execute(insert(EmailConsent), consents)
    return tenant


def settings_for(url: str, workdir: Path) -> Settings:
    return Settings(
        database_url=url, data_dir=workdir, secret_key=SECRET_KEY, allow_private_smtp=True
    )


async def make_connection(
    database: Database, tenant: uuid.UUID, settings: Settings, port: int
) -> uuid.UUID:
    """An outbound connection to the sink (saved once its login was accepted)."""
    async with database.transaction(platform=SETUP) as session:
        connection = await ConnectionService(
            Context.bound(session, tenant), allow_private=True, secret_key=SECRET_KEY
        ).create(
            ConnectionCreate.model_validate(
                {
                    "name": "Sink",
                    "host": "127.0.0.1",
                    "port": port,
                    "tlsMode": TlsMode.NONE,
                    "username": "bench@acme.example",
                    "password": "anything",
                    "fromAddress": FROM,
                    "fromName": "Acme News",
                }
            )
        )
        return connection.id


async def make_campaign(
    database: Database,
    tenant: uuid.UUID,
    settings: Settings,
    connection: uuid.UUID | None,
    with_text: bool,
) -> uuid.UUID:
    async with database.transaction(platform=SETUP) as session:
        campaign = await CampaignService(Context.bound(session, tenant), settings).create(
            CampaignCreate.model_validate(
                {
                    "name": f"March news {new_id()}",
                    "subject": SUBJECT,
                    "preheader": PREHEADER,
                    "htmlBody": HTML,
                    "textBody": TEXT if with_text else None,
                    "connectionId": str(connection) if connection else None,
                    "fromAddress": FROM,
                    "fromName": "Acme News",
                    "audience": {"filter": 'email contains "@"'},
                }
            )
        )
        return campaign.id


async def send(
    database: Database, tenant: uuid.UUID, settings: Settings, campaign: uuid.UUID
) -> float:
    """The moment `send` committed (perf_counter)."""
    async with database.transaction(platform=SETUP) as session:
        await CampaignService(Context.bound(session, tenant), settings).send(
            campaign, SendRequest()
        )
    return time.perf_counter()


async def clear(database: Database) -> None:
    async with database.transaction(platform=SETUP) as session:
        for table in ("campaign_messages", "campaigns", "jobs", "events"):
            await session.execute(text(f"DELETE FROM {table}"))


# --- the sink and the baselines ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SinkProcess:
    process: asyncio.subprocess.Process
    port: int
    count_file: Path

    @classmethod
    async def start(cls, workdir: Path) -> SinkProcess:
        port, count_file = free_port(), workdir / "sink-count"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.smtp_sink",
            str(port),
            str(count_file),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(200):
            if count_file.exists():
                return cls(process, port, count_file)
            await asyncio.sleep(0.05)
        raise RuntimeError("the SMTP sink did not start")

    def count(self) -> int:
        try:
            return int(self.count_file.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    async def reaches(self, count: int, seconds: float = 10.0) -> int:
        """The sink's count once it reaches `count` (or after `seconds`)."""
        deadline = time.monotonic() + seconds
        # The count is another process's, in a file: polled.
        while (found := self.count()) < count and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return found

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        await self.process.wait()


def filled(template: str, n: int) -> str:
    """The template's merge tags filled in by str.replace (what the baseline starts from)."""
    done = template.replace("{{ unsubscribe_url }}", f"https://acme.example/u/{n:032x}")
    return re.sub(r"\{\{[^}]*\}\}", f"Person{n}", done)


def stdlib_message(n: int, html: str, plain: str) -> EmailMessage:
    """What the standard library builds for one recipient from parts already made: headers,
    a text and an HTML part."""
    message = EmailMessage()
    message["From"] = Address("Acme News", addr_spec=FROM)
    message["To"] = Address(addr_spec=f"person.{n}@example.com")
    message["Subject"] = f"Person{n}, the March issue of Acme News"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<{uuid.uuid4()}@acme.example>"
    message["List-Unsubscribe"] = f"<https://acme.example/u/{n:032x}>"
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    return message


def stdlib_costs(samples: int = 300) -> tuple[float, float, bytes]:
    """CPU ms to build one message and to serialise it, and one message's bytes."""
    parts = [(filled(HTML, n), filled(TEXT, n)) for n in range(samples)]
    for n in range(3):  # warm up (imports, policies)
        stdlib_message(n, *parts[n]).as_bytes()
    started = time.process_time()
    messages = [stdlib_message(n, html, plain) for n, (html, plain) in enumerate(parts)]
    built = (time.process_time() - started) / samples * 1000
    started = time.process_time()
    data = [message.as_bytes() for message in messages]
    serialised = (time.process_time() - started) / samples * 1000
    return built, serialised, data[0]


def app_costs(samples: int = 200) -> list[str]:
    """CPU ms per message of each step the sender takes, in this process: the whole render
    (text written, text derived), the sanitising and text_of alone on the rendered HTML,
    and the MIME message built and serialised by rapport.mail.compose."""
    contact = {"givenName": "Ada", "familyName": "Lovelace", "email": "ada@example.com"}
    variables = merge_variables(
        contact,
        None,
        unsubscribe_url=f"https://acme.example/email/unsubscribe/{'x' * 120}",
        view_url=f"https://acme.example/email/view/{'x' * 120}",
    )
    written = CompiledContent.compile(Parts(SUBJECT, PREHEADER, HTML, TEXT))
    derived = CompiledContent.compile(Parts(SUBJECT, PREHEADER, HTML, None))
    rendered = written.render(variables)

    def cost(work: Any) -> float:
        work()
        started = time.process_time()
        for _ in range(samples):
            work()
        return (time.process_time() - started) / samples * 1000

    def mime() -> bytes:
        return message_bytes(
            sender=header_address(FROM, "Acme News"),
            recipient="ada@example.com",
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            message_id=f"<{uuid.uuid4()}@acme.example>",
            date=utcnow(),
        )

    unsanitised = HTML.replace("{{", "").replace("}}", "")
    return [
        f"    render, textBody given: {cost(lambda: written.render(variables)):.2f} ms; "
        f"textBody derived: {cost(lambda: derived.render(variables)):.2f} ms "
        f"({'once per campaign' if derived.derives_text_once else 'per recipient'})",
        f"    alone: sanitize_html {cost(lambda: sanitize_html(unsanitised)):.2f} ms, "
        f"text_of {cost(lambda: text_of(rendered.html)):.2f} ms (what a recipient's text "
        "costs when it cannot be derived once)",
        f"    message_bytes: {cost(mime):.2f} ms",
    ]


async def smtp_baseline(port: int, count: int, data: bytes) -> float:
    """Messages/s of aiosmtplib's sendmail of prebuilt bytes over one logged-in connection."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False, start_tls=False)
    await client.connect()
    await client.login("bench@acme.example", "anything")
    started = time.perf_counter()
    for n in range(count):
        await client.sendmail(FROM, [f"person.{n}@example.com"], data)
    rate = count / (time.perf_counter() - started)
    await client.quit()
    return rate


def maildir_baseline(root: Path, count: int, data: bytes) -> float:
    """Messages/s of writing prebuilt messages into tmp/ and renaming them into new/."""
    for part in ("tmp", "new"):
        (root / part).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for n in range(count):
        name = f"{n}.{os.getpid()}.eml"
        descriptor = os.open(root / "tmp" / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
        os.replace(root / "tmp" / name, root / "new" / name)
    rate = count / (time.perf_counter() - started)
    shutil.rmtree(root, ignore_errors=True)
    return rate


# --- the workers ------------------------------------------------------------------------------


def _proc(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_text()


def cpu_seconds(pid: int) -> float:
    fields = _proc(pid, "stat").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def committed(database: Database) -> int:
    """Transactions committed in the database so far (PostgreSQL's count; 0 on SQLite)."""
    if database.dialect != "postgresql":
        return 0
    async with database.session(platform=SETUP) as session:
        count = await session.scalar(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        )
    return int(count or 0)


def machine_cpu() -> tuple[float, float]:
    """CPU seconds of every core since boot: busy, and in all (/proc/stat)."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    ticks = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + irq + softirq + steal
    return busy / ticks, (busy + idle + iowait) / ticks


def memory_mib(pid: int, key: str) -> float:
    """VmRSS (resident now) or VmHWM (the peak) of a process, in MiB."""
    for line in _proc(pid, "status").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Workers:
    processes: list[asyncio.subprocess.Process]
    cpu_at_start: list[float] = field(default_factory=list)

    @classmethod
    async def start(cls, database: Database, workdir: Path, count: int) -> Workers:
        env = {
            **os.environ,
            "RAPPORT_DATABASE_URL": database.url,
            "RAPPORT_DATA_DIR": str(workdir),
            "RAPPORT_SECRET_KEY": SECRET_KEY,
            "RAPPORT_ALLOW_PRIVATE_SMTP": "1",
            "RAPPORT_LOG_LEVEL": "WARNING",
            "RAPPORT_WORKER_TASK_MODULES": '["tests.worker.probe"]',
            "PYTHONPATH": str(ROOT),
        }
        processes = [
            await asyncio.create_subprocess_exec(
                str(RAPPORT),
                "worker",
                "--queues",
                "default,probe",
                env=env,
                cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL,
            )
            for _ in range(count)
        ]
        workers = cls(processes)
        await workers.ready(database)
        workers.cpu_at_start = [cpu_seconds(p.pid) for p in processes]
        return workers

    async def ready(self, database: Database) -> None:
        """Once the workers have run a no-op job each (their start-up is not timed)."""
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {
                "id": new_id(),
                "tenant_id": None,
                "queue": "probe",
                "task": "probe.noop",
                "payload": {},
                "priority": 0,
                "state": JobState.QUEUED,
                "run_at": now,
                "attempts": 0,
                "max_attempts": 3,
                "created_at": now,
                "updated_at": now,
            }
            for _ in self.processes
        ]
        async with database.transaction(platform=SETUP) as session:
            await session.execute(insert(Job), rows)
        for _ in range(1200):
            async with database.session(platform=SETUP) as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.task == "probe.noop")
                    .where(Job.state == JobState.SUCCEEDED)
                )
            if done == len(rows):
                await asyncio.sleep(1.0)  # the other worker's start-up, when it ran none
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the workers did not start")

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def cpu(self) -> float:
        return sum(
            cpu_seconds(p.pid) - began
            for p, began in zip(self.processes, self.cpu_at_start, strict=True)
        )

    async def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            await process.wait()


# --- where one worker's time goes -------------------------------------------------------------

# Each sample is charged to the first of these that a frame of its stack matches, from the
# innermost frame outwards (py-spy writes frames as `function (path:line)`, methods as
# `Class.method`, paths from the package: `jinja2/runtime.py`, `email/message.py`).
STEPS: tuple[tuple[str, str], ...] = (
    ("text_of (the text part derived from the HTML)", r"^text_of \(rapport/mail/compose\.py"),
    ("sanitising the HTML (nh3)", r"^sanitize_html \("),
    (
        "rendering the merge tags (Jinja sandbox)",
        r"\((jinja2|markupsafe)/|\(<(subject|preheader|htmlBody|textBody)>|"
        r"\(rapport/templates/render\.py",
    ),
    ("signing the links (HMAC)", r"\(rapport/(consent/links|kit/crypto)\.py"),
    (
        "building and serialising the MIME message (email package)",
        r"\(([^()]*/)?email/|^message_bytes \(|\._message \(rapport/campaigns/sender\.py",
    ),
    ("events (email.sent records)", r"\(rapport/events/"),
    (
        "recording messages sent (group commit: UPDATE, event rows, COMMIT)",
        r"^record \(rapport/campaigns/sender\.py|(^|\.)_failed \(|\(rapport/kit/group_commit\.py",
    ),
    (
        "the handover (SMTP commands, line endings, dot-stuffing; maildir files)",
        r"\(aiosmtplib/|\(rapport/mail/(transport|smtp)\.py",
    ),
    ("status checks every 50 messages", r"(^|\.)_still_sending \("),
    ("the recipients' records (contacts read, ContactOut)", r"^recipient_variables \("),
    ("the rest of the send loop", r"(^|\.)_send_all \("),
    ("the chunk's set-up and end (campaign, content, queued rows)", r"(^|\.)send_chunk \("),
    ("the start job (audience frozen into messages)", r"\(rapport/campaigns/service\.py"),
    ("the job queue (claiming and finishing jobs)", r"\(rapport/worker/"),
)
_STEP_PATTERNS = [(name, re.compile(pattern)) for name, pattern in STEPS]


def step_of(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        for name, pattern in _STEP_PATTERNS:
            if pattern.search(frame):
                return name
    return "other (event loop, logging, start-up)"


def steps(collapsed: str) -> Counter[str]:
    """Samples per step, and per innermost frame of those in no step (`other: <frame>`)."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            step = step_of(stack)
            counts[step] += int(count)
            if step.startswith("other"):
                counts["  other: " + stack.rsplit(";", 1)[-1]] += int(count)
    return counts


async def start_profile(pid: int, output: Path) -> asyncio.subprocess.Process | None:
    if not PY_SPY.exists():
        return None
    return await asyncio.create_subprocess_exec(
        str(PY_SPY),
        "record",
        "--pid",
        str(pid),
        "--rate",
        str(SAMPLE_RATE),
        "--format",
        "raw",
        "--output",
        str(output),
        "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stop_profile(process: asyncio.subprocess.Process | None, output: Path) -> Counter[str]:
    if process is None:
        return Counter()
    process.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
    await process.wait()
    return steps_in(output)


def steps_in(output: Path) -> Counter[str]:
    return steps(output.read_text()) if output.exists() else Counter()


# --- one campaign, end to end -----------------------------------------------------------------


@dataclass
class Run:
    label: str
    recipients: int
    seconds: float
    start_seconds: float
    sending_seconds: float
    cpu_ms: float  # the workers' CPU per message
    rss_early: list[float]  # each worker's RSS when a tenth of the messages were sent
    rss_end: list[float]
    rss_peak: list[float]
    delivered: int
    profile: Counter[str]
    machine_busy: float  # the share of every core's time that was busy
    machine_ms: float  # CPU per message of the whole machine
    sink_ms: float  # of the SMTP sink
    commits: int  # transactions committed in the database while it ran (PostgreSQL)

    @property
    def rate(self) -> float:
        return self.recipients / self.seconds


async def run_campaign(
    database: Database,
    tenant: uuid.UUID,
    settings: Settings,
    workdir: Path,
    *,
    label: str,
    connection: uuid.UUID | None,
    with_text: bool,
    workers: int,
    recipients: int,
    sink: SinkProcess | None,
    profile: bool,
) -> Run:
    await clear(database)
    campaign = await make_campaign(database, tenant, settings, connection, with_text)
    running = await Workers.start(database, workdir, workers)
    spy_output = workdir / "profile.txt"
    spy_output.unlink(missing_ok=True)
    spy = await start_profile(running.pids[0], spy_output) if profile else None
    before = sink.count() if sink else 0
    rss_early: list[float] = []
    sink_cpu = cpu_seconds(sink.process.pid) if sink else 0.0
    machine_busy, machine_all = machine_cpu()
    commits = await committed(database)
    try:
        sent_at = await send(database, tenant, settings, campaign)
        while True:
            async with database.session(platform=SETUP) as session:
                status = await session.scalar(
                    select(Campaign.status).where(Campaign.id == campaign)
                )
                error = await session.scalar(
                    select(Job.last_error).where(Job.last_error.is_not(None)).limit(1)
                )
                if not rss_early:
                    sent = await session.scalar(
                        select(func.count())
                        .select_from(CampaignMessage)
                        .where(CampaignMessage.status == MessageStatus.SENT)
                    )
                    if sent and sent >= recipients // 10:
                        rss_early = [memory_mib(pid, "VmRSS") for pid in running.pids]
            if status == CampaignStatus.SENT:
                break
            if status in (CampaignStatus.PAUSED, CampaignStatus.FAILED) or error:
                raise RuntimeError(f"the campaign is {status}; a job failed: {error}")
            await asyncio.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - sent_at
        cpu = running.cpu()
        busy, all_cores = machine_cpu()
        machine_busy, machine_all = busy - machine_busy, all_cores - machine_all
        sink_cpu = cpu_seconds(sink.process.pid) - sink_cpu if sink else 0.0
        commits = await committed(database) - commits
        rss_end = [memory_mib(pid, "VmRSS") for pid in running.pids]
        rss_peak = [memory_mib(pid, "VmHWM") for pid in running.pids]
        counts = await stop_profile(spy, spy_output)
        spy = None
    finally:
        if spy is not None:
            await stop_profile(spy, spy_output)
        await running.stop()
    async with database.session(platform=SETUP) as session:
        row = (
            await session.execute(
                select(Campaign.scheduled_at, Campaign.started_at, Campaign.finished_at).where(
                    Campaign.id == campaign
                )
            )
        ).one()
        sent = await session.scalar(
            select(func.count())
            .select_from(CampaignMessage)
            .where(CampaignMessage.status == MessageStatus.SENT)
        )
    assert sent == recipients, (sent, recipients)
    if sink is not None:
        delivered = await sink.reaches(before + recipients) - before
    else:
        new = settings.data_dir / "maildir" / str(tenant) / "new"
        delivered = sum(1 for _ in new.iterdir())
        shutil.rmtree(settings.data_dir / "maildir", ignore_errors=True)
    scheduled, started, finished = row
    assert scheduled is not None
    assert started is not None
    assert finished is not None
    return Run(
        label=label,
        recipients=recipients,
        seconds=seconds,
        start_seconds=(started - scheduled).total_seconds(),
        sending_seconds=(finished - started).total_seconds(),
        cpu_ms=cpu / recipients * 1000,
        rss_early=rss_early,
        rss_end=rss_end,
        rss_peak=rss_peak,
        delivered=delivered,
        profile=counts,
        machine_busy=machine_busy / machine_all,
        machine_ms=machine_busy / recipients * 1000,
        sink_ms=sink_cpu / recipients * 1000,
        commits=commits,
    )


def _mib(values: list[float]) -> str:
    return " / ".join(f"{v:.0f}" for v in values) or "-"


def report(run: Run) -> list[str]:
    lines = [
        f"  {run.label}: {run.seconds:.1f} s, {run.rate:,.0f} messages/s "
        f"(start job {run.start_seconds:.1f} s, sending {run.sending_seconds:.1f} s: "
        f"{run.recipients / max(run.sending_seconds, 1e-9):,.0f} messages/s); "
        f"{run.delivered:,} delivered",
        f"    workers' CPU {run.cpu_ms:.2f} ms per message; RSS MiB at 10% sent "
        f"{_mib(run.rss_early)}, at the end {_mib(run.rss_end)}, peak {_mib(run.rss_peak)}",
        f"    the machine {100 * run.machine_busy:.0f}% busy ({os.cpu_count()} cores): "
        f"{run.machine_ms:.2f} ms of CPU per message in all, of which the workers "
        f"{run.cpu_ms:.2f}, the sink {run.sink_ms:.2f}, the rest (PostgreSQL, the profiler, "
        f"this process) {run.machine_ms - run.cpu_ms - run.sink_ms:.2f}",
    ]
    if run.commits:
        lines.append(
            f"    {run.commits:,} transactions committed in PostgreSQL, "
            f"{run.recipients / run.commits:.1f} messages a transaction"
        )
    other = Counter({k: v for k, v in run.profile.items() if k.startswith("  other: ")})
    profile = run.profile - other
    total = sum(profile.values())
    if total:
        share_of_worker = run.cpu_ms  # the shares apply to each worker alike
        lines.append(f"    where one worker's CPU went ({total:,} samples):")
        for name, count in profile.most_common():
            share = count / total
            lines.append(
                f"      {100 * share:5.1f}%  {share * share_of_worker:5.2f} ms/message  {name}"
            )
        for name, count in other.most_common(5):
            lines.append(f"        {100 * count / total:5.1f}% {name.strip()}")
    return lines


# --- the scenario -----------------------------------------------------------------------------


async def scenario(
    url: str,
    contacts: int,
    *,
    maildir: bool = True,
    profile: bool = True,
    figures: list[Figure] | None = None,
) -> list[str]:
    database = Database(url)
    await upgrade(database)
    dialect = DIALECTS[database.dialect]
    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-campaign-"))
    settings = settings_for(url, workdir)
    workers = 2 if database.dialect == "postgresql" else 1
    lines: list[str] = []
    sink = await SinkProcess.start(workdir)
    try:
        started = time.perf_counter()
        tenant = await seed(database, contacts)
        took = time.perf_counter() - started
        lines.append(f"  workspace: {contacts:,} subscribed contacts in {took:.1f} s")
        build_ms, serialise_ms, data = stdlib_costs()
        smtp_rate = await smtp_baseline(sink.port, contacts, data)
        lines.append(
            f"  baseline: the standard library builds one message in {build_ms:.2f} ms of CPU "
            f"and serialises it in {serialise_ms:.2f} ms ({len(data):,} bytes); aiosmtplib "
            f"sends prebuilt bytes at {smtp_rate:,.0f} messages/s "
            f"({1000 / smtp_rate:.2f} ms each) over one connection"
        )
        lines.append("  the sender's steps for one message, timed alone in this process:")
        lines += app_costs()
        floor_ms = build_ms + serialise_ms + 1000 / smtp_rate
        connection = await make_connection(database, tenant, settings, sink.port)
        runs: list[tuple[str, uuid.UUID | None, bool]] = [
            ("SMTP, textBody given", connection, True),
            ("SMTP, textBody derived", connection, False),
        ]
        if maildir and database.dialect == "sqlite":
            runs.append(("maildir (no connection), textBody derived", None, False))
        for label, connection_id, with_text in runs:
            run = await run_campaign(
                database,
                tenant,
                settings,
                workdir,
                label=f"{label}, {workers} worker(s)",
                connection=connection_id,
                with_text=with_text,
                workers=workers,
                recipients=contacts,
                sink=sink if connection_id else None,
                profile=profile,
            )
            if connection_id is None:
                rate = maildir_baseline(workdir / "baseline-maildir", contacts, data)
                name = "prebuilt files written and renamed into a maildir"
            else:
                rate, name = smtp_rate, "aiosmtplib sendmail of prebuilt bytes, one connection"
            lines += report(run)
            lines.append(
                f"    ratio to the baseline ({name}, {rate:,.0f}/s): {run.rate / rate:.2f}"
            )
            if figures is not None:
                figures += [
                    Figure(
                        "campaign_send",
                        dialect,
                        f"campaign to {contacts:,}, {run.label}, send to sent",
                        run.rate,
                        "messages/s",
                        rate,
                        name,
                        size=contacts,
                    ),
                    Figure(
                        "campaign_send",
                        dialect,
                        f"workers' CPU per message, {run.label}",
                        run.cpu_ms,
                        "ms",
                        floor_ms,
                        "stdlib build + serialise + aiosmtplib send",
                        size=contacts,
                    ),
                    Figure(
                        "campaign_send",
                        dialect,
                        f"worker peak RSS, {run.label}",
                        max(run.rss_peak),
                        "MiB",
                        max(run.rss_early) if run.rss_early else None,
                        "its RSS at 10% sent",
                        size=contacts,
                    ),
                ]
        await clear(database)
    finally:
        await sink.stop()
        await database.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    return lines


def figures(
    databases: str = "both", contacts: int = 100_000, maildir: bool = True, profile: bool = True
) -> list[Figure]:
    async def collect(url: str, dialect: str) -> list[Figure]:
        found: list[Figure] = []
        print(DIALECTS[dialect])
        for line in await scenario(url, contacts, maildir=maildir, profile=profile, figures=found):
            print(line)
        return found

    return collect_on(databases, collect)


def main() -> None:
    from rapport.domains import install

    install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--db", choices=("both", "postgres", "sqlite"), default="both")
    parser.add_argument("--no-maildir", action="store_true", help="skip the maildir run")
    parser.add_argument("--no-profile", action="store_true", help="do not sample a worker")
    args = parser.parse_args()
    print(f"a campaign to {args.contacts:,} subscribed contacts")
    figures(args.db, args.contacts, not args.no_maildir, not args.no_profile)


if __name__ == "__main__":
    main()
