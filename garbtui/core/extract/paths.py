"""Resolving the image references in exports to files on this machine, never outside the folders the user named.

An export is often someone else's file: a reference must not pull an arbitrary readable image (a
private photo, another project's data) into the workspace and from there into datasets. Every
reference is decoded (URL escapes, once), backslashes are taken as separators, and the path is
normalised; it is then read only when it lies inside one of its roots:

- `/data/local-files/?d=REL`: inside the local-files root (as Label Studio itself refuses a `..` there);
- `/data/upload/P/NAME`: inside the media root;
- a relative path: inside the images root (the export's folder unless given);
- a relative path that starts with `../` (what Label Studio's COCO and YOLO converters write, relative
  to a folder on the server: `../ls_files/photos/x.jpg`): the leading `../` parts are dropped and the
  rest is looked for under the images root, then the local-files root, then the media root, dropping
  leading folders one at a time (`ROOT/ls_files/photos/x.jpg`, `ROOT/photos/x.jpg`, `ROOT/x.jpg`): the
  first file found wins, and it is always inside a root;
- an absolute path (after `--path-map` rewrites): inside any of those roots or a path-map target.

A symbolic link below a root (to a file or a folder) is followed only when the user allows it
(`follow_symlinks`): a link in a shared folder can lead anywhere.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from garbtui.core.errors import InputError

_HOST_PREFIX = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+(?=/data/)")
MAX_REFERENCE_CHARS = 4096  # PATH_MAX: a longer reference cannot name a file


@dataclass
class PathResolver:
    """Maps Label Studio / COCO image references to local paths inside the roots (see the module doc).

    - `/data/local-files/?d=REL` (also behind `http://host:port`) -> local_files_root / REL
    - `/data/upload/P/NAME` -> media_root / upload / P / NAME
    - `--path-map OLD=NEW` rewrites absolute path prefixes of the annotating machine
    - relative paths are taken from `base_dir` (the export's folder, or --images-root for COCO)
    """

    base_dir: Path
    local_files_root: Path | None = None
    media_root: Path | None = None
    path_maps: list[tuple[str, str]] = field(default_factory=list)
    follow_symlinks: bool = False

    def resolve(self, ref: str) -> Path:
        """The file `ref` names; InputError when it cannot be read or lies outside its root."""
        if not isinstance(ref, str):
            raise InputError("image reference is not a string")
        if "\x00" in ref:
            raise InputError("image reference contains a NUL byte")
        ref = ref.strip()
        if not ref:
            raise InputError("empty image reference")
        if len(ref) > MAX_REFERENCE_CHARS:
            raise InputError(f"image reference is {len(ref)} characters long, over the {MAX_REFERENCE_CHARS} a path may have")
        ref = _HOST_PREFIX.sub("", ref)
        if ref.startswith("file://"):
            ref = unquote(urlsplit(ref).path)
        if ref.startswith("/data/local-files/"):
            query = parse_qs(urlsplit(ref).query)
            rel = (query.get("d") or [""])[0]
            if not rel:
                raise InputError(f"local-files URL without ?d=: {ref}")
            root = self.local_files_root or self.base_dir
            return self._inside(root, rel, "the local-files root", "local_files_root")
        if ref.startswith("/data/upload/"):
            rel = unquote(ref[len("/data/"):])
            root = self.media_root or self.base_dir
            return self._inside(root, rel, "the media root", "media_root")
        if re.match(r"^https?://", ref):
            raise InputError(f"remote image URL {ref!r}: download it and map its prefix to the local copy (a path map)",
                             field="path_maps")
        ref = unquote(ref) if "%" in ref and not _exists(ref) else ref
        ref = ref.replace("\\", "/")
        if "\x00" in ref:  # %00 decoded
            raise InputError("image reference contains a NUL byte")
        mapped = self._mapped(ref)
        if mapped is not None:
            return mapped
        if posixpath.isabs(ref):
            return self._absolute(ref)
        norm = posixpath.normpath(ref)
        if norm == ".." or norm.startswith("../"):
            return self._climbing(norm)
        return self._inside(self.base_dir, norm, "the images root (the export's folder unless --images-root)",
                            "images_root")

    # -- roots ------------------------------------------------------------------------------
    def _roots(self) -> list[Path]:
        roots = [self.base_dir]
        roots += [r for r in (self.local_files_root, self.media_root) if r is not None]
        return roots

    def _inside(self, root: Path, rel: str, what: str, root_field: str) -> Path:
        """root / rel, refused when rel climbs out of root (after normalising) or passes a link (unless allowed)."""
        rel = rel.replace("\\", "/")
        if "\x00" in rel:
            raise InputError("image reference contains a NUL byte")
        norm = posixpath.normpath(rel).lstrip("/")  # an absolute REL is relative to the root, as in Label Studio
        if norm == ".." or norm.startswith("../"):
            raise InputError(f"{rel!r} climbs out of {what} ({root}); such references are refused", field=root_field)
        base = Path(os.path.abspath(root))
        path = base if norm in ("", ".") else base / norm
        self._check_links(base, path)
        return path

    def _mapped(self, ref: str) -> Path | None:
        """A --path-map rewrite of `ref` (None when no map applies); the result must stay inside the map's target."""
        for old, new in self.path_maps:
            old_norm = old.replace("\\", "/").rstrip("/") or "/"
            if ref == old_norm or ref.startswith(old_norm.rstrip("/") + "/"):
                rest = ref[len(old_norm):] if old_norm != "/" else ref
                return self._inside(Path(new), rest, f"the path-map target {new}", "path_maps")
        return None

    def _absolute(self, ref: str) -> Path:
        norm = Path(posixpath.normpath(ref))
        targets = [Path(new) for _old, new in self.path_maps]
        for root in self._roots() + targets:
            base = Path(os.path.abspath(root))
            if norm == base or base in norm.parents:
                self._check_links(base, norm)
                return norm
        raise InputError(
            f"{ref} lies outside the folders this export may read (the export's folder or --images-root, "
            "--local-files-root, --media-root, a --path-map target); name its folder with one of them", field="path_maps")

    def _climbing(self, norm: str) -> Path:
        """A `../`-relative reference (Label Studio's converters): its tail looked for under each root."""
        parts = [p for p in norm.split("/") if p not in ("", "..")]
        if not parts:
            raise InputError(f"{norm!r} names no file")
        for root in self._roots():
            base = Path(os.path.abspath(root))
            for start in range(len(parts)):
                candidate = base.joinpath(*parts[start:])
                if candidate.is_file() or candidate.is_symlink():
                    self._check_links(base, candidate)
                    return candidate
        raise InputError(f"{norm!r} climbs out of the export's folder and {'/'.join(parts)} (or a tail of it) is not "
                         "under the images root, the local-files root or the media root; name the folder holding it "
                         "with --images-root", field="images_root")

    def _check_links(self, base: Path, path: Path) -> None:
        """Refuse a path that passes a symbolic link below `base`, unless links may be followed."""
        if self.follow_symlinks:
            return
        try:
            real_base = Path(os.path.realpath(base))
            real = Path(os.path.realpath(path))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot resolve {path}: {exc}") from None
        lexical = real_base / path.relative_to(base) if path != base else real_base
        if real != lexical:
            raise InputError(f"{path} is reached through a symbolic link (to {real}); links are followed only when "
                             "allowed (--follow-symlinks)", field="follow_symlinks")


def _exists(ref: str) -> bool:
    try:
        return Path(ref).exists()
    except (OSError, ValueError):
        return False


def parse_path_map(text: str) -> tuple[str, str]:
    """Parse one `--path-map OLD=NEW` value."""
    if "=" not in text:
        raise InputError(f"a path map needs OLD=NEW, got {text!r}", field="path_maps")
    old, new = text.split("=", 1)
    if not old:
        raise InputError(f"a path map needs a non-empty OLD prefix, got {text!r}", field="path_maps")
    if not new:
        raise InputError(f"a path map needs a non-empty NEW folder, got {text!r}", field="path_maps")
    return old, new
