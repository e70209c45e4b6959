"""Cleaning workspace crops: one crop (run + save) or many in thread workers, each failure reported alone."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from garbtui.core.cleanup.session import CleanupResult, CleanupSession, auto_recipe
from garbtui.core.errors import CleanupError, GarbError
from garbtui.core.workspace.jobs import ProgressFn
from garbtui.core.workspace.models import CleanupRecipe, CropMeta
from garbtui.core.workspace.store import UNCHECKED, ExpectedStamp, SaveResult, Workspace


@dataclass(frozen=True)
class CleanOutcome:
    """What happened to one crop in a batch."""

    crop_id: str
    ok: bool
    message: str = ""  # the reason when not ok; a note when ok (e.g. a save that met another's)
    coverage: float = 0.0  # fraction of the crop kept
    backup: Path | None = None  # the earlier proc.png, when one was replaced
    field: str | None = None  # the parameter that would change the outcome (see GarbError.field), e.g. "force"
    score: float | None = None  # the cutout's confidence (CropMeta.quality.score)
    suspect: bool = False  # the confidence is under the suspect threshold
    reasons: tuple[str, ...] = ()  # why it is suspect


def save_result(
    ws: Workspace, crop_id: str, result: CleanupResult, *, expected: ExpectedStamp = UNCHECKED, curated: bool = False
) -> SaveResult:
    """Save a cutout as proc.png with its recipe and its confidence (CropMeta.quality); refuse a fully
    transparent one.

    `expected` is ws.proc_stamp(crop_id) from when the crop was opened: the result then says whether
    someone else saved proc.png meanwhile (their file is kept as a backup either way). `curated`: a person
    chose this cutout (a save in the app); it is trusted whatever its score.
    """
    if result.empty:
        raise CleanupError(f"crop {crop_id}: the cutout is fully transparent (no cluster kept); nothing was saved")
    quality = result.quality
    if quality is not None:
        quality = quality.model_copy(update={"curated": curated})

        def set_quality(meta: CropMeta) -> None:
            meta.quality = quality

        # Written before proc.png, as the recipe is: a save killed in between leaves a pending crop.
        ws.update_meta(CropMeta, crop_id, set_quality)
    return ws.save_proc_checked(crop_id, result.rgba, result.recipe, expected=expected)


def _clean_and_save(
    ws: Workspace, crop_id: str, recipe: CleanupRecipe | None, force: bool
) -> tuple[CleanupResult, SaveResult]:
    stamp = ws.proc_stamp(crop_id)
    if stamp is not None and not force:
        raise CleanupError(f"crop {crop_id} already has proc.png; it is cleaned again only when forced "
                           "(the old one is kept as a backup)", field="force")
    result = CleanupSession.from_workspace(ws, crop_id).run(recipe or auto_recipe())
    return result, save_result(ws, crop_id, result, expected=stamp)


def clean_crop(
    ws: Workspace, crop_id: str, recipe: CleanupRecipe | None = None, force: bool = False
) -> CleanupResult:
    """Run `recipe` (automatic by default) on a crop and save proc.png; a done crop needs `force`."""
    return _clean_and_save(ws, crop_id, recipe, force)[0]


def _one(ws: Workspace, crop_id: str, recipe: CleanupRecipe | None, force: bool, replay: bool) -> CleanOutcome:
    try:
        if not ws.crop_dir(crop_id).is_dir():
            return CleanOutcome(crop_id, False, "no such crop in this workspace")
        if not ws.raw_path(crop_id).is_file():
            return CleanOutcome(crop_id, False, "raw.png is missing")
        use = recipe
        if replay:
            stored = ws.load_crop_meta(crop_id).cleanup
            use = stored if stored is not None else recipe
        if ws.proc_path(crop_id).exists() and not force:
            return CleanOutcome(crop_id, False, "already has proc.png (cleaned again only when forced)", field="force")
        result, saved = _clean_and_save(ws, crop_id, use, force)
        note = "another process saved a cutout meanwhile; it is kept as a backup" if saved.conflict else ""
        q = result.quality
        return CleanOutcome(crop_id, True, note, result.coverage, saved.backup, score=q.score if q else None,
                            suspect=bool(q and q.suspect), reasons=tuple(q.reasons) if q else ())
    except GarbError as exc:
        return CleanOutcome(crop_id, False, str(exc), field=exc.field)
    except (OSError, ValueError, MemoryError) as exc:
        return CleanOutcome(crop_id, False, f"{type(exc).__name__}: {exc}")


def clean_crops(
    ws: Workspace,
    crop_ids: Sequence[str],
    recipe: CleanupRecipe | None = None,
    *,
    force: bool = False,
    replay: bool = False,
    workers: int = 1,
    progress: ProgressFn | None = None,
) -> list[CleanOutcome]:
    """Clean several crops (thread workers when workers > 1); results in the order of `crop_ids`.

    `replay` reuses the recipe stored in each crop's meta.json when it has one.
    """
    total = len(crop_ids)
    outcomes: dict[str, CleanOutcome] = {}
    if progress:
        progress(0, total, "")
    if workers <= 1 or total <= 1:
        for i, crop_id in enumerate(crop_ids, 1):
            outcomes[crop_id] = _one(ws, crop_id, recipe, force, replay)
            if progress:
                progress(i, total, crop_id)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_one, ws, c, recipe, force, replay): c for c in crop_ids}
            for i, fut in enumerate(as_completed(futures), 1):
                crop_id = futures[fut]
                outcomes[crop_id] = fut.result()
                if progress:
                    progress(i, total, crop_id)
    return [outcomes[c] for c in crop_ids]
