"""An SMTP server for `bench.campaign_send`: aiosmtpd on loopback, accepting any login (AUTH
PLAIN or LOGIN, without TLS) and every recipient, and discarding each message once its data
has arrived. It counts them into a file (rewritten every 0.2 s and when it stops).

    .venv/bin/python -m bench.smtp_sink PORT COUNT_FILE
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

# aiosmtpd logs every session and warns of its own use of a deprecated attribute at login.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, _server: SMTP, _session: Session, _envelope: Envelope) -> str:
        self.count += 1
        return "250 2.0.0 Discarded"


def accept_any(*_args: Any) -> AuthResult:
    return AuthResult(success=True)


async def serve(port: int, count_file: Path) -> None:
    sink = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            sink,
            hostname="sink.localhost",
            authenticator=accept_any,
            auth_require_tls=False,
            decode_data=False,
            data_size_limit=None,
        ),
        host="127.0.0.1",
        port=port,
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    written = -1
    while not stop.is_set():
        if sink.count != written:
            written = sink.count
            write_count(count_file, written)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)
    server.close()
    write_count(count_file, sink.count)


def write_count(count_file: Path, count: int) -> None:
    """Written whole, then renamed: a reader never sees half a number."""
    partial = count_file.with_suffix(".partial")
    partial.write_text(str(count))
    partial.replace(count_file)


def main() -> None:
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2])))


if __name__ == "__main__":
    main()
