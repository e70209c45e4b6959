"""Pydantic models for every JSON file in a workspace; each carries a schema version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from garbtui.core.errors import WorkspaceError
from garbtui.core.text import label_problem
from garbtui.core.workspace.atomic import atomic_write_text
from garbtui.core.workspace.ids import is_safe_id
from garbtui.core.workspace.jsonfile import read_json

SCHEMA_VERSION = 1

# Bounds of the numbers a workspace file may hold: anything outside passes JSON and the types, but makes no
# sense (a 1e-310 m camera, a horizon below the photo) and used to fail, or silently do nothing, much later.
MAX_SIDE = 1_000_000  # px, an image side (the pixel limit refuses far smaller images anyway)
MAX_COORD = 1e6  # px, any coordinate (a placement, a polygon point): beyond this it cannot touch an image
CAMERA_HEIGHT_M = (0.05, 100.0)  # a camera on a small robot to one on a tall mast
MAX_POINTS = 100_000  # vertices of one polygon
MAX_PLACEMENTS = 10_000  # fragments in one scene
MAX_SEED = 2**63 - 1

SceneKind = Literal["road", "front", "unknown"]
SCENE_KINDS: tuple[str, ...] = ("road", "front")
SURFACES: tuple[str, ...] = ("road", "pavement", "grass", "ground", "unknown")
# Horizon estimates under this confidence are never used (issue 12: every wrong estimate on the bench
# photos scored 0.17-0.28, every right one but one >= 0.33); the row is kept as a suggestion.
TRUSTED_HORIZON_CONFIDENCE = 0.30
BlendMode = Literal["none", "feather", "poisson"]
ScaleFrom = Literal["perspective", "source-k", "prior", "front", "relative"]
BLEND_MODES: tuple[str, ...] = ("none", "feather", "poisson")

Point = tuple[float, float]
SafeId = Annotated[str, Field(min_length=1, max_length=120)]
CoordPoint = tuple[Annotated[float, Field(ge=-1e6, le=1e6)], Annotated[float, Field(ge=-1e6, le=1e6)]]
Side = Annotated[int, Field(ge=1, le=MAX_SIDE)]
Coord = Annotated[float, Field(ge=-MAX_COORD, le=MAX_COORD)]
CameraHeight = Annotated[float, Field(ge=CAMERA_HEIGHT_M[0], le=CAMERA_HEIGHT_M[1])]


def polygon_area(points: list[tuple[float, float]]) -> float:
    """The signed area of a polygon (shoelace formula), in square pixels."""
    n = len(points)
    return 0.5 * sum(points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1] for i in range(n))


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
        problem = model.problem()
        if problem:
            raise WorkspaceError(f"invalid {cls.__name__}: {problem}", where=str(path))
        return model

    def save(self, path: Path) -> None:
        """Write this model as JSON, atomically; a model whose numbers do not fit together is refused."""
        problem = self.problem()
        if problem:
            raise WorkspaceError(f"not saved: {problem}", where=str(path))
        atomic_write_text(Path(path), self.model_dump_json(indent=2) + "\n")

    def problem(self) -> str:
        """Why the values, each valid alone, do not fit together ("" when they do): checked on load and save.

        Not a pydantic model validator: those also run on every single assignment, when an edit made in
        several steps may pass through a state that is not yet consistent."""
        return ""


class BBox(BaseModel):
    """Axis-aligned box in pixels: x0, y0 inclusive corner, x1, y1 exclusive corner."""

    model_config = ConfigDict(allow_inf_nan=False)

    x0: Coord
    y0: Coord
    x1: Coord
    y1: Coord

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.x1 < self.x0 or self.y1 < self.y0:
            raise ValueError("a box's x1, y1 must not be less than its x0, y0")
        return self

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
    rotation: float = Field(default=0.0, ge=-360_000, le=360_000)  # box only: degrees clockwise around the top-left corner
    corners: list[CoordPoint] | None = Field(default=None, max_length=4)  # box: the four (turned) corners, unclamped
    points: list[CoordPoint] | None = Field(default=None, max_length=MAX_POINTS)  # polygon vertices (the largest part)
    parts: list[Annotated[list[CoordPoint], Field(max_length=MAX_POINTS)]] | None = Field(default=None, max_length=1000)
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
    position_weight: float = Field(default=0.0, ge=0.0, le=100.0)
    keep: list[Annotated[int, Field(ge=0, le=8)]] | None = None  # cluster indices kept as garbage; None = automatic
    refine: bool = True
    feather: int = Field(default=1, ge=0, le=16)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    sample_size: int = Field(default=4096, ge=64, le=10_000_000)
    auto: bool = True  # True when `keep` was chosen by the automatic rule, False once a user toggled
    # Keys on the automatic cutout (auto recipes) may also put a cluster the cutout has only partly wholly in
    # (all_in) or take it wholly out (all_out); out wins over in. Empty in recipes saved before them.
    all_in: list[Annotated[int, Field(ge=0, le=8)]] = Field(default_factory=list)
    all_out: list[Annotated[int, Field(ge=0, le=8)]] = Field(default_factory=list)


class CutoutQuality(BaseModel):
    """How far a cutout can be trusted: one score, written by `clean` and by saves in the app, read by the queue
    (suspects first, with the reasons), `generate` and `recreate` (suspects left out unless curated)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    score: float = Field(ge=0.0, le=1.0)  # 1 = surely the object and only the object
    suspect: bool = False  # score under the suspect threshold: probably not a clean cutout of the object
    reasons: list[str] = Field(default_factory=list)  # why, in words a user reads in the queue
    curated: bool = False  # a person saved this cutout in the app: trusted whatever the score


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
    origin_x: int = Field(ge=0, le=MAX_SIDE)  # crop origin in the original image
    origin_y: int = Field(ge=0, le=MAX_SIDE)
    crop_width: Side
    crop_height: Side
    image_width: Side
    image_height: Side
    region: Region
    margin: float = Field(ge=0.0, le=5.0)  # fraction of the box side used as background margin
    margin_px: tuple[int, int, int, int] = (0, 0, 0, 0)  # left, top, right, bottom, after clamping
    scene: SceneKind = "unknown"
    surface: str = "unknown"
    bottom_row: Coord | None = None  # region bottom in original pixels
    horizon_row: Coord | None = None  # source horizon, when known
    k: float | None = Field(default=None, gt=0, le=1000)  # perspective constant: object px height / (bottom_row - horizon_row)
    cleanup: CleanupRecipe | None = None
    quality: CutoutQuality | None = None  # of proc.png; None until cleaned (or cleaned before scores existed)

    _id_ok = field_validator("id", "image_id")(_check_safe)

    def problem(self) -> str:
        if self.origin_x + self.crop_width > self.image_width or self.origin_y + self.crop_height > self.image_height:
            return (f"the crop ({self.crop_width}x{self.crop_height} at {self.origin_x},{self.origin_y}) reaches past "
                    f"its {self.image_width}x{self.image_height} image")
        return ""

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
    width: Side
    height: Side
    exif_orientation: int = Field(default=1, ge=1, le=8)  # orientation tag of the source; the stored image is already upright
    file_sha1: str | None = None  # of the stored photo: `status --check` notices it changed under the crops
    scene: SceneKind = "unknown"
    surface: str = "unknown"
    horizon_row: float | None = None
    horizon_estimated: bool = False
    camera_height_m: CameraHeight | None = None

    _id_ok = field_validator("id", "file")(_check_safe)  # file: a plain name inside the image's folder

    def problem(self) -> str:
        return _horizon_problem(self.horizon_row, self.height)


