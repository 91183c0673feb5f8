"""Where bulk email goes out: an SMTP server through a connection, or, when a workspace has
none, a maildir under the data directory (`<data_dir>/maildir/<workspace>/new/*.eml`), so a
campaign runs end to end on a bare install.

Both hand a message over in two steps. `stage` gives the SMTP server everything but the line
that ends the data (or writes the file under `tmp/`); `release` sends that line (or moves the
file into `new/`). The sender records the message as sent between the two: if the process
dies before that record is committed, the server never received a whole message (it drops
unfinished data with the connection) and the message is sent again; once it is committed,
only the final line remains to go. No recipient gets a message twice.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import aiosmtplib

from rapport.mail import smtp

_LEADING_PERIOD = re.compile(rb"(?m)^\.")


class Handover(Protocol):
    """One open way out, for many messages, one at a time."""

    async def stage(self, message: bytes, sender: str, recipient: str) -> None:
        """Everything but the end of the message (its bytes, CRLF lines:
        `compose.message_bytes`); SmtpFailure if the server refuses it (the recipient, say)
        or the connection fails."""

    async def release(self) -> None:
        """The end of the staged message: it is delivered, unless SmtpFailure says it was
        refused after all."""

    async def abandon(self) -> None:
        """Drop the staged message (another sender got to it first)."""


class SmtpHandover:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.staged = False

    async def stage(self, message: bytes, sender: str, recipient: str) -> None:
        data = _LEADING_PERIOD.sub(b"..", message)
        with smtp.failures(smtp.Stage.SEND):
            try:
                await self.client.mail(sender)
                await self.client.rcpt(recipient)
            except aiosmtplib.SMTPResponseException:
                await self.client.rset()
                raise
            reply = await self.client.execute_command(b"DATA")
            if reply.code != aiosmtplib.SMTPStatus.start_input:
                await self.client.rset()
                raise smtp.refused(smtp.Stage.SEND, reply.code, reply.message)
            protocol = self.client.protocol
            if protocol is None:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            protocol.write(data)
        self.staged = True

    async def release(self) -> None:
        self.staged = False
        with smtp.failures(smtp.Stage.SEND):
            reply = await self.client.execute_command(b".")
        if reply.code != aiosmtplib.SMTPStatus.completed:
            raise smtp.refused(smtp.Stage.SEND, reply.code, reply.message)

    async def abandon(self) -> None:
        """The data cannot be taken back: the connection is closed, so the server drops
        what it had (the next message fails as a lost connection, to be tried again)."""
        self.staged = False
        self.client.close()


class MaildirHandover:
    def __init__(self, root: Path) -> None:
        self.root = root
        for part in ("tmp", "new", "cur"):
            (root / part).mkdir(mode=0o700, parents=True, exist_ok=True)
        self.staged: Path | None = None

    async def stage(self, message: bytes, sender: str, recipient: str) -> None:
        name = f"{uuid.uuid4().hex}.{os.getpid()}.{socket.gethostname()}.eml"
        path = self.root / "tmp" / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(f"Return-Path: <{sender}>\n".encode())
            out.write(message.replace(b"\r\n", b"\n"))
        self.staged = path

    async def release(self) -> None:
        if self.staged is not None:
            os.replace(self.staged, self.root / "new" / self.staged.name)
            self.staged = None

    async def abandon(self) -> None:
        if self.staged is not None:
            self.staged.unlink(missing_ok=True)
            self.staged = None


def maildir_of(data_dir: Path, tenant_id: uuid.UUID) -> Path:
    """The workspace's local maildir, where its email goes when it has no SMTP connection."""
    return data_dir / "maildir" / str(tenant_id)


@asynccontextmanager
async def handover(
    server: smtp.SmtpConnection | None, maildir: Path | None, *, allow_private: bool
) -> AsyncIterator[Handover]:
    """A way out through the server (logged in once for every message of the block), or into
    the maildir when there is no server."""
    if server is None:
        if maildir is None:
            raise ValueError("Neither a server nor a maildir to send to")
        local = MaildirHandover(maildir)
        try:
            yield local
        finally:
            await local.abandon()
        return
    async with smtp.session(server, allow_private=allow_private) as client:
        remote = SmtpHandover(client)
        try:
            yield remote
        finally:
            if remote.staged:
                await remote.abandon()
