"""Ids that are safe file names and can never escape the workspace."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from garbtui.core.errors import GarbError, InputError, WorkspaceError
from garbtui.core.workspace.jsonfile import open_regular

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")


def is_safe_id(value: str) -> bool:
    """True when `value` is one plain path component: no separators, no dots-only, not hidden."""
    return bool(_SAFE.match(value)) and value not in {".", ".."} and ".." not in value


def check_id(value: str, kind: str = "id", *, field: str | None = None) -> str:
    """Return `value` if it is a safe id, else raise WorkspaceError naming it (and `field`, the parameter)."""
    if not isinstance(value, str) or not is_safe_id(value):
        raise WorkspaceError(f"unsafe {kind} {value!r}: ids are letters, digits, '.', '_' and '-' only", field=field)
    return value


def slugify(text: str, max_len: int = 60) -> str:
    """A readable, safe id fragment from any text (accents folded, other characters to '-')."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _UNSAFE_RUN.sub("-", folded).strip("-._").lower()
    slug = re.sub(r"\.{2,}", ".", slug)
    return slug[:max_len].strip("-._") or "x"


def short_hash(*parts: object, length: int = 8) -> str:
    """A stable short hex digest of the parts, for ids that must not collide."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return digest[:length]


def file_sha1(path: Path, error: type[GarbError] = InputError) -> str:
    """Hex SHA-1 of a file's bytes: content-based ids, and the check that a stored photo is unchanged.

    Only a regular file is read (never blocking on a FIFO); `error` names the file otherwise."""
    digest = hashlib.sha1()
    try:
        with os.fdopen(open_regular(path, error, "file"), "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror or exc}", where=str(path)) from None
    return digest.hexdigest()
