"""Save a scene and its render: scene.json, render.jpg and labels/ written so no reader sees half a result."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from garbtui.core.compose.fragment import Fragment
from garbtui.core.compose.render import RenderResult, render_scene
from garbtui.core.workspace.atomic import atomic_write_bytes, encode_jpeg, temp_name
from garbtui.core.workspace.models import Scene
from garbtui.core.workspace.store import Workspace

RENDER_FILE = "render.jpg"
LABELS_DIR = "labels"
# Label Studio resolves this when its LOCAL_FILES_DOCUMENT_ROOT is the workspace folder.
DEFAULT_LS_IMAGE_REF = "/data/local-files/?d=scenes/{scene}/render.jpg"


def save_and_render(
    ws: Workspace,
    scene: Scene,
    *,
    categories: Sequence[str] | None = None,
    fragments: dict[str, Fragment] | None = None,
    ls_image_ref: str = DEFAULT_LS_IMAGE_REF,
) -> RenderResult:
    """Render `scene` at full size and write scenes/<id>/{scene.json, render.jpg, labels/}.

    Everything is computed in memory first; then render.jpg is replaced atomically, labels/ is built
    beside it and swapped in whole, and scene.json is written last. categories defaults to every label
    of the workspace's crops (sorted), so class ids agree across the scenes of a workspace.
    ls_image_ref is the Label Studio `data.image` of the render; `{scene}` is replaced by the scene id.
    """
    from garbtui.core.export.labels import replace_dir, workspace_categories, write_scene_labels

    result = render_scene(ws, scene, fragments=fragments)
    cats = list(categories) if categories is not None else workspace_categories(ws)
    jpeg = encode_jpeg(result.image, scene.jpeg_quality)
    folder = ws.scene_dir(scene.id)
    created = not folder.exists()
    stage = temp_name(folder / "render")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with ws.lock(scene.id, "scenes"):
            # Everything is staged first: a full disk or a bad label fails here, before any old file changes.
            atomic_write_bytes(stage / RENDER_FILE, jpeg)
            write_scene_labels(result, stage / LABELS_DIR, RENDER_FILE, cats,
                               image_ref=ls_image_ref.replace("{scene}", scene.id))
            replace_dir(stage / LABELS_DIR, folder / LABELS_DIR)
            os.replace(stage / RENDER_FILE, folder / RENDER_FILE)
            ws.save_scene(scene)
    except BaseException:
        # A scene that did not exist before leaves no folder behind; an existing one keeps its files.
        shutil.rmtree(folder if created else stage, ignore_errors=True)
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
