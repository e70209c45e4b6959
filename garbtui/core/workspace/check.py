"""`status --check`: read every file of a workspace and report what is broken, and why."""

from __future__ import annotations

from pathlib import Path

from garbtui.core.errors import GarbError, WorkspaceError
from garbtui.core.workspace.ids import file_sha1
from garbtui.core.workspace.imageio import probe_image, read_rgb, read_rgba
from garbtui.core.workspace.jsonfile import read_json, read_regular
from garbtui.core.workspace.store import LABELS_DIR, RENDER_FILE, RENDER_STAMP, Workspace

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
                img = read_rgb(path)
            except GarbError as exc:
                problems.append((f"{sub}/{item_id}", exc.message))
                continue
            if img.shape[:2] != (photo_meta.height, photo_meta.width):
                # Every pixel position in its meta (horizon, band, crops' boxes) would point elsewhere.
                problems.append((f"{sub}/{item_id}", f"{path.name} is {img.shape[1]}x{img.shape[0]} but meta.json says "
                                 f"{photo_meta.width}x{photo_meta.height}"))
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
        problems += [(f"scenes/{scene_id}", reason) for reason in _render_problems(ws.scene_dir(scene_id))]
    return problems


RENDER_HINT = "render the scene again (`garbtui render`)"


def _render_problems(folder: Path) -> list[str]:
    """Why a scene's render.jpg and labels/ do not describe each other, or what an interrupted render left."""
    out = []
    for entry in sorted(folder.iterdir()):
        if (entry.name.startswith(".render.") and entry.name.endswith(".tmp")) or entry.name == f".{LABELS_DIR}.old":
            out.append(f"{entry.name} was left by an interrupted render; {RENDER_HINT} (it removes it)")
    render, labels = folder / RENDER_FILE, folder / LABELS_DIR
    if render.exists() != labels.exists():
        have, missing = (RENDER_FILE, f"{LABELS_DIR}/") if render.exists() else (f"{LABELS_DIR}/", RENDER_FILE)
        return [*out, f"{have} without {missing}; {RENDER_HINT}"]
    if not render.exists():
        return out
    try:
        info = probe_image(render)
        width, height = info.width, info.height
        stamp = labels / RENDER_STAMP
        if stamp.exists():
            recorded = read_regular(stamp, WorkspaceError, "render stamp", 1024).decode("ascii", "replace").strip()
            if recorded != file_sha1(render, WorkspaceError):
                return [*out, f"{RENDER_FILE} and {LABELS_DIR}/ come from different renders (one was interrupted "
                              f"between them); {RENDER_HINT}"]
        coco = read_json(labels / "coco.json", WorkspaceError, "labels file")
        images = coco.get("images") if isinstance(coco, dict) else None
        image = images[0] if isinstance(images, list) and images and isinstance(images[0], dict) else {}
        if (image.get("width"), image.get("height")) != (width, height):
            return [*out, f"{LABELS_DIR}/coco.json describes a {image.get('width')}x{image.get('height')} image but "
                          f"{RENDER_FILE} is {width}x{height}; {RENDER_HINT}"]
    except GarbError as exc:
        return [*out, f"{exc.where and Path(exc.where).name}: {exc.message}; {RENDER_HINT}"]
    return out
