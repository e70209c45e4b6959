"""Class-to-surface maps for the SegFormer label sets (data): ADE20K (150 classes) and Cityscapes (19).

ADE20K: the 150 SceneParsing classes in the order of the Hugging Face `id2label` of
`nvidia/segformer-b*-finetuned-ade-512-512` / `-640-640` (0 = wall ... 149 = flag).
Cityscapes: the 19 train ids of `nvidia/segformer-b*-finetuned-cityscapes-1024-1024`.

Rules: only horizontal surfaces a piece of litter can rest on are ground (road, pavement, grass, ground).
Anything uncertain (rugs, rocks, mountains, flower beds) goes to a never-ground surface: a wrong "never"
only loses candidate pixels, a wrong "ground" puts litter on a car. A Cityscapes model was trained with
the ego vehicle as void, so it labels a dash-cam bonnet as it likes: segment keeps the model-free
bottom-band detector in front of any model.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from garbtui.core.scene.surfaces import SURFACE_ID

ADE20K_CLASSES: tuple[str, ...] = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass",
    "cabinet", "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair",
    "car", "water", "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field",
    "armchair", "seat", "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
    "base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace",
    "refrigerator", "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway",
    "river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill", "bench",
    "countertop", "stove", "palm", "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel",
    "bus", "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver",
    "airplane", "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet",
    "poster", "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool",
    "stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball",
    "food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher",
    "screen", "blanket", "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan",
    "pier", "crt screen", "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
)

# Every ADE20K class not listed here is "other".
ADE20K_TO_SURFACE: dict[str, str] = {
    # ground surfaces
    "road": "road", "runway": "road",
    "sidewalk": "pavement", "path": "pavement", "floor": "pavement", "step": "pavement", "stairs": "pavement",
    "stairway": "pavement",
    "grass": "grass", "field": "grass", "hill": "grass",
    "earth": "ground", "land": "ground", "sand": "ground", "dirt track": "ground",
    # never-ground
    "car": "vehicle", "bus": "vehicle", "truck": "vehicle", "van": "vehicle", "minibike": "vehicle",
    "bicycle": "vehicle", "boat": "vehicle", "ship": "vehicle", "airplane": "vehicle",
    "person": "person",
    "sky": "sky",
    "wall": "building", "building": "building", "house": "building", "skyscraper": "building", "hovel": "building",
    "tower": "building", "door": "building", "windowpane": "building", "column": "building", "bridge": "building",
    "booth": "building", "awning": "building", "grandstand": "building", "ceiling": "building",
    "tree": "tree", "palm": "tree", "plant": "tree", "flower": "tree",
    "water": "water", "sea": "water", "river": "water", "lake": "water", "waterfall": "water",
    "swimming pool": "water", "fountain": "water",
}

CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)

CITYSCAPES_TO_SURFACE: dict[str, str] = {
    "road": "road", "sidewalk": "pavement", "building": "building", "wall": "building", "fence": "other",
    "pole": "other", "traffic light": "other", "traffic sign": "other", "vegetation": "tree",
    "terrain": "grass",  # Cityscapes terrain = grass, soil, sand: horizontal, walkable
    "sky": "sky", "person": "person", "rider": "person", "car": "vehicle", "truck": "vehicle", "bus": "vehicle",
    "train": "vehicle", "motorcycle": "vehicle", "bicycle": "vehicle",
}

LABEL_SETS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "ade20k": (ADE20K_CLASSES, ADE20K_TO_SURFACE),
    "cityscapes": (CITYSCAPES_CLASSES, CITYSCAPES_TO_SURFACE),
}


def surface_lut(label_set: str | None = None, id2label: dict[int, str] | None = None) -> NDArray[np.uint8]:
    """uint8 lookup table: model class index -> surface id (surfaces.SURFACES).

    `id2label` (from a model's config.json) wins over `label_set`; its names are matched against both
    maps (the first name before a comma, lower case), unknown names -> other.
    """
    if id2label is not None:
        merged = {**CITYSCAPES_TO_SURFACE, **ADE20K_TO_SURFACE}
        n = max(id2label) + 1 if id2label else 0
        lut = np.full(n, SURFACE_ID["other"], np.uint8)
        for k, name in id2label.items():
            key = str(name).split(",")[0].strip().lower()
            lut[k] = SURFACE_ID[merged.get(key, "other")]
        return lut
    classes, mapping = LABEL_SETS[label_set or "ade20k"]
    return np.array([SURFACE_ID[mapping.get(c, "other")] for c in classes], np.uint8)


def guess_label_set(num_classes: int) -> str | None:
    """ade20k for 150 classes, cityscapes for 19, None otherwise (the model must bring its config.json)."""
    return {150: "ade20k", 19: "cityscapes"}.get(num_classes)
