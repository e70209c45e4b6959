"""Per-label real-world size priors (metres) that give the perspective constant when no source horizon is known.

A prior is the typical *visible height* of an object as it lies on the ground, in metres: the
vertical extent a camera at road height sees (a can lying down shows its diameter, ~0.07 m; a
flattened carton shows only a few centimetres). With the background's camera height H_cam, the
perspective constant is k = prior / H_cam (Hoiem, Efros & Hebert).

A workspace may override or extend the defaults with `WORKSPACE/size_priors.json`:

    {
      "schema_version": 1,
      "default": 0.08,
      "priors": {"Drink can": 0.07, "tyre": 0.6}
    }

`priors` keys are matched case-insensitively to a crop's label: exact name first, then the longest
keyword of any known prior contained in the label (so "crushed drink can" finds "drink can", then
"can"), then `default`. Workspace entries win over the built-in table.

Front (close-up, near top-down) photos need the other dimension: a *length* prior is the typical longest
side of the object as it lies (a can 0.12 m, a cigarette butt 0.035 m, a bottle 0.22 m), matched the same
way, overridable with `"lengths": {...}` and `"default_length"` in the same file. On the 74 annotated TACO
photos, objects photographed together differ from the length priors' ratios by more than 2x for 18 % of
the pairs (RMS 0.55 in log; equal sizes would give 0.86). MAX_LENGTH_FACTOR bounds how much larger than
typical an object may be (a big bottle, an unfolded carton).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from garbtui.core.workspace.models import GarbModel

SIZE_PRIORS_FILE = "size_priors.json"
DEFAULT_PRIOR_M = 0.08

# Visible height lying on the ground, metres. TACO's 60 classes are covered by name or by keyword.
BUILTIN_PRIORS: dict[str, float] = {
    # bottles and caps
    "clear plastic bottle": 0.08,
    "other plastic bottle": 0.08,
    "glass bottle": 0.08,
    "plastic bottle": 0.08,
    "bottle": 0.08,
    "plastic bottle cap": 0.02,
    "metal bottle cap": 0.015,
    "bottle cap": 0.02,
    "cap": 0.02,
    "broken glass": 0.03,
    "glass jar": 0.08,
    "jar": 0.08,
    # cans
    "drink can": 0.07,
    "food can": 0.08,
    "aerosol": 0.07,
    "can": 0.07,
    "pop tab": 0.01,
    "scrap metal": 0.05,
    "aluminium foil": 0.03,
    "aluminium blister pack": 0.02,
    "foil": 0.03,
    # cartons and paper
    "corrugated carton": 0.08,
    "other carton": 0.06,
    "egg carton": 0.07,
    "drink carton": 0.07,
    "meal carton": 0.06,
    "pizza box": 0.05,
    "toilet tube": 0.045,
    "carton": 0.06,
    "paper cup": 0.08,
    "disposable plastic cup": 0.08,
    "foam cup": 0.08,
    "glass cup": 0.08,
    "other plastic cup": 0.08,
    "cup": 0.08,
    "paper bag": 0.1,
    "magazine paper": 0.03,
    "tissues": 0.04,
    "wrapping paper": 0.04,
    "normal paper": 0.03,
    "paper straw": 0.01,
    "paper": 0.03,
    # plastic bags, wrappers and film
    "plastic film": 0.06,
    "six pack rings": 0.03,
    "garbage bag": 0.3,
    "other plastic wrapper": 0.04,
    "single-use carrier bag": 0.15,
    "polypropylene bag": 0.15,
    "crisp packet": 0.06,
    "bag": 0.12,
    "wrapper": 0.04,
    "plastic lid": 0.02,
    "metal lid": 0.02,
    "lid": 0.02,
    "plastic straw": 0.01,
    "straw": 0.01,
    "plastic utensils": 0.02,
    "styrofoam piece": 0.05,
    "foam food container": 0.07,
    "disposable food container": 0.06,
    "other plastic container": 0.07,
    "spread tub": 0.06,
    "tupperware": 0.07,
    "container": 0.07,
    "plastic glooves": 0.03,
    "plastic gloves": 0.03,
    "rope & strings": 0.02,
    "shoe": 0.1,
    "squeezable tube": 0.04,
    "battery": 0.02,
    "other plastic": 0.05,
    "plastic": 0.05,
    # small stuff
    "cigarette": 0.01,
    "food waste": 0.05,
    "unlabeled litter": 0.06,
    "litter": 0.06,
    "garbage": 0.06,
    "trash": 0.06,
    "tyre": 0.6,
    "tire": 0.6,
}


# Longest side lying on the ground, metres (close-up / front photos). TACO's 60 classes by name or keyword.
BUILTIN_LENGTHS: dict[str, float] = {
    "cigarette": 0.035, "drink can": 0.12, "food can": 0.11, "aerosol": 0.2, "can": 0.12, "pop tab": 0.022,
    "plastic bottle cap": 0.03, "metal bottle cap": 0.027, "bottle cap": 0.03, "cap": 0.03,
    "clear plastic bottle": 0.22, "other plastic bottle": 0.22, "glass bottle": 0.24, "bottle": 0.22,
    "glass jar": 0.1, "jar": 0.1, "glass cup": 0.1, "broken glass": 0.05,
    "other plastic wrapper": 0.15, "wrapper": 0.15, "plastic film": 0.25, "crisp packet": 0.2,
    "single-use carrier bag": 0.4, "polypropylene bag": 0.4, "garbage bag": 0.6, "paper bag": 0.3, "bag": 0.35,
    "six pack rings": 0.2, "other carton": 0.15, "corrugated carton": 0.4, "meal carton": 0.15, "egg carton": 0.3,
    "drink carton": 0.15, "pizza box": 0.33, "toilet tube": 0.1, "carton": 0.15,
    "normal paper": 0.2, "magazine paper": 0.25, "wrapping paper": 0.2, "tissues": 0.12, "paper": 0.2,
    "paper straw": 0.2, "plastic straw": 0.2, "straw": 0.2,
    "paper cup": 0.1, "disposable plastic cup": 0.1, "foam cup": 0.1, "other plastic cup": 0.1, "cup": 0.1,
    "plastic lid": 0.09, "metal lid": 0.07, "lid": 0.08,
    "disposable food container": 0.18, "foam food container": 0.2, "other plastic container": 0.15,
    "container": 0.15, "spread tub": 0.12, "tupperware": 0.15, "plastic utensils": 0.16,
    "styrofoam piece": 0.1, "aluminium foil": 0.1, "foil": 0.1, "aluminium blister pack": 0.1,
    "squeezable tube": 0.15, "battery": 0.05, "shoe": 0.28, "rope & strings": 0.3,
    "plastic glooves": 0.22, "plastic gloves": 0.22, "scrap metal": 0.15, "food waste": 0.1,
    "other plastic": 0.1, "plastic": 0.1, "unlabeled litter": 0.1, "litter": 0.1, "garbage": 0.1, "trash": 0.1,
    "tyre": 0.65, "tire": 0.65,
}
DEFAULT_LENGTH_M = 0.1
MAX_LENGTH_FACTOR = 1.8  # largest plausible length / typical length, any class


class SizePriorsFile(GarbModel):
    """`WORKSPACE/size_priors.json`: label -> visible height in metres, plus the fallback."""

    default: float = Field(default=DEFAULT_PRIOR_M, gt=0, le=10)
    priors: dict[str, float] = Field(default_factory=dict)
    default_length: float = Field(default=DEFAULT_LENGTH_M, gt=0, le=10)
    lengths: dict[str, float] = Field(default_factory=dict)


class _Table:
    """label -> metres: exact name, then the longest known keyword inside the label, then the default."""

    def __init__(self, builtin: dict[str, float], extra: dict[str, float] | None, default: float) -> None:
        table = dict(builtin)
        for name, value in (extra or {}).items():
            table[_norm(name)] = float(value)
        self.table = table
        self.default = float(default)
        # Longest keywords first so "plastic bottle cap" beats "bottle" and "cap".
        self._keywords = sorted(table, key=len, reverse=True)

    def lookup(self, label: str) -> tuple[float, str]:
        key = _norm(label)
        if key in self.table:
            return self.table[key], key
        padded = f" {key} "
        for kw in self._keywords:
            if f" {kw} " in padded:
                return self.table[kw], kw
        return self.default, "default"


class SizePriors:
    """A label's visible height lying on the ground (road photos) and its longest side (front photos)."""

    def __init__(self, priors: dict[str, float] | None = None, default: float = DEFAULT_PRIOR_M,
                 lengths: dict[str, float] | None = None, default_length: float = DEFAULT_LENGTH_M) -> None:
        self._heights = _Table(BUILTIN_PRIORS, priors, default)
        self._lengths = _Table(BUILTIN_LENGTHS, lengths, default_length)
        self.table = self._heights.table
        self.default = self._heights.default

    def lookup(self, label: str) -> tuple[float, str]:
        """(visible height in metres, the key that matched or 'default')."""
        return self._heights.lookup(label)

    def height_m(self, label: str) -> float:
        return self.lookup(label)[0]

    def length(self, label: str) -> tuple[float, str]:
        """(typical longest side in metres as it lies, the key that matched or 'default')."""
        return self._lengths.lookup(label)


def _norm(label: str) -> str:
    return re.sub(r"[\s_\-]+", " ", label.strip().lower())


def load_size_priors(workspace_root: Path | None) -> SizePriors:
    """The built-in priors, overridden by `size_priors.json` in the workspace when there is one."""
    if workspace_root is not None:
        path = Path(workspace_root) / SIZE_PRIORS_FILE
        if path.is_file():
            data = SizePriorsFile.load(path)
            for kind, table in (("prior", data.priors), ("length", data.lengths)):
                for name, value in table.items():
                    if not (0 < value <= 10):
                        from garbtui.core.errors import WorkspaceError

                        raise WorkspaceError(f"{kind} for {name!r} must be in (0, 10] metres, got {value}",
                                             where=str(path))
            return SizePriors(data.priors, data.default, data.lengths, data.default_length)
    return SizePriors()
