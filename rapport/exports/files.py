"""Where export files live: `<data_dir>/exports/<workspace>/<export id>.<csv|jsonl>`, readable
by Rapport's own user only (directories 0700, files 0600). A file is written under a temporary
name beside it and renamed when complete, so a file under its final name is always whole."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rapport.exports.writer import EXTENSIONS
from rapport.models.exports import ExportFormat

PARTIAL = ".partial"


class ExportFiles:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "exports"

    def path(self, tenant_id: uuid.UUID, export_id: uuid.UUID, fmt: ExportFormat) -> Path:
        return self.root / str(tenant_id) / f"{export_id}.{EXTENSIONS[fmt]}"

    @contextlib.contextmanager
    def writing(self, final: Path) -> Iterator[BinaryIO]:
        """A new file, written under a temporary name (any earlier attempt's is started
        over) and renamed to `final` when the block ends without an error; removed if it
        fails."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        final.parent.mkdir(mode=0o700, exist_ok=True)
        temporary = final.with_name(final.name + PARTIAL)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb", buffering=1 << 20) as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def remove(self, path: Path) -> None:
        """The file and any unfinished one beside it."""
        path.unlink(missing_ok=True)
        path.with_name(path.name + PARTIAL).unlink(missing_ok=True)
