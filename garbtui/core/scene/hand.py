"""Surfaces marked by hand: the photo's own k-means regions toggled as ground (the TUI's surfaces view).

A person sees the regions numbered 1..k (auto.cluster_regions) over the photo, with the ones that are
mostly ground now shown as such, and toggles them with number keys, as cleanup clusters are. Saving turns
the choice into a label map, changing only the regions whose state the person changed: a region toggled to
ground keeps any ground kind it already had (road stays road) and takes its most common ground kind
elsewhere (`ground` when it had none); a region toggled off ground becomes `other` where it was ground.
Regions left as they started keep the current map pixel for pixel (k-means regions are coarse: the
region holding most of a road may also hold a car's bonnet, which stays a vehicle unless toggled).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from garbtui.core.scene.surfaces import GROUND_SURFACES, SURFACE_ID, surface_ids

GROUND_SHARE = 0.5  # a region counts as ground when at least this share of its pixels is


@dataclass
class RegionChoice:
    """The regions of one photo and which of them are ground."""

    regions: NDArray[np.uint8]  # region index per pixel, 0..count-1
    labels: NDArray[np.uint8]  # the surface map the choice starts from
    count: int
    ground: set[int] = field(default_factory=set)
    initial: set[int] = field(default_factory=set)  # the regions that started as ground

    @classmethod
    def start(cls, regions: NDArray[np.uint8], labels: NDArray[np.uint8]) -> RegionChoice:
        count = int(regions.max()) + 1 if regions.size else 0
        is_ground = np.isin(labels, surface_ids(list(GROUND_SURFACES)))
        chosen = set()
        for r in range(count):
            m = regions == r
            if m.any() and float(is_ground[m].mean()) >= GROUND_SHARE:
                chosen.add(r)
        return cls(regions, labels, count, chosen, set(chosen))

    def toggle(self, region: int) -> bool:
        """Flip one region (0-based); returns whether it is ground now. Out-of-range numbers do nothing."""
        if not 0 <= region < self.count:
            return False
        if region in self.ground:
            self.ground.discard(region)
            return False
        self.ground.add(region)
        return True

    def result(self) -> NDArray[np.uint8]:
        """The surface map with the choice applied (see the module docstring)."""
        out = self.labels.copy()
        gids = surface_ids(list(GROUND_SURFACES))
        for r in sorted(self.ground ^ self.initial):  # only the regions the person changed
            m = self.regions == r
            if not m.any():
                continue
            was_ground = np.isin(out, gids) & m
            if r in self.ground:
                kinds = out[was_ground]
                fill = int(np.bincount(kinds).argmax()) if kinds.size else SURFACE_ID["ground"]
                out[m & ~was_ground] = fill
            else:
                out[was_ground] = SURFACE_ID["other"]
        return out
