"""Files written as a stream: appended piece by piece to a temporary file, put in place whole at the end.

Dataset files can hold millions of entries; they are never built in memory. A StreamFile is a
temporary file beside its target (a name sweep_temp_files recognises), fsynced and renamed over
the target by commit(), removed by discard(): readers see the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import IO

from garbtui.core.errors import WriteError
from garbtui.core.workspace.atomic import file_mode, temp_name


class StreamFile:
    """A text file written in pieces and committed atomically (UTF-8, "\\n" line ends)."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self.tmp = temp_name(self.target)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
            self._handle: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise WriteError(f"cannot write: {exc.strerror or exc}", where=str(self.target)) from None
        self.closed = False

    def write(self, text: str) -> None:
        try:
            self._handle.write(text)
        except OSError as exc:
            raise WriteError(f"cannot write: {exc.strerror or exc}", where=str(self.target)) from None

    def append_file(self, other: StreamFile) -> None:
        """Copy everything written to `other` so far onto the end of this file (other stays open)."""
        other._handle.flush()
        self._handle.flush()
        try:
            with open(other.tmp, encoding="utf-8", newline="") as src:
                shutil.copyfileobj(src, self._handle, 1 << 20)
        except OSError as exc:
            raise WriteError(f"cannot write: {exc.strerror or exc}", where=str(self.target)) from None

    def commit(self) -> None:
        """fsync and rename over the target."""
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self.closed = True
            os.replace(self.tmp, self.target)
        except OSError as exc:
            self.discard()
            raise WriteError(f"cannot write: {exc.strerror or exc}", where=str(self.target)) from None

    def discard(self) -> None:
        """Close and remove the temporary file (the target is left as it was)."""
        if not self.closed:
            with contextlib.suppress(OSError):
                self._handle.close()
            self.closed = True
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)

    def __enter__(self) -> StreamFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None and not self.closed:
            self.commit()
        else:
            self.discard()


class JsonArrayLines:
    """Entries of a JSON array, one per line, separated by commas: `{..},\\n{..}` (no brackets)."""

    def __init__(self, out: StreamFile) -> None:
        self.out = out
        self.count = 0

    def add(self, entry_json: str) -> None:
        self.out.write(("\n" if self.count == 0 else ",\n") + entry_json)
        self.count += 1