class PlacementArea(BaseModel):
    """Where garbage may lie on a background: a horizontal band and/or polygons (pixels)."""

    model_config = ConfigDict(allow_inf_nan=False)

    y_min: Coord | None = None
    y_max: Coord | None = None
    polygons: list[Annotated[list[CoordPoint], Field(max_length=MAX_POINTS)]] = Field(default_factory=list, max_length=1000)

    def problem(self, width: int, height: int) -> str:
        """Why this area cannot hold anything on a width x height photo ("" when it can)."""
        for name, value in (("y_min", self.y_min), ("y_max", self.y_max)):
            if value is not None and not 0 <= value <= height:
                return f"the placement band's {name} {value:g} is outside the image (0..{height})"
        if self.y_min is not None and self.y_max is not None and self.y_min > self.y_max:
            return f"the placement band is empty: y_min {self.y_min:g} is below y_max {self.y_max:g}"
        for n, poly in enumerate(self.polygons):
            if len(poly) < 3 or abs(polygon_area(poly)) < 1.0:
                return f"placement polygon {n} has no area (fewer than 3 points, or all on one line)"
        return ""


class BackgroundMeta(GarbModel):
    """`backgrounds/<id>/meta.json`: a clean photo to paste onto."""

    id: SafeId
    file: str
    file_sha1: str | None = None  # of the stored photo: `status --check` notices it changed
    source_path: str = ""
    width: Side
    height: Side
    scene: SceneKind = "unknown"
    horizon_row: float | None = None
    horizon_estimated: bool = False
    camera_height_m: CameraHeight = 1.5
    placement: PlacementArea = Field(default_factory=PlacementArea)
    horizon_confidence: float | None = Field(default=None, ge=0.0, le=1.0)  # when estimated from lane lines
    source_sha1: str | None = None  # of the photo as added: re-adding the same photo is recognised
    # The light, when someone knows it: the direction shadows fall in the image (degrees, 0 = right, 90 = straight
    # down, the default) and how dark a cast shadow is (0..1; default 0.35). Never estimated: the estimator tried
    # failed on real litter photos.
    shadow_direction: float | None = None
    shadow_strength: float | None = Field(default=None, ge=0.0, le=1.0)
    # Front photos: pixels per metre on the ground at the image's centre row (default: a phone camera model).
    ground_scale: float | None = Field(default=None, gt=0.0)
    # An estimate under TRUSTED_HORIZON_CONFIDENCE is kept here as a suggestion only: horizon_row stays None.
    horizon_suggested: float | None = None

    _id_ok = field_validator("id", "file")(_check_safe)  # file: a plain name inside the background's folder

    @model_validator(mode="before")
    @classmethod
    def _untrusted_estimate(cls, data: Any) -> Any:
        """A meta written before the confidence rule (an estimated row under the threshold in horizon_row)
        reads with that row as a suggestion: an untrusted horizon is never used for placement or scale."""
        if isinstance(data, dict) and data.get("horizon_estimated") and data.get("horizon_row") is not None:
            conf = data.get("horizon_confidence")
            if isinstance(conf, (int, float)) and not isinstance(conf, bool) and conf < TRUSTED_HORIZON_CONFIDENCE:
                data = {**data, "horizon_suggested": data.get("horizon_suggested") or data["horizon_row"],
                        "horizon_row": None}
        return data

    def problem(self) -> str:
        return _horizon_problem(self.horizon_row, self.height) or self.placement.problem(self.width, self.height)


