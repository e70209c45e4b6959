"""Resolving the image references in exports to files on this machine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from garbtui.core.errors import InputError

_HOST_PREFIX = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+(?=/data/)")


@dataclass
class PathResolver:
    """Maps Label Studio / COCO image references to local paths.

    - `/data/local-files/?d=REL` (also behind `http://host:port`) -> local_files_root / REL
    - `/data/upload/P/NAME` -> media_root / upload / P / NAME
    - `--path-map OLD=NEW` rewrites absolute path prefixes of the annotating machine
    - relative paths are taken from `base_dir` (the export's folder, or --images-root for COCO)
    """

    base_dir: Path
    local_files_root: Path | None = None
    media_root: Path | None = None
    path_maps: list[tuple[str, str]] = field(default_factory=list)

    def resolve(self, ref: str) -> Path:
        ref = ref.strip()
        if not ref:
            raise InputError("empty image reference")
        ref = _HOST_PREFIX.sub("", ref)
        if ref.startswith("file://"):
            ref = unquote(urlsplit(ref).path)
        if ref.startswith("/data/local-files/"):
            query = parse_qs(urlsplit(ref).query)
            rel = (query.get("d") or [""])[0]
            if not rel:
                raise InputError(f"local-files URL without ?d=: {ref}")
            root = self.local_files_root or self.base_dir
            return self._mapped(str(root / rel.lstrip("/")))
        if ref.startswith("/data/upload/"):
            rel = unquote(ref[len("/data/"):])
            root = self.media_root or self.base_dir
            return self._mapped(str(root / rel))
        if re.match(r"^https?://", ref):
            raise InputError(f"remote image URL {ref!r}: download it and map its prefix to the local copy (a path map)",
                             field="path_maps")
        ref = unquote(ref) if "%" in ref and not Path(ref).exists() else ref
        mapped = self._mapped(ref)
        return mapped if mapped.is_absolute() else (self.base_dir / mapped)

    def _mapped(self, path: str) -> Path:
        for old, new in self.path_maps:
            if path == old or path.startswith(old.rstrip("/") + "/"):
                return Path(new + path[len(old.rstrip("/")):] if path != old else new)
        return Path(path)


def parse_path_map(text: str) -> tuple[str, str]:
    """Parse one `--path-map OLD=NEW` value."""
    if "=" not in text:
        raise InputError(f"a path map needs OLD=NEW, got {text!r}", field="path_maps")
    old, new = text.split("=", 1)
    if not old:
        raise InputError(f"a path map needs a non-empty OLD prefix, got {text!r}", field="path_maps")
    return old, new
