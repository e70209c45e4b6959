"""The surfaces view of a background (no widgets): its k-means regions, which are ground, and the picture.

The regions come from core (scene/auto.cluster_regions), the starting choice from the background's
surfaces (seg.json, else the automatic estimate: scene/hand.RegionChoice). The picture shows what would
be saved (ground green, the rest red) with each region's number; saving writes seg.json + seg.png as
made by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from garbtui.core.scene.auto import cluster_regions
from garbtui.core.scene.hand import RegionChoice
from garbtui.core.scene.segment import background_surfaces
from garbtui.core.scene.surfaces import GROUND_SURFACES, SegMap, save_surfaces, surface_ids
from garbtui.core.workspace.imageio import read_rgb
from garbtui.core.workspace.models import BackgroundMeta
from garbtui.core.workspace.store import Workspace
from garbtui.tui.data import pixels

GROUND_TINT = (40, 200, 70)
OTHER_TINT = (200, 40, 40)
SMALL_SIDE = 480  # the regions are kept at this long side for drawing


@dataclass
class SurfaceEdit:
    """One background's regions under edit."""

    bg_id: str
    choice: RegionChoice
    small: np.ndarray  # regions at SMALL_SIDE, for the picture
    source: str  # where the starting surfaces came from: auto, hand, segformer-onnx, polygons
    dirty: bool = False
    _ground_small: tuple[tuple[int, ...], np.ndarray] | None = None  # (state, ground at SMALL_SIDE)

    def ground_small(self) -> np.ndarray:
        """What would be saved, as a ground mask at SMALL_SIDE (kept per toggle state)."""
        state = tuple(sorted(self.choice.ground))
        if self._ground_small is None or self._ground_small[0] != state:
            ground = np.isin(self.choice.result(), surface_ids(list(GROUND_SURFACES))).astype(np.uint8)
            h, w = self.small.shape
            self._ground_small = (state, cv2.resize(ground, (w, h), interpolation=cv2.INTER_NEAREST) > 0)
        return self._ground_small[1]

    def toggle(self, region: int) -> bool | None:
        """Flip region `region` (0-based); None when there is no such region."""
        if not 0 <= region < self.choice.count:
            return None
        self.dirty = True
        return self.choice.toggle(region)

    def ground_share(self) -> float:
        return float(self.ground_small().mean())


def load_edit(ws: Workspace, meta: BackgroundMeta) -> SurfaceEdit:
    """Regions and starting choice of a background (seconds on a big photo: call it from a worker)."""
    rgb = read_rgb(ws.background_path(meta.id))
    regions = cluster_regions(rgb)
    surfaces = background_surfaces(ws, meta)
    h, w = regions.shape
    s = SMALL_SIDE / max(h, w)
    small = cv2.resize(regions, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_NEAREST)
    return SurfaceEdit(meta.id, RegionChoice.start(regions, surfaces.labels), small, surfaces.backend)


def save_edit(ws: Workspace, edit: SurfaceEdit) -> SegMap:
    """seg.json + seg.png of the choice, marked as made by hand (segment keeps it unless forced)."""
    folder = ws.background_dir(edit.bg_id)
    seg = save_surfaces(Path(folder), edit.choice.result(), backend="hand", garbage_surfaces=GROUND_SURFACES)
    edit.dirty = False
    return seg


def draw(rgb: np.ndarray, edit: SurfaceEdit) -> np.ndarray:
    """The preview picture tinted with what would be saved (ground green, the rest red), regions numbered."""
    h, w = rgb.shape[:2]
    regions = cv2.resize(edit.small, (w, h), interpolation=cv2.INTER_NEAREST)
    ground = cv2.resize(edit.ground_small().astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    tint = np.where(ground[..., None], np.array(GROUND_TINT, np.float32), np.array(OTHER_TINT, np.float32))
    out = (rgb.astype(np.float32) * 0.55 + tint * 0.45).astype(np.uint8)
    if w >= 400:  # thin borders only where they stay thin; half-cell previews show the tints and numbers
        edges = np.zeros((h, w), bool)
        edges[:, 1:] |= regions[:, 1:] != regions[:, :-1]
        edges[1:, :] |= regions[1:, :] != regions[:-1, :]
        out[edges] = (255, 255, 255)
    return pixels.draw_numbers(out, regions, edit.choice.count)
