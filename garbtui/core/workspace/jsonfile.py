"""Reading a JSON file with one clear error (missing, unreadable, malformed, too deep) naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from garbtui.core.errors import GarbError


def read_json(path: Path, error: type[GarbError], what: str = "file") -> Any:
    """Parse `path` as JSON; any failure raises `error` with the file as `where`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{what} not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what}: {exc}", where=str(path)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", where=str(path)) from None
    except RecursionError:
        raise error("invalid JSON: nested too deeply", where=str(path)) from None
