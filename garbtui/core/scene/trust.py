"""Honest labels: which cleaned cutouts `generate` and `recreate` may use (CropMeta.quality, scored by `clean`).

A cutout whose quality is suspect (probably not a clean cutout of its object: e.g. a box that held only
asphalt) would put a label on something nobody can see, so it is left out unless a person curated it (saved
it in the app) or the caller asks for suspects too (include_suspect). A cutout without a score (cleaned
before scores existed) is used: there is nothing to hold against it.
"""

from __future__ import annotations

from garbtui.core.workspace.models import CropMeta

# The end of left_out_note's line: a command appends the flag that includes suspects (core never names flags).
INCLUDE_SUSPECTS = "or include suspects"


def is_left_out(meta: CropMeta, include_suspect: bool = False) -> bool:
    """True when the cutout is suspect, not curated, and suspects were not asked for."""
    q = meta.quality
    return q is not None and q.suspect and not q.curated and not include_suspect


def left_out_note(crop_ids: list[str]) -> str:
    """One line for the user: how many suspect cutouts were left out, which, and what brings them back (it ends
    with INCLUDE_SUSPECTS)."""
    shown = ", ".join(crop_ids[:5]) + (f" and {len(crop_ids) - 5} more" if len(crop_ids) > 5 else "")
    return (f"{len(crop_ids)} suspect cutout(s) left out ({shown}): probably not a clean cutout of the object; "
            f"review them in the queue (a cutout saved there is used) {INCLUDE_SUSPECTS}")
