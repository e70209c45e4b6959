"""Compositing: fragments placed on backgrounds with perspective, blending, occlusion and exact labels."""

from __future__ import annotations

from garbtui.core.compose.fragment import Fragment, load_fragment, transform_fragment
from garbtui.core.compose.render import PlacementInfo, RenderedObject, RenderResult, render_scene

__all__ = [
    "Fragment",
    "PlacementInfo",
    "RenderResult",
    "RenderedObject",
    "load_fragment",
    "render_scene",
    "transform_fragment",
]
