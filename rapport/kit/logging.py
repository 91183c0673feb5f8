"""Structured logs: one JSON object per line, carrying the request id and tenant.

Lines go to stderr in batches (`BatchingHandler`): a write and a flush per line cost as much
as building the line, and with one access line per request that was a measurable share of a
request (bench/README.md, `access_log.py`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import select
import signal
import sys
import threading
import time
from typing import IO, Any

import orjson

from rapport.kit.requestctx import current_tenant_id, request_id_or_empty

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
# At most this much is written at once: a pipe takes a write this size in one piece, so the
# lines of several server processes sharing one stderr never interleave.
BATCH_BYTES = select.PIPE_BUF


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def utc_timestamp(created: float) -> str:
    """`created` (seconds since the epoch) in ISO 8601 UTC to the millisecond, as
    `datetime.isoformat(timespec="milliseconds")` writes it, in less than half the time."""
    second = int(created)
    return f"{_utc_second(second)}.{int((created - second) * 1000):03d}+00:00"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": utc_timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_or_empty()
        if request_id:
            doc["requestId"] = request_id
        tenant = current_tenant_id()
        if tenant:
            doc["tenantId"] = tenant
        # The fields given with `extra=`, in a fixed order; a set difference, not a walk over
        # every attribute of the record.
        for key in sorted(record.__dict__.keys() - _RESERVED):
            if not key.startswith("_"):
                doc[key] = record.__dict__[key]
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class BatchingHandler(logging.Handler):
    """Formats each record when it is logged (its request id and tenant are the caller's) and
    writes the lines to `stream` in batches of at most `BATCH_BYTES`: when the next line would
    not fit, every `flush_seconds`, at once for errors, and on `flush()` and `close()`, which
    `logging.shutdown` calls at exit."""

    def __init__(self, stream: IO[bytes], flush_seconds: float) -> None:
        super().__init__()
        self.stream = stream
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._stopping = threading.Event()
        threading.Thread(
            target=self._flush_every, args=(flush_seconds,), name="log-flush", daemon=True
        ).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).encode() + b"\n"
            if self._pending_bytes + len(line) > BATCH_BYTES:
                self._write()
            self._pending.append(line)
            self._pending_bytes += len(line)
            if record.levelno >= logging.ERROR:
                self._write()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def close(self) -> None:
        self._stopping.set()
        self.flush()
        super().close()

    def _write(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            self.stream.write(data)
            self.stream.flush()

    def _flush_every(self, seconds: float) -> None:
        while not self._stopping.wait(seconds):
            # A stderr that is gone cannot be told so.
            with contextlib.suppress(OSError, ValueError):
                self.flush()


def flush_logs() -> None:
    """Write every line still buffered: an application's shutdown calls this, since a server
    stopped by SIGTERM may not reach `logging.shutdown` (below)."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def flush_logs_on_sigterm() -> None:
    """Let SIGTERM flush the logs before it ends the process. uvicorn stops gracefully on
    SIGTERM, then restores the handler it found and raises the signal again, to end as the
    signal asked: by default that skips `atexit`, and with it `logging.shutdown`."""

    def flush_then_end(signum: int, _frame: object) -> None:
        logging.shutdown()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, flush_then_end)


def configure_logging(level: str = "INFO", json: bool = True, flush_seconds: float = 1.0) -> None:
    handler: logging.Handler
    if json:
        handler = BatchingHandler(sys.stderr.buffer, flush_seconds)
        handler.setFormatter(JsonFormatter())
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    # Fields no line carries: not looked up for every record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    for replaced in root.handlers:
        if isinstance(replaced, BatchingHandler):
            replaced.close()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