def _horizon_problem(row: float | None, height: int) -> str:
    if row is not None and not 0 <= row < height:
        return f"the horizon row {row:g} is outside the image (0..{height - 1})"
    return ""


class Placement(BaseModel):
    """One fragment on a background. x, y: bottom-centre contact point in background pixels."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True, allow_inf_nan=False)

    crop_id: SafeId
    x: Coord
    y: Coord
    scale: float | Literal["auto"] = "auto"
    rotation: float = Field(default=0.0, ge=-360_000, le=360_000)  # degrees, anticlockwise on screen
    flip: bool = False
    blend: BlendMode = "feather"
    color_match: bool = True
    shadow: bool | Literal["auto"] = "auto"  # auto: a contact shadow when the fragment lies on the ground
    # How a numeric scale was chosen when a program chose it (recreate): shown instead of "typed".
    # Left out of the file when None, so scenes without it keep their bytes.
    scale_from: ScaleFrom | None = None

    _id_ok = field_validator("crop_id")(_check_safe)

    @model_serializer(mode="wrap")
    def _drop_unset_scale_from(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if data.get("scale_from", "") is None:
            del data["scale_from"]
        return data

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
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    placements: list[Placement] = Field(default_factory=list, max_length=MAX_PLACEMENTS)
    occlusion_drop: float = Field(default=0.7, ge=0.0, le=1.0)  # drop labels hidden beyond this fraction
    jpeg_quality: int = Field(default=92, ge=1, le=100)
    note: str = Field(default="", max_length=10_000)

    _id_ok = field_validator("id", "background_id")(_check_safe)
