"""Pydantic models for every JSON file in a workspace; each carries a schema version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from garbtui.core.errors import WorkspaceError
from garbtui.core.text import label_problem
from garbtui.core.workspace.atomic import atomic_write_text
from garbtui.core.workspace.ids import is_safe_id
from garbtui.core.workspace.jsonfile import read_json

SCHEMA_VERSION = 1

SceneKind = Literal["road", "front", "unknown"]
SCENE_KINDS: tuple[str, ...] = ("road", "front")
SURFACES: tuple[str, ...] = ("road", "pavement", "grass", "ground", "unknown")
BlendMode = Literal["none", "feather", "poisson"]
BLEND_MODES: tuple[str, ...] = ("none", "feather", "poisson")

Point = tuple[float, float]
SafeId = Annotated[str, Field(min_length=1, max_length=120)]


def _check_safe(value: str) -> str:
    if not is_safe_id(value):
        raise ValueError(f"unsafe id {value!r}")
    return value


class GarbModel(BaseModel):
    """Base of the file models: strict about unknown types, tolerant of extra keys from newer versions."""

    # NaN and infinity are refused: JSON has no spelling for them, so a model holding one would save a
    # file that it cannot load back.
    model_config = ConfigDict(extra="ignore", validate_assignment=True, allow_inf_nan=False)

    schema_version: int = SCHEMA_VERSION

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read and validate one JSON file, raising WorkspaceError that names the file."""
        path = Path(path)
        data = read_json(path, WorkspaceError)
        try:
            model = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(top)"
            raise WorkspaceError(f"invalid {cls.__name__} at {loc}: {first['msg']}", where=str(path)) from None
        if model.schema_version > SCHEMA_VERSION:
            raise WorkspaceError(
                f"schema version {model.schema_version} is newer than this garbtui ({SCHEMA_VERSION}); upgrade garbtui",
                where=str(path),
            )
        return model

    def save(self, path: Path) -> None:
        """Write this model as JSON, atomically."""
        atomic_write_text(Path(path), self.model_dump_json(indent=2) + "\n")


class BBox(BaseModel):
    """Axis-aligned box in pixels: x0, y0 inclusive corner, x1, y1 exclusive corner."""

    model_config = ConfigDict(allow_inf_nan=False)

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


class Region(BaseModel):
    """The annotated region of an object, in original-image pixels (EXIF-oriented)."""

    model_config = ConfigDict(allow_inf_nan=False)

    kind: Literal["box", "polygon", "brush"]
    bbox: BBox  # tight bounds of the region, clamped to the image
    rotation: float = 0.0  # box only: degrees clockwise around the top-left corner
    corners: list[Point] | None = None  # box: the four (turned) corners, unclamped
    points: list[Point] | None = None  # polygon vertices (the largest part when there are several)
    parts: list[list[Point]] | None = None  # every polygon part, for multi-part (COCO) outlines
    mask_file: str | None = None  # brush: mask image beside raw.png, in crop pixels
    clamped: bool = False  # the annotation reached past the image and was cut at its border

    @field_validator("mask_file")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        return None if value is None else _check_safe(value)


