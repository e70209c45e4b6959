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


class SizePriorsFile(GarbModel):
    """`WORKSPACE/size_priors.json`: label -> visible height in metres, plus the fallback."""

    default: float = Field(default=DEFAULT_PRIOR_M, gt=0, le=10)
    priors: dict[str, float] = Field(default_factory=dict)


class SizePriors:
    """Looks up a label's prior: exact name, then the longest known keyword inside the label, then default."""

    def __init__(self, priors: dict[str, float] | None = None, default: float = DEFAULT_PRIOR_M) -> None:
        table = dict(BUILTIN_PRIORS)
        for name, value in (priors or {}).items():
            table[_norm(name)] = float(value)
        self.table = table
        self.default = float(default)
        # Longest keywords first so "plastic bottle cap" beats "bottle" and "cap".
        self._keywords = sorted(table, key=len, reverse=True)

    def lookup(self, label: str) -> tuple[float, str]:
        """(metres, the key that matched or 'default')."""
        key = _norm(label)
        if key in self.table:
            return self.table[key], key
        padded = f" {key} "
        for kw in self._keywords:
            if f" {kw} " in padded:
                return self.table[kw], kw
        return self.default, "default"

    def height_m(self, label: str) -> float:
        return self.lookup(label)[0]


def _norm(label: str) -> str:
    return re.sub(r"[\s_\-]+", " ", label.strip().lower())


def load_size_priors(workspace_root: Path | None) -> SizePriors:
    """The built-in priors, overridden by `size_priors.json` in the workspace when there is one."""
    if workspace_root is not None:
        path = Path(workspace_root) / SIZE_PRIORS_FILE
        if path.is_file():
            data = SizePriorsFile.load(path)
            for name, value in data.priors.items():
                if not (0 < value <= 10):
                    from garbtui.core.errors import WorkspaceError

                    raise WorkspaceError(f"prior for {name!r} must be in (0, 10] metres, got {value}", where=str(path))
            return SizePriors(data.priors, data.default)
    return SizePriors()
