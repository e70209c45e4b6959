"""Reading files safely: only regular files, never blocking, never more than a size limit; JSON with one clear error.

A FIFO, a device (a link to /dev/zero), a folder or a file that never ends in place of a meta.json must
give an error naming it, not hang a command or the TUI, nor fill the memory: files are opened
non-blocking, checked to be regular files with fstat, and read up to a limit.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from garbtui.core.errors import GarbError

# A workspace JSON file (meta.json, scene.json, seg.json...) holds a few kB; a 64 MB one is not ours.
WORKSPACE_JSON_MAX = 64 << 20
# An export can be large (a project of 100,000 tasks with brush masks); GARBTUI_MAX_EXPORT_MB raises the limit.
DEFAULT_EXPORT_MAX_MB = 1024


def export_max_bytes() -> int:
    """The largest export file read (environment variable GARBTUI_MAX_EXPORT_MB, else 1024 MB)."""
    raw = os.environ.get("GARBTUI_MAX_EXPORT_MB", "")
    try:
        mb = float(raw) if raw else DEFAULT_EXPORT_MAX_MB
    except ValueError:
        mb = DEFAULT_EXPORT_MAX_MB
    return int(mb * (1 << 20)) if mb > 0 else DEFAULT_EXPORT_MAX_MB << 20


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{n} bytes"


def open_regular(path: Path, error: type[GarbError], what: str = "file") -> int:
    """Open `path` for reading without blocking and return the descriptor; `error` unless it is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise error(f"{what} not found", where=str(path)) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise error(f"cannot read {what}: {getattr(exc, 'strerror', None) or exc}", where=str(path)) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise error(f"cannot read {what}: {exc.strerror or exc}", where=str(path)) from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"{what} is {_kind(mode)}, not a regular file", where=str(path))
    return fd


def read_regular(path: Path, error: type[GarbError], what: str = "file", max_bytes: int = WORKSPACE_JSON_MAX) -> bytes:
    """The bytes of `path`, a regular file of at most `max_bytes`; `error` naming the file otherwise."""
    fd = open_regular(path, error, what)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise error(f"{what} is {_size(size)}, over the limit of {_size(max_bytes)}", where=str(path))
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # it grew while we read
                raise error(f"{what} is over the limit of {_size(max_bytes)}", where=str(path))
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", where=str(path)) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def parse_json(data: bytes, error: type[GarbError], where: str, what: str = "file") -> Any:
    """Parse JSON bytes (UTF-8, a BOM allowed); any failure raises `error` with `where`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"cannot read {what}: not UTF-8 text ({exc.reason} at byte {exc.start})", where=where) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", where=where) from None
    except RecursionError:
        raise error("invalid JSON: nested too deeply", where=where) from None
    except ValueError as exc:  # an integer of thousands of digits
        raise error(f"invalid JSON: {exc}", where=where) from None


def read_json(path: Path, error: type[GarbError], what: str = "file", max_bytes: int = WORKSPACE_JSON_MAX) -> Any:
    """Parse `path` as JSON; any failure (missing, not a regular file, too large, malformed) raises `error`."""
    path = Path(path)
    return parse_json(read_regular(path, error, what, max_bytes), error, str(path), what)
