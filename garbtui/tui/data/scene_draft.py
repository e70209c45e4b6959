"""The scene being edited on the placement screen, without widgets: what is placed where, what is
selected, whether it is saved, and the rules for adding, replacing, deleting, saving and starting over.

The placement screen shows a SceneDraft and turns keys into calls on it; the draft never touches a
widget, so everything here can be tested without an app.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from garbtui.core.errors import GarbError, InputError
from garbtui.core.workspace.models import BackgroundMeta, CropMeta, Placement, Scene
from garbtui.core.workspace.store import FileStamp, SaveResult, Workspace

if TYPE_CHECKING:
    from garbtui.core.scene.size_priors import SizePriors

UNSAVED_ID = "unsaved"  # the id a scene is rendered under before its first save
SCENE_PREFIX = "scene"
FORM_FIELDS = ("x", "y", "scale", "rotation")  # the placement form's number fields, by Placement attribute
NEW_X = (0.5, 0.3, 0.7, 0.4, 0.6)  # where new fragments go across the width, in turn


SCALE_ROOM = 2.0  # a typed scale may make a fragment at most this many times the background's longest side


def scale_problem(scale: float | str, fragment_size: tuple[int, int], background_size: tuple[int, int]) -> str | None:
    """Why a typed scale is refused (it would make the fragment far bigger than the photo), or None."""
    if scale == "auto" or not isinstance(scale, (int, float)):
        return None
    fw, fh = fragment_size
    bw, bh = background_size
    if fw <= 0 or fh <= 0 or bw <= 0 or bh <= 0:
        return None
    limit = SCALE_ROOM * max(bw, bh) / max(fw, fh)
    if scale <= limit:
        return None
    return (f"scale: {scale:g} would make this {fw}x{fh} px fragment {round(fw * scale)}x{round(fh * scale)} px "
            f"on a {bw}x{bh} photo; at most {limit:.3g} here (1 = its own size, 0.5 = half)")



class FieldProblem(NamedTuple):
    """Why a placement cannot be used as typed, and the form field to show it next to."""

    field: str  # one of FORM_FIELDS
    message: str


class SceneDraft:
    """One scene under edit: background, placements, selection, seed, note; `dirty` until saved.

    `reset` is the one place a draft starts over (a new scene, or one opened or recreated).
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.background: BackgroundMeta | None = None
        self.placements: list[Placement] = []
        self.selected: int | None = None
        self.scene_id: str | None = None
        self.stamp: FileStamp | None = None  # scene.json as loaded, so a save notices someone else's
        self.seed = 0
        self.note = ""
        self.notes: list[str] = []  # shown under the preview (recreate explains its layout there)
        self.dirty = False
        self.discard_warned: str | None = None  # the action a "press again to discard" warning was for
        self._metas: dict[str, CropMeta] = {}
        self._priors: SizePriors | None = None

    # -- starting over ------------------------------------------------------------------------
    def reset(self, scene: Scene | None = None, *, stamp: FileStamp | None = None, dirty: bool = False,
              notes: Sequence[str] = ()) -> None:
        """Start over: a new, empty scene (the background stays), or `scene` as loaded (its background is
        set next, by `use_background`, when its meta can be read)."""
        self.scene_id = scene.id if scene is not None else None
        self.stamp = stamp
        self.seed = scene.seed if scene is not None else 0
        self.note = scene.note if scene is not None else ""
        self.notes = list(notes)
        self.placements = list(scene.placements) if scene is not None else []
        self.selected = None
        if scene is not None:
            self.background = None
        self.dirty = dirty
        self.discard_warned = None

    def discard_ok(self, action: str) -> bool:
        """True when nothing unsaved would be lost, or when `action` was already warned about (asked twice)."""
        if not self.dirty or self.discard_warned == action:
            self.discard_warned = None
            return True
        self.discard_warned = action
        return False

    # -- the background -----------------------------------------------------------------------
    def use_background(self, meta: BackgroundMeta) -> None:
        """Place on `meta` from now on; switching the background of placed fragments is an edit."""
        changed = self.background is not None
        self.background = meta
        if changed and self.placements:
            self.dirty = True

    def default_position(self) -> tuple[float, float]:
        """Where a new fragment goes: spread across the width, in the middle of the ground band (road)."""
        bg = self.background
        assert bg is not None
        x = bg.width * NEW_X[len(self.placements) % len(NEW_X)]
        area = bg.placement
        low = area.y_min if area.y_min is not None else (bg.horizon_row or 0.0)
        high = area.y_max if area.y_max is not None else float(bg.height)
        y = low + 0.6 * (high - low) if bg.scene == "road" else bg.height * 0.8
        return round(x), round(y)

    # -- placements ---------------------------------------------------------------------------
    def select(self, index: int | None) -> bool:
        """Select the index-th placement (None, or an index out of range: none); False when nothing changed."""
        if index is not None and not 0 <= index < len(self.placements):
            index = None
        if index == self.selected and index is not None:
            return False
        self.selected = index
        return True

    @property
    def current(self) -> Placement | None:
        """The selected placement."""
        return self.placements[self.selected] if self.selected is not None else None

    def new_placement(self, crop_id: str) -> Placement:
        """A placement of `crop_id` at the default position: `auto` scale, or 1:1 where auto cannot work."""
        x, y = self.default_position()
        placement = Placement(crop_id=crop_id, x=x, y=y, scale="auto")
        if self.check(len(self.placements), placement) is not None:
            placement = placement.model_copy(update={"scale": 1.0})  # a road without a horizon: start at 1:1
        return placement

    def add(self, placement: Placement) -> int:
        """Append `placement` (selection cleared: the caller selects it); returns its index."""
        self.placements.append(placement)
        self._edited()
        self.selected = None
        return len(self.placements) - 1

    def replace(self, index: int, placement: Placement) -> None:
        self.placements[index] = placement
        self._edited()

    def delete_selected(self) -> int | None:
        """Delete the selected placement (selection cleared); returns the index to select next, if any."""
        assert self.selected is not None
        del self.placements[self.selected]
        index = min(self.selected, len(self.placements) - 1) if self.placements else None
        self.selected = None
        # A scene never saved that is empty again holds nothing to lose.
        self.dirty = bool(self.placements) or self.scene_id is not None
        return index

    def _edited(self) -> None:
        self.dirty = True
        self.discard_warned = None

    # -- crops --------------------------------------------------------------------------------
    def remember(self, meta: CropMeta) -> None:
        self._metas[meta.id] = meta

    def crop_meta(self, crop_id: str) -> CropMeta | None:
        """The crop's meta (read once, then kept); None when it cannot be read."""
        meta = self._metas.get(crop_id)
        if meta is None:
            try:
                meta = self.ws.load_crop_meta(crop_id)
            except GarbError:
                return None
            self._metas[crop_id] = meta
        return meta

    def label_of(self, crop_id: str) -> str:
        meta = self.crop_meta(crop_id)
        return meta.label if meta is not None else "?"

    def check(self, index: int, placement: Placement) -> FieldProblem | None:
        """Why this placement cannot be rendered here, and the field to fix: `auto` with a contact point at or
        above the horizon (or a road without one), or a typed scale far too large for the photo (it would
        render for seconds); None when it can."""
        from garbtui.core.scene.perspective import resolve_scale
        from garbtui.core.scene.size_priors import load_size_priors

        meta = self.crop_meta(placement.crop_id)
        if self.background is not None and meta is not None:
            too_big = scale_problem(placement.scale, (meta.crop_width, meta.crop_height),
                                    (self.background.width, self.background.height))
            if too_big is not None:
                return FieldProblem("scale", too_big)
        if self.background is None or meta is None or placement.scale != "auto":
            return None
        if self._priors is None:
            self._priors = load_size_priors(self.ws.root)
        try:
            # Height 1 px: whether auto works depends only on where the contact point is.
            resolve_scale(placement, meta, 1.0, self.background, self._priors, index=index)
        except InputError as exc:
            return FieldProblem(form_field(exc, placement, self.background), exc.message)
        return None

    # -- the scene ----------------------------------------------------------------------------
    def build_scene(self, scene_id: str | None = None) -> Scene | None:
        if self.background is None:
            return None
        return Scene(id=scene_id or self.scene_id or UNSAVED_ID, background_id=self.background.id, seed=self.seed,
                     placements=list(self.placements), note=self.note)

    def ensure_id(self) -> str:
        """The scene's id, given the next free `scene-NNNN` on first use (a new scene: nothing to compare with)."""
        if self.scene_id is None:
            from garbtui.core.export.scene_files import next_scene_id

            self.scene_id = next_scene_id(self.ws, SCENE_PREFIX)
            self.stamp = None
        return self.scene_id

    def save(self) -> SaveResult:
        """Write scene.json (someone else's newer one is kept as a backup); clean afterwards. Raises
        GarbError or OSError when it cannot be written."""
        self.ensure_id()
        scene = self.build_scene()
        assert scene is not None
        saved = self.ws.save_scene(scene, expected=self.stamp)
        self.stamp = saved.stamp
        self.dirty = False
        return saved

    def rendered(self, scene: Scene) -> bool:
        """`scene` was rendered and saved with its labels; True when it is this draft's scene, which is then
        clean unless it was edited while it rendered."""
        if scene.id != self.scene_id:
            return False
        self.stamp = self.ws.scene_stamp(scene.id)
        self.dirty = self.build_scene() != scene
        return True


def form_field(exc: GarbError, placement: Placement, background: BackgroundMeta) -> str:
    """The form field an error about `placement` belongs next to: the error's own `field` when the form has
    it; otherwise y for a contact point at or above the horizon (auto cannot scale it) and scale else."""
    name = getattr(exc, "field", None)
    if name in FORM_FIELDS:
        return str(name)
    horizon = background.horizon_row
    if background.scene == "road" and horizon is not None and placement.y <= horizon:
        return "y"
    return "scale"


def scene_choices(ws: Workspace) -> list[tuple[object, str]]:
    """(id, description) of every saved scene, for the open dialog; an unreadable one says why."""
    options: list[tuple[object, str]] = []
    for scene_id in ws.scene_ids():
        try:
            scene = ws.load_scene(scene_id)
            options.append((scene_id, f"{scene_id}  ({len(scene.placements)} on {scene.background_id})"))
        except GarbError as exc:
            options.append((scene_id, f"{scene_id}  (unreadable: {exc.message})"))
    return options
