"""Cleaning workspace crops: one crop (run + save) or many in thread workers, each failure reported alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from garbtui.core.cleanup.session import CleanupResult, CleanupSession, auto_recipe
from garbtui.core.errors import CleanupError, GarbError, Interrupted
from garbtui.core.workspace.jobs import ProgressFn, run_items
from garbtui.core.workspace.models import CleanupRecipe
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
    by_other: bool = False  # left to another process cleaning the same crop now, or cleaned by one meanwhile
    score: float | None = None  # the cutout's confidence (CropMeta.quality.score)
    suspect: bool = False  # the confidence is under the suspect threshold
    reasons: tuple[str, ...] = ()  # why it is suspect


# Held while a batch cleans a crop: a second `garbtui clean` on the same workspace leaves that crop to the
# first instead of redoing it (a lock of its own: saving takes the crop's main lock inside it).
CLAIM_LOCK = ".clean.lock"


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
    # The quality goes into meta.json with the recipe, in one write before proc.png: a save killed at any
    # moment leaves the old meta or the new one, and a pending crop until proc.png lands.
    return ws.save_proc_checked(crop_id, result.rgba, result.recipe, expected=expected, quality=quality)


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


def _one(
    ws: Workspace, crop_id: str, recipe: CleanupRecipe | None, force: bool, replay: bool, pending_only: bool = False
) -> CleanOutcome:
    try:
        if not ws.crop_dir(crop_id).is_dir():
            return CleanOutcome(crop_id, False, "no such crop in this workspace")
        with ws.try_lock(crop_id, name=CLAIM_LOCK) as mine:
            if not mine:
                return CleanOutcome(crop_id, True, "another process is cleaning it now; left to it", by_other=True)
            return _claimed(ws, crop_id, recipe, force, replay, pending_only)
    except GarbError as exc:
        return CleanOutcome(crop_id, False, str(exc), field=exc.field)
    except (OSError, ValueError, MemoryError) as exc:
        return CleanOutcome(crop_id, False, f"{type(exc).__name__}: {exc}")


def _claimed(
    ws: Workspace, crop_id: str, recipe: CleanupRecipe | None, force: bool, replay: bool, pending_only: bool
) -> CleanOutcome:
    """_one for a crop this process has claimed (no other batch is cleaning it)."""
    if not ws.raw_path(crop_id).is_file():
        return CleanOutcome(crop_id, False, "raw.png is missing")
    if ws.proc_path(crop_id).exists() and not force:
        if pending_only:  # pending when listed: another process cleaned it since
            return CleanOutcome(crop_id, True, "", by_other=True)
        return CleanOutcome(crop_id, False, "already has proc.png (cleaned again only when forced)", field="force")
    use = recipe
    if replay:
        stored = ws.load_crop_meta(crop_id).cleanup
        use = stored if stored is not None else recipe
    result, saved = _clean_and_save(ws, crop_id, use, force)
    note = "another process saved a cutout meanwhile; it is kept as a backup" if saved.conflict else ""
    q = result.quality
    return CleanOutcome(crop_id, True, note, result.coverage, saved.backup, score=q.score if q else None,
                        suspect=bool(q and q.suspect), reasons=tuple(q.reasons) if q else ())


def clean_crops(
    ws: Workspace,
    crop_ids: Sequence[str],
    recipe: CleanupRecipe | None = None,
    *,
    force: bool = False,
    replay: bool = False,
    workers: int = 1,
    progress: ProgressFn | None = None,
    pending_only: bool = False,
) -> list[CleanOutcome]:
    """Clean several crops (thread workers when workers > 1); results in the order of `crop_ids`.

    `replay` reuses the recipe stored in each crop's meta.json when it has one. `pending_only` says the
    crops were listed as pending: one that has proc.png by the time its turn comes was cleaned by
    another process, which is not a failure (outcome ok, by_other). A crop another batch is cleaning
    right now is left to it (ok, by_other). Ctrl-C stops once the crops being cleaned are saved and
    raises Interrupted with the outcomes so far as `partial`.
    """
    total = len(crop_ids)
    outcomes: dict[str, CleanOutcome] = {}
    if progress:
        progress(0, total, "")

    def collect(crop_id: str, outcome: CleanOutcome) -> None:
        outcomes[crop_id] = outcome
        if progress:
            progress(len(outcomes), total, crop_id)

    try:
        run_items(lambda c: _one(ws, c, recipe, force, replay, pending_only), list(dict.fromkeys(crop_ids)),
                  workers, collect)
    except Interrupted as exc:
        raise Interrupted(exc.done, exc.total, [outcomes[c] for c in crop_ids if c in outcomes]) from None
    return [outcomes[c] for c in crop_ids]
