"""`status --check`: read every file of a workspace and report what is broken, and why."""

from __future__ import annotations

from garbtui.core.errors import GarbError
from garbtui.core.workspace.ids import file_sha1
from garbtui.core.workspace.imageio import read_rgb, read_rgba
from garbtui.core.workspace.store import Workspace

RAW_HINT = "delete it and re-run `garbtui extract` to cut it again"
PROC_HINT = "delete it (earlier versions are kept as proc.bak-*.png) and clean the crop again"


def check_workspace(ws: Workspace) -> list[tuple[str, str]]:
    """Return (item, reason) for every unreadable or invalid file; an empty list means all is well."""
    problems: list[tuple[str, str]] = list(ws.stray_folders())
    for crop_id in ws.crop_ids():
        entry = ws.crop_entry(crop_id)
        if entry.status == "broken":
            hint = "; re-run `garbtui extract` to cut it again" if entry.reason == "raw.png is missing" else ""
            problems.append((f"crops/{crop_id}", entry.reason + hint))
            continue
        for name, reader in (("raw.png", read_rgb), ("proc.png", read_rgba)):
            path = ws.crop_dir(crop_id) / name
            if not path.exists():
                continue
            try:
                img = reader(path)
            except GarbError as exc:
                hint = RAW_HINT if name == "raw.png" else PROC_HINT
                problems.append((f"crops/{crop_id}/{name}", f"{exc.message}; {hint}"))
                continue
            meta = entry.meta
            if meta and img.shape[:2] != (meta.crop_height, meta.crop_width):
                problems.append(
                    (f"crops/{crop_id}/{name}",
                     f"size {img.shape[1]}x{img.shape[0]} does not match meta.json {meta.crop_width}x{meta.crop_height}")
                )
    for sub, loader, path_of in (
        ("images", ws.load_image_meta, ws.image_path),
        ("backgrounds", ws.load_background_meta, ws.background_path),
    ):
        ids = ws.image_ids() if sub == "images" else ws.background_ids()
        for item_id in ids:
            try:
                photo_meta = loader(item_id)
                path = path_of(item_id)
                read_rgb(path)
            except GarbError as exc:
                problems.append((f"{sub}/{item_id}", exc.message))
                continue
            # The stored photo may be a hard link to the user's file: if that was overwritten in place,
            # every crop and scene built on it now points at other pixels.
            if photo_meta.file_sha1 and file_sha1(path) != photo_meta.file_sha1:
                problems.append((f"{sub}/{item_id}", f"{path.name} changed since it was added (content differs "
                                 "from meta.json's file_sha1): crops and scenes no longer match it"))
    for scene_id in ws.scene_ids():
        try:
            ws.load_scene(scene_id)
        except GarbError as exc:
            problems.append((f"scenes/{scene_id}", exc.message))
    return problems
