"""An SMTP server for `bench.campaign_send` that costs as little as it can: a bare asyncio
protocol on loopback that greets, accepts any login (AUTH PLAIN or LOGIN, without TLS) and
every sender and recipient, and discards each message once its final line has arrived,
like a mail server written in C would cost next to the sender. It counts the messages into
a file (rewritten every 0.2 s and when it stops).

A full server in Python (aiosmtpd, which the tests use) spends about 1 ms of CPU a message
parsing it, on the same cores as the workers it is measuring: this one a few hundredths.

    .venv/bin/python -m bench.smtp_sink PORT COUNT_FILE
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

_END_OF_DATA = b"\r\n.\r\n"
_EHLO = (
    b"250-sink.localhost\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
    b"250 ENHANCEDSTATUSCODES\r\n"
)
_REPLIES = {
    b"HELO": b"250 sink.localhost\r\n",
    b"MAIL": b"250 2.1.0 OK\r\n",
    b"RCPT": b"250 2.1.5 OK\r\n",
    b"RSET": b"250 2.0.0 OK\r\n",
    b"NOOP": b"250 2.0.0 OK\r\n",
    b"DATA": b"354 End data with <CR><LF>.<CR><LF>\r\n",
}


class Sink:
    def __init__(self) -> None:
        self.count = 0


class SinkSession(asyncio.Protocol):
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.buffer = bytearray()
        self.in_data = False
        self.login_lines = 0  # lines still expected by an AUTH exchange
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink.localhost ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            if self.in_data:
                end = self.buffer.find(_END_OF_DATA)
                if end < 0:
                    # Keep only what may be the start of the final line.
                    if len(self.buffer) > len(_END_OF_DATA):
                        del self.buffer[: -len(_END_OF_DATA)]
                    return
                del self.buffer[: end + len(_END_OF_DATA)]
                self.in_data = False
                self.sink.count += 1
                self.transport.write(b"250 2.0.0 Discarded\r\n")
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                return
            line = bytes(self.buffer[:line_end])
            del self.buffer[: line_end + 2]
            self.command(line)

    def command(self, line: bytes) -> None:
        assert self.transport is not None
        if self.login_lines:
            self.login_lines -= 1
            reply = b"334 UGFzc3dvcmQ6\r\n" if self.login_lines else b"235 2.7.0 OK\r\n"
            self.transport.write(reply)
            return
        verb, _, argument = line.partition(b" ")
        verb = verb.upper()
        if verb == b"EHLO":
            self.transport.write(_EHLO)
        elif verb == b"AUTH":
            mechanism, _, initial = argument.partition(b" ")
            if mechanism.upper() == b"LOGIN":
                self.login_lines = 1 if initial else 2
                self.transport.write(
                    b"334 UGFzc3dvcmQ6\r\n" if initial else b"334 VXNlcm5hbWU6\r\n"
                )
            elif initial:
                self.transport.write(b"235 2.7.0 OK\r\n")
            else:
                self.login_lines = 1
                self.transport.write(b"334 \r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 2.0.0 Bye\r\n")
            self.transport.close()
            self.transport = None
        else:
            self.transport.write(_REPLIES.get(verb, b"502 5.5.2 Not implemented\r\n"))
            if verb == b"DATA":
                # The line break before the final "." is DATA's own when the message is empty.
                self.in_data = True
                self.buffer[:0] = b"\r\n"

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, count_file: Path) -> None:
    sink = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkSession(sink), host="127.0.0.1", port=port)
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
