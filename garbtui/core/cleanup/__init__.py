"""Crop cleanup: k-means colour clusters, automatic choice of garbage clusters, refined soft-edged cutouts."""

from __future__ import annotations

from garbtui.core.cleanup.batch import CleanOutcome, clean_crop, clean_crops, save_result
from garbtui.core.cleanup.session import (
    CleanupResult,
    CleanupSession,
    ClusterStat,
    auto_recipe,
    cluster_palette,
)

__all__ = [
    "CleanOutcome",
    "CleanupResult",
    "CleanupSession",
    "ClusterStat",
    "auto_recipe",
    "clean_crop",
    "clean_crops",
    "cluster_palette",
    "save_result",
]
