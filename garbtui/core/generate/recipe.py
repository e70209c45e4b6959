"""Recipes: everything needed to re-render one generated image, and the record committed beside it.

A recipe is a pure description: background id, the window of the background resized to the output
size, numeric placements in output pixels, blend modes. Rendering it needs only the workspace files
(background photo, proc.png of the crops), so it can run in any process or on any machine.

`recipes/<name>.json` holds an ImageRecord: the recipe plus what its render produced (file names,
boxes, RLE masks, outlines). It is written last, after the image and its YOLO label file, so its
presence marks the image as done (a killed run redoes only images without a record).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from garbtui.core.export.objects import ObjectLabel
from garbtui.core.export.yolo import YoloMode
from garbtui.core.workspace.models import GarbModel, Placement, SafeId, Scene

Split = Literal["train", "val"]


class Recipe(BaseModel):
    """One image to render: a window of a background, resized to `size`, with fragments placed on it."""

    model_config = ConfigDict(allow_inf_nan=False)  # NaN would be saved as null and never load back

    name: SafeId  # file stem of the image, label and record
    index: int = Field(ge=0)  # scene index in the run (several images share it with --blend all)
    variant: str = ""  # blend mode of this rendering when a scene is rendered in several modes
    seed: int  # the run's seed (the scene's own randomness is derived from (seed, index))
    background_id: SafeId
    window: tuple[float, float, float, float]  # x0, y0, x1, y1 of the background, in its pixels
    size: tuple[int, int]  # output width, height
    placements: list[Placement] = Field(default_factory=list)  # positions in output pixels, numeric scales
    occlusion_drop: float = Field(default=0.7, ge=0.0, le=1.0)
    jpeg_quality: int = Field(default=92, ge=1, le=100)
    split: Split = "train"
    # The background's light (its meta.json's shadow_direction / shadow_strength), copied when planning so a
    # worker that never sees the workspace still casts shadows where the photo's own fall.
    shadow_direction: float | None = None
    shadow_strength: float | None = Field(default=None, ge=0.0, le=1.0)


ObjectRecord = ObjectLabel  # the per-object record lives with the writers that read it (core/export)


class ImageRecord(GarbModel):
    """`recipes/<name>.json`: the recipe, and the files and labels its render produced."""

    recipe: Recipe
    image_file: str  # relative to the output folder, e.g. images/train/000001.jpg
    label_file: str  # the YOLO label file Ultralytics reads, e.g. labels/train/000001.txt
    width: int
    height: int
    objects: list[ObjectLabel] = Field(default_factory=list)
    dropped: int = 0  # placements left out of the labels (hidden, outside, too small)
    drops: dict[str, int] = Field(default_factory=dict)  # the same by reason: hidden, outside, too_small


BlendChoice = Literal["sample", "none", "feather", "poisson", "all"]
BLEND_CHOICES: tuple[str, ...] = ("sample", "none", "feather", "poisson", "all")
ALL_MODES: tuple[str, ...] = ("none", "feather", "poisson")


class RunSettings(BaseModel):
    """What decides a run's images besides the workspace files: the same settings give the same bytes."""

    model_config = ConfigDict(allow_inf_nan=False)  # NaN would be saved as null and never load back

    seed: int = Field(default=0, ge=0)
    per_image: tuple[int, int] = (3, 8)  # fragments per road image (front images get 1 to min(3, max))
    blend: BlendChoice = "sample"
    val_fraction: float = Field(default=0.2, ge=0.0, le=1.0)
    size: tuple[int, int] = (640, 480)
    jpeg_quality: int = Field(default=92, ge=1, le=100)
    occlusion_drop: float = Field(default=0.7, ge=0.0, le=1.0)
    backgrounds: list[str] | None = None  # restrict to these background ids


class RunManifest(GarbModel):
    """`generate.json` in the output folder: the settings and inputs of a run, checked when it is resumed.

    The image count is not part of it: a run may be resumed with a larger --count to add images.
    """

    settings: RunSettings
    categories: list[str]
    fragments: list[str]
    backgrounds: list[str]
    count: int = 0
    layout: int = 1  # folder layout (runner.LAYOUT); files without it were written in the flat layout 1
    yolo: YoloMode = "detect"  # YOLO label files written per image (earlier releases: detect only)
    workspace: str = ""  # where the run read its fragments (the dataset browser opens a recipe there as a scene)


def recipe_scene(recipe: Recipe, scene_id: str) -> Scene:
    """The recipe as a workspace scene: the same layout on the whole background, in its own pixels.

    Positions and scales go from output pixels back to background pixels (the recipe's window was
    resized to the output size); rendered at the photo's full size it shows the same scene, sharper.
    """
    x0, y0, x1, _ = recipe.window
    s = recipe.size[0] / (x1 - x0)
    placements = [p.model_copy(update={"x": round(p.x / s + x0, 3), "y": round(p.y / s + y0, 3),
                                       "scale": round(float(p.scale) / s, 6) if p.scale != "auto" else "auto"})
                  for p in recipe.placements]
    return Scene(id=scene_id, background_id=recipe.background_id, seed=recipe.seed, placements=placements,
                 occlusion_drop=recipe.occlusion_drop, jpeg_quality=recipe.jpeg_quality,
                 note=f"generated image {recipe.name} (seed {recipe.seed}, scene {recipe.index})")
