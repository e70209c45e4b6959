"""TACO's class taxonomy: supercategory of each of its 60 classes, and the nearest available class to a label."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from garbtui.core.scene.size_priors import SizePriors

# TACO (Proença & Simões 2020) classes and their supercategories, as in TACO's annotations.json.
_TACO: dict[str, tuple[str, ...]] = {
    "Aluminium foil": ("Aluminium foil",),
    "Battery": ("Battery",),
    "Blister pack": ("Aluminium blister pack", "Carded blister pack"),
    "Bottle": ("Other plastic bottle", "Clear plastic bottle", "Glass bottle"),
    "Bottle cap": ("Plastic bottle cap", "Metal bottle cap"),
    "Broken glass": ("Broken glass",),
    "Can": ("Food Can", "Aerosol", "Drink can"),
    "Carton": ("Toilet tube", "Other carton", "Egg carton", "Drink carton", "Corrugated carton", "Meal carton",
               "Pizza box"),
    "Cup": ("Paper cup", "Disposable plastic cup", "Foam cup", "Glass cup", "Other plastic cup"),
    "Food waste": ("Food waste",),
    "Glass jar": ("Glass jar",),
    "Lid": ("Plastic lid", "Metal lid"),
    "Other plastic": ("Other plastic",),
    "Paper": ("Magazine paper", "Tissues", "Wrapping paper", "Normal paper"),
    "Paper bag": ("Paper bag", "Plastified paper bag"),
    "Plastic bag & wrapper": ("Plastic film", "Six pack rings", "Garbage bag", "Other plastic wrapper",
                              "Single-use carrier bag", "Polypropylene bag", "Crisp packet"),
    "Plastic container": ("Spread tub", "Tupperware", "Disposable food container", "Foam food container",
                          "Other plastic container"),
    "Plastic glooves": ("Plastic glooves",),
    "Plastic utensils": ("Plastic utensils",),
    "Pop tab": ("Pop tab",),
    "Rope & strings": ("Rope & strings",),
    "Scrap metal": ("Scrap metal",),
    "Shoe": ("Shoe",),
    "Squeezable tube": ("Squeezable tube",),
    "Straw": ("Plastic straw", "Paper straw"),
    "Styrofoam piece": ("Styrofoam piece",),
    "Unlabeled litter": ("Unlabeled litter",),
    "Cigarette": ("Cigarette",),
}


def _norm(label: str) -> str:
    return re.sub(r"[\s_\-]+", " ", label.strip().lower())


SUPERCATEGORY: dict[str, str] = {_norm(name): sup for sup, names in _TACO.items() for name in names}


def supercategory(label: str) -> str:
    """TACO supercategory of a label (case-insensitive); the label itself when TACO does not know it."""
    return SUPERCATEGORY.get(_norm(label), label)


def same_label(a: str, b: str) -> bool:
    return _norm(a) == _norm(b)


@dataclass(frozen=True)
class Substitute:
    """The class chosen for a missing label, and why (one line for the user)."""

    label: str
    reason: str


def nearest_label(label: str, available: Iterable[str], priors: SizePriors) -> Substitute | None:
    """The available class closest to `label`: the same TACO supercategory first, then the closest size prior.

    Size priors (typical visible height lying on the ground) compare on a log scale, so a 1 cm pop tab
    is nearer a 2 cm bottle cap than an 8 cm bottle. Ties go to the alphabetically first name.
    """
    names = sorted(set(available))
    if not names:
        return None
    sup = supercategory(label)
    want = priors.height_m(label)

    def key(name: str) -> tuple[int, float, str]:
        other_sup = 0 if supercategory(name) == sup else 1
        return other_sup, abs(math.log(priors.height_m(name) / want)), name

    best = min(names, key=key)
    got = priors.height_m(best)
    if supercategory(best) == sup:
        reason = f"same TACO supercategory '{sup}'"
    else:
        reason = f"closest size prior ({got:g} m for {want:g} m)"
    return Substitute(best, reason)
