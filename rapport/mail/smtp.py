"""The one place Rapport speaks SMTP: checking a connection (handshake, TLS, login), and a
session logged in for sending (`rapport.mail.transport` hands messages over through it:
one-to-one email, confirmations, campaigns).

The server's host is judged by the shared guard (`rapport.kit.netguard`) every time, and the
connection goes to an address that was judged (TLS still checks the certificate against the
host name). Every failure is an `SmtpFailure` saying at which stage it happened, with the
server's reply when there was one, and whether trying again later may succeed (4xx replies,
refused connections, timeouts) or not (5xx replies, a host off limits, TLS problems).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from enum import StrEnum

import aiosmtplib

from rapport.kit import netguard
from rapport.models.mail import TlsMode

CONNECT_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 30.0
VERIFY_TIMEOUT_SECONDS = 30.0
SESSION_TIMEOUT_SECONDS = 3600.0

_DEVELOPMENT = (
    "outbound email only reaches SMTP servers on public addresses (in development, a server "
    "started with RAPPORT_ALLOW_PRIVATE_SMTP=1 also reaches loopback and private addresses)"
)


@dataclass(frozen=True)
class SmtpConnection:
    """Where and as whom to connect. `helo_name` is the name Rapport gives itself in EHLO."""

    host: str
    port: int
    tls_mode: TlsMode
    username: str
    password: str = field(repr=False)
    helo_name: str


class Stage(StrEnum):
    ADDRESS = "address"
    CONNECT = "connect"
    TLS = "tls"
    LOGIN = "login"
    SEND = "send"


_DOING = {
    Stage.ADDRESS: "resolving its name",
    Stage.CONNECT: "connecting",
    Stage.TLS: "starting TLS",
    Stage.LOGIN: "logging in",
    Stage.SEND: "sending",
}
_REFUSED = {
    Stage.CONNECT: "The server refused the connection",
    Stage.TLS: "The server refused STARTTLS",
    Stage.LOGIN: "The server refused the login",
    Stage.SEND: "The server refused the message",
}


class SmtpFailure(Exception):
    """What went wrong, in words for the API caller (the server's reply included, never the
    password)."""

    def __init__(
        self, stage: Stage, message: str, *, temporary: bool, code: int | None = None
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.temporary = temporary
        self.code = code


async def verify(connection: SmtpConnection, *, allow_private: bool) -> None:
    """Connect, greet, start TLS as configured and log in; SmtpFailure if any step fails."""
    async with _logged_in(connection, allow_private, VERIFY_TIMEOUT_SECONDS):
        pass


@asynccontextmanager
async def session(
    connection: SmtpConnection, *, allow_private: bool
) -> AsyncIterator[aiosmtplib.SMTP]:
    """A client logged in to the server for many messages (at most an hour in all); each
    command still times out after COMMAND_TIMEOUT_SECONDS."""
    async with _logged_in(connection, allow_private, SESSION_TIMEOUT_SECONDS) as client:
        yield client


@asynccontextmanager
async def _logged_in(
    connection: SmtpConnection, allow_private: bool, seconds: float
) -> AsyncIterator[aiosmtplib.SMTP]:
    """A client logged in to the server, which says QUIT after the block; the whole exchange
    takes at most `seconds`."""
    progress = [Stage.ADDRESS]
    try:
        async with asyncio.timeout(seconds):
            sock = await _connected_socket(connection, allow_private)
            progress.append(Stage.CONNECT)
            try:
                client = aiosmtplib.SMTP(
                    hostname=connection.host,
                    sock=sock,
                    use_tls=connection.tls_mode == TlsMode.TLS,
                    start_tls=False,
                    timeout=COMMAND_TIMEOUT_SECONDS,
                    local_hostname=connection.helo_name,
                )
                with failures(Stage.CONNECT):
                    await client.connect()
            except BaseException:
                sock.close()  # closing it again is harmless if the client took it over
                raise
            try:
                if connection.tls_mode == TlsMode.STARTTLS:
                    progress.append(Stage.TLS)
                    with failures(Stage.TLS):
                        await client.starttls()
                progress.append(Stage.LOGIN)
                with failures(Stage.LOGIN):
                    await client.login(connection.username, connection.password)
                progress.append(Stage.SEND)
                yield client
            except BaseException:
                client.close()
                raise
            # What the server says to QUIT changes nothing: the work is done.
            with suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
            client.close()
    except TimeoutError as exc:
        raise SmtpFailure(
            Stage.CONNECT,
            f"The server did not finish answering within {seconds:g} s "
            f"(while {_DOING[progress[-1]]})",
            temporary=True,
        ) from exc


async def _connected_socket(connection: SmtpConnection, allow_private: bool) -> socket.socket:
    """A TCP connection to one of the host's addresses, each of them judged first."""
    try:
        addresses = await netguard.resolve(
            connection.host, connection.port, allow_private=allow_private
        )
    except netguard.Unresolvable as exc:
        raise SmtpFailure(Stage.ADDRESS, str(exc), temporary=True) from exc
    except netguard.OffLimits as exc:
        raise SmtpFailure(Stage.ADDRESS, f"{exc}; {_DEVELOPMENT}", temporary=False) from exc
    loop = asyncio.get_running_loop()
    reason = ""
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        # Small writes go out at once: the line that ends a staged message follows its data
        # after a pause, and waiting for the server's (delayed) acknowledgement of that data
        # would cost each message about 40 ms. asyncio sets this itself only on the sockets
        # it makes.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                await loop.sock_connect(sock, (str(address), connection.port))
        except TimeoutError:
            sock.close()
            reason = f"no answer from {address} within {CONNECT_TIMEOUT_SECONDS:g} s"
        except OSError as exc:
            sock.close()
            reason = f"{address}: {exc.strerror or exc}"
        else:
            return sock
    raise SmtpFailure(
        Stage.CONNECT,
        f"Could not connect to {connection.host} port {connection.port} ({reason})",
        temporary=True,
    )


@contextmanager
def failures(stage: Stage) -> Iterator[None]:
    """aiosmtplib's exceptions as SmtpFailure."""
    try:
        yield
    except aiosmtplib.SMTPRecipientsRefused as exc:
        first = exc.recipients[0]
        raise refused(stage, first.code, first.message) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise refused(stage, exc.code, exc.message) from exc
    except ssl.SSLError as exc:
        raise SmtpFailure(Stage.TLS, f"TLS failed: {exc}", temporary=False) from exc
    except aiosmtplib.SMTPConnectError as exc:
        if isinstance(exc.__cause__, ssl.SSLError):
            raise SmtpFailure(Stage.TLS, f"TLS failed: {exc.__cause__}", temporary=False) from exc
        raise SmtpFailure(stage, f"Connection failed: {exc.message}", temporary=True) from exc
    except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected) as exc:
        raise SmtpFailure(stage, f"Connection lost: {exc.message}", temporary=True) from exc
    except aiosmtplib.SMTPException as exc:  # an extension the server does not offer
        raise SmtpFailure(stage, exc.message, temporary=False) from exc
    except OSError as exc:
        raise SmtpFailure(stage, f"Connection failed: {exc}", temporary=True) from exc


def refused(stage: Stage, code: int, message: str) -> SmtpFailure:
    """A reply the server refused with: 4xx may succeed later, 5xx never will."""
    return SmtpFailure(
        stage,
        f"{_REFUSED.get(stage, 'The server refused')}: {code} {message}",
        temporary=400 <= code < 500,
        code=code,
    )
