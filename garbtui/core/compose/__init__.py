"""Compositing: fragments placed on backgrounds with perspective, blending, occlusion and exact labels."""

from __future__ import annotations

from garbtui.core.compose.fragment import Fragment, load_fragment, transform_fragment
from garbtui.core.compose.render import RenderedObject, RenderResult, render_scene
from garbtui.core.compose.save import next_scene_id, save_and_render

__all__ = [
    "Fragment",
    "RenderResult",
    "RenderedObject",
    "load_fragment",
    "next_scene_id",
    "render_scene",
    "save_and_render",
    "transform_fragment",
]
