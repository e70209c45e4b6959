"""The placement screen's renders, in threads: the live preview of the draft scene at the preview's size,
and the full-size render with labels (and recreate's layout) that R (and e) start.

Each request gets a generation number; a render that is superseded before it starts skips its work, and
a result whose generation is not the newest is dropped, so a slow stale render never overwrites a newer
one. Renders share the decoded fragments and backgrounds, and a change of selection only redraws the
overlay on the last composite.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from garbtui.core.workspace.models import Scene
from garbtui.core.workspace.store import Workspace
from garbtui.tui.messages import PreviewRendered, SceneRecreated, SceneRendered
from garbtui.tui.widgets.image_view import RenderSpec, make_frame
from garbtui.tui.widgets.placement_preview import preview_max_size, preview_overlay

if TYPE_CHECKING:
    from garbtui.core.compose.fragment import Fragment
    from garbtui.core.compose.render import BackgroundCache, RenderResult


class PreviewRenderer:
    """Preview renders of one placement screen: requests, the newest result, and the caches they share."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.generation = 0  # the newest request
        self.shown_generation = 0  # the request whose render is on screen
        self.result: RenderResult | None = None  # the render on screen
        self.error = ""  # why the newest render failed ("" when it did not)
        self.fragments: dict[str, Fragment] = {}  # crop id -> Fragment, shared with full renders
        self.backgrounds: BackgroundCache = {}  # decoded, shrunk
        self.last: tuple[Scene, int, RenderResult] | None = None  # (scene, max_size, result) of the newest render
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """A render is pending: the picture on screen is not the newest request yet."""
        return self.shown_generation != self.generation

    def request(self) -> int:
        """A new request: every older one is stale from now on. Returns its generation."""
        self.generation += 1
        return self.generation

    def nothing_to_draw(self) -> None:
        """The newest request has nothing to render (no background): nothing is pending."""
        self.shown_generation = self.generation

    def render(self, scene: Scene, spec: RenderSpec, generation: int, horizon: float | None,
               selected: int | None) -> PreviewRendered | None:
        """Thread: the preview of `scene` for a box of `spec`, with the boxes, the horizon row (background
        pixels) and the selected placement's contact point drawn over it; None when a newer request came
        in before it started."""
        from garbtui.core.compose import render_scene

        try:
            with self._lock:
                if generation != self.generation:
                    return None  # a newer request came in before this one started: skip the work
                size = preview_max_size(spec)
                last = self.last
                if last is not None and last[0] == scene and last[1] == size:
                    result = last[2]  # only the selection changed: redraw the overlay on the same pixels
                else:
                    result = render_scene(self.ws, scene, max_size=size, fragments=self.fragments,
                                          backgrounds=self.backgrounds)
                    self.last = (scene, size, result)
                f = result.factor
                contact = None
                if selected is not None and selected < len(scene.placements):
                    p = scene.placements[selected]
                    contact = (p.x * f, p.y * f)
                overlay = preview_overlay([(o.placement_index, o.bbox, o.dropped) for o in result.objects],
                                          None if horizon is None else horizon * f, selected, contact)
                frame = make_frame(result.image, spec, ("placement", generation), overlay=overlay)
        except Exception as exc:  # a broken file or value must show as a message, never crash the app
            message = getattr(exc, "message", None) or f"{exc.__class__.__name__}: {exc}"
            return PreviewRendered(generation, None, None, str(message))
        return PreviewRendered(generation, result, frame)

    def accept(self, message: PreviewRendered) -> bool:
        """Take a finished render; False (and nothing changes) when a newer request is on its way."""
        if message.generation != self.generation:
            return False
        self.shown_generation = message.generation
        if message.result is None:
            self.error = message.error
        else:
            self.error = ""
            self.result = message.result
        return True


def render_scene_files(ws: Workspace, scene: Scene, fragments: dict[str, Fragment]) -> SceneRendered:
    """Thread: render `scene` at full size and write scenes/<id>/ (scene.json, render.jpg, labels/)."""
    from garbtui.core.export.scene_files import save_and_render

    try:
        return SceneRendered(scene, save_and_render(ws, scene, fragments=fragments))
    except Exception as exc:  # shown as a message, never a traceback
        return SceneRendered(scene, None, getattr(exc, "message", None) or repr(exc))


def recreate_layout(ws: Workspace, image_id: str, bg_id: str, seed: int) -> SceneRecreated:
    """Thread: a scene laying out `image_id`'s annotated objects on `bg_id` (not saved), with notes."""
    from garbtui.core.recreate import recreate_scene

    try:
        scene, notes = recreate_scene(ws, image_id, bg_id, seed=seed)
    except Exception as exc:  # shown as a message, never a traceback
        return SceneRecreated(image_id, None, [], getattr(exc, "message", None) or repr(exc))
    return SceneRecreated(image_id, scene, notes)
