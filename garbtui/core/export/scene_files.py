"""Save a scene and its render: scene.json, render.jpg and labels/ written so no reader sees half a result."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence

from garbtui.core.compose.fragment import Fragment
from garbtui.core.compose.render import RenderResult, render_scene
from garbtui.core.errors import WriteError
from garbtui.core.workspace.atomic import atomic_write_bytes, atomic_write_text, encode_jpeg, temp_name
from garbtui.core.workspace.models import Scene
from garbtui.core.workspace.store import LABELS_DIR, RENDER_FILE, RENDER_STAMP, UNCHECKED, ExpectedStamp, Workspace

__all__ = ["DEFAULT_LS_IMAGE_REF", "LABELS_DIR", "RENDER_FILE", "RENDER_STAMP", "next_scene_id", "save_and_render"]

# Label Studio resolves this when its LOCAL_FILES_DOCUMENT_ROOT is the workspace folder.
DEFAULT_LS_IMAGE_REF = "/data/local-files/?d=scenes/{scene}/render.jpg"


def save_and_render(
    ws: Workspace,
    scene: Scene,
    *,
    categories: Sequence[str] | None = None,
    fragments: dict[str, Fragment] | None = None,
    ls_image_ref: str = DEFAULT_LS_IMAGE_REF,
    expected: ExpectedStamp = UNCHECKED,
    refuse_conflict: bool = False,
) -> RenderResult:
    """Render `scene` at full size and write scenes/<id>/{scene.json, render.jpg, labels/}.

    Everything is computed in memory first; then render.jpg is replaced atomically, labels/ is built
    beside it and swapped in whole, and scene.json is written last. categories defaults to every label
    of the workspace's crops (sorted), so class ids agree across the scenes of a workspace.
    ls_image_ref is the Label Studio `data.image` of the render; `{scene}` is replaced by the scene id.
    `expected` / `refuse_conflict` are save_scene's: with both, a scene.json saved by someone else while
    this rendered is kept and nothing is written (SceneChangedError). labels/ also gets RENDER_STAMP,
    the SHA-1 of its render.jpg, so `status --check` can tell when the two come from different renders.
    """
    from garbtui.core.export.labels import replace_dir, workspace_categories, write_scene_labels

    result = render_scene(ws, scene, fragments=fragments)
    cats = list(categories) if categories is not None else workspace_categories(ws)
    jpeg = encode_jpeg(result.image, scene.jpeg_quality)
    folder = ws.scene_dir(scene.id)
    created = not folder.exists()
    stage = temp_name(folder / "render")
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only or vanished workspace: one line, not a traceback
            raise WriteError(f"cannot write: {exc.strerror or exc}", where=str(folder)) from None
        with ws.lock(scene.id, "scenes"):
            # Everything is staged first: a full disk or a bad label fails here, before any old file changes.
            atomic_write_bytes(stage / RENDER_FILE, jpeg)
            write_scene_labels(result, stage / LABELS_DIR, RENDER_FILE, cats,
                               image_ref=ls_image_ref.replace("{scene}", scene.id))
            atomic_write_text(stage / LABELS_DIR / RENDER_STAMP, hashlib.sha1(jpeg).hexdigest() + "\n")

            def commit() -> None:
                replace_dir(stage / LABELS_DIR, folder / LABELS_DIR)
                os.replace(stage / RENDER_FILE, folder / RENDER_FILE)

            ws.save_scene(scene, expected=expected, refuse_conflict=refuse_conflict, before_write=commit)
    except BaseException:
        # A scene that did not exist before leaves no folder behind (unless someone else saved one into it
        # meanwhile); an existing one keeps its files.
        gone = created and not (folder / "scene.json").exists()
        shutil.rmtree(folder if gone else stage, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)
    return result


def next_scene_id(ws: Workspace, prefix: str = "scene") -> str:
    """The first unused id `prefix-0001`, `prefix-0002`, ... for a new scene."""
    from garbtui.core.workspace.ids import check_id, slugify

    base = check_id(slugify(prefix, 100), "scene id prefix")
    taken = set(ws.scene_ids())
    n = 1
    while f"{base}-{n:04d}" in taken:
        n += 1
    return f"{base}-{n:04d}"