class CleanupRecipe(BaseModel):
    """Everything needed to replay a cutout exactly."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    k: int = Field(default=6, ge=2, le=9)
    color_space: Literal["lab", "rgb", "hsv"] = "lab"
    position_weight: float = Field(default=0.0, ge=0.0)
    keep: list[int] | None = None  # cluster indices kept as garbage; None = chosen automatically
    refine: bool = True
    feather: int = Field(default=1, ge=0, le=16)
    seed: int = Field(default=0, ge=0)
    sample_size: int = Field(default=4096, ge=64)
    auto: bool = True  # True when `keep` was chosen by the automatic rule, False once a user toggled


class CropMeta(GarbModel):
    """`crops/<id>/meta.json`: where a crop came from and what it is."""

    id: SafeId
    image_id: SafeId
    source_path: str  # the image reference as the export gave it
    source_kind: Literal["labelstudio", "coco"] = "labelstudio"
    task_id: str | None = None
    annotation_id: str | None = None
    result_ids: list[str] = Field(default_factory=list)
    from_prediction: bool = False
    label: str
    origin_x: int  # crop origin in the original image
    origin_y: int
    crop_width: int = Field(ge=1)
    crop_height: int = Field(ge=1)
    image_width: int = Field(ge=1)
    image_height: int = Field(ge=1)
    region: Region
    margin: float = Field(ge=0.0)  # fraction of the box side used as background margin
    margin_px: tuple[int, int, int, int] = (0, 0, 0, 0)  # left, top, right, bottom, after clamping
    scene: SceneKind = "unknown"
    surface: str = "unknown"
    bottom_row: float | None = None  # region bottom in original pixels
    horizon_row: float | None = None  # source horizon, when known
    k: float | None = None  # perspective constant: object px height / (bottom_row - horizon_row)
    cleanup: CleanupRecipe | None = None

    _id_ok = field_validator("id", "image_id")(_check_safe)

    @field_validator("label")
    @classmethod
    def _printable_label(cls, value: str) -> str:
        # A label becomes a line of classes.txt and a YOLO id, and is drawn in the TUI: no newline, no ESC.
        problem = label_problem(value)
        if problem:
            raise ValueError(f"the label {problem}")
        return value


class ImageMeta(GarbModel):
    """`images/<id>/meta.json`: one annotated source photo."""

    id: SafeId
    file: str  # image.jpg or image.png inside the folder
    source_path: str
    source_kind: Literal["labelstudio", "coco"] = "labelstudio"
    task_id: str | None = None
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    exif_orientation: int = 1  # orientation tag of the source; the stored image is already upright
    file_sha1: str | None = None  # of the stored photo: `status --check` notices it changed under the crops
    scene: SceneKind = "unknown"
    surface: str = "unknown"
    horizon_row: float | None = None
    horizon_estimated: bool = False
    camera_height_m: float | None = None

    _id_ok = field_validator("id", "file")(_check_safe)  # file: a plain name inside the image's folder


class PlacementArea(BaseModel):
    """Where garbage may lie on a background: a horizontal band and/or polygons (pixels)."""

    model_config = ConfigDict(allow_inf_nan=False)

    y_min: float | None = None
    y_max: float | None = None
    polygons: list[list[Point]] = Field(default_factory=list)


class BackgroundMeta(GarbModel):
    """`backgrounds/<id>/meta.json`: a clean photo to paste onto."""

    id: SafeId
    file: str
    file_sha1: str | None = None  # of the stored photo: `status --check` notices it changed
    source_path: str = ""
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    scene: SceneKind = "unknown"
    horizon_row: float | None = None
    horizon_estimated: bool = False
    camera_height_m: float = Field(default=1.5, gt=0)
    placement: PlacementArea = Field(default_factory=PlacementArea)
    horizon_confidence: float | None = None  # 0..1 when the horizon was estimated from lane lines
    source_sha1: str | None = None  # of the photo as added: re-adding the same photo is recognised

    _id_ok = field_validator("id", "file")(_check_safe)  # file: a plain name inside the background's folder


class Placement(BaseModel):
    """One fragment on a background. x, y: bottom-centre contact point in background pixels."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True, allow_inf_nan=False)

    crop_id: SafeId
    x: float
    y: float
    scale: float | Literal["auto"] = "auto"
    rotation: float = 0.0  # degrees, anticlockwise on screen
    flip: bool = False
    blend: BlendMode = "feather"
    color_match: bool = True
    shadow: bool = False

    _id_ok = field_validator("crop_id")(_check_safe)

    @field_validator("scale")
    @classmethod
    def _positive_scale(cls, value: float | str) -> float | str:
        if value != "auto" and not (isinstance(value, (int, float)) and 0 < value <= 100):
            raise ValueError("scale must be 'auto' or a number in (0, 100]")
        return value


class Scene(GarbModel):
    """`scenes/<id>/scene.json`: a background plus placed fragments, rendered deterministically."""

    id: SafeId
    background_id: SafeId
    seed: int = 0
    placements: list[Placement] = Field(default_factory=list)
    occlusion_drop: float = Field(default=0.7, ge=0.0, le=1.0)  # drop labels hidden beyond this fraction
    jpeg_quality: int = Field(default=92, ge=1, le=100)
    note: str = ""

    _id_ok = field_validator("id", "background_id")(_check_safe)
