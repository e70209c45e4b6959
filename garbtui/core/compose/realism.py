"""The realistic paste's settings: one frozen dataclass, its defaults the values measured on the realism bench.

Every default was chosen on the bench's TUNE photos (bench/realism.py) and checked on photos the tuning
never saw; README "Compositing" gives the figure each step moved. A caller (the bench, a test) passes a
modified copy to switch a step off; scenes and generated datasets always use REALISTIC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Realism:
    """How a fragment is made to look like part of the photo it is pasted on."""

    # Edges: feather sigma = feather_k * sqrt(object area in px), at most feather_max px; alpha only ever lowered.
    feather_k: float = 0.012
    feather_max: float = 4.0
    # Edge decontamination of a cutout (once per fragment): the old background's colour taken out of a band
    # max(band_min, band_k * sqrt(area)) px wide inside the outline, where object and ground differ by
    # at least min_contrast (RGB distance); elsewhere edge colours are pulled towards the interior's.
    decontaminate: bool = True
    band_k: float = 0.02
    band_min: float = 1.5
    min_contrast: float = 18.0
    # Light: white balance follows the new photo's illuminant this far (von Kries, 0..1; each channel's gain within
    # white_balance_max of 1), exposure follows the local brightness ratio (new surroundings / old) to this power,
    # clipped to exposure_min..exposure_max; the object's mean chroma never falls under chroma_keep x its own
    # unless it is made darker.
    white_balance: float = 0.5
    white_balance_max: float = 0.15
    exposure: float = 0.4  # the ratio mixes light with the grounds' own brightness (asphalt vs concrete)
    exposure_min: float = 0.6
    exposure_max: float = 1.6
    chroma_keep: float = 0.85
    # Focus: blur the fragment to the ground's focus at that spot; when the ground is sharper, unsharp-mask a
    # fragment that was not enlarged (sharpening an enlarged one brings out its old JPEG blocks).
    focus: bool = True
    sharpen: float = 3.0
    sharpen_max: float = 1.5
    blur_max: float = 4.0
    # Sensor noise: add luminance noise up to noise x the ground's estimated level (the estimate includes some
    # texture, hence under 1), plus chroma_noise x that per channel.
    noise: float = 0.5
    chroma_noise: float = 0.3
    # Contact shadow (in linear light): darkening at the outline (ambient occlusion, blur ao_k * size) and a
    # short cast shadow (the silhouette moved cast_k * size away from the light, attached to the footprint,
    # blurred softness * size, of strength cast unless the background says otherwise).
    ao: float = 0.15
    ao_k: float = 0.04
    cast: float = 0.35
    cast_k: float = 0.08
    softness: float = 0.12
    # JPEG: recompress the pasted pixels on the photo's own 8x8 grid at its quality (native-resolution photos).
    jpeg: bool = True
    # Honest labels: objects whose visible pixels score under this against a ring around them are dropped.
    visibility: float = 0.30

    def updated(self, **changes: float) -> Realism:
        """A copy with some settings changed (booleans from 0/1 numbers); unknown names raise KeyError."""
        kinds = {f.name: f.type for f in fields(self)}
        out: dict[str, object] = {}
        for key, value in changes.items():
            if key not in kinds:
                raise KeyError(f"unknown realism setting {key!r}")
            out[key] = bool(value) if kinds[key] in ("bool", bool) else float(value)
        return replace(self, **out)  # type: ignore[arg-type]  # checked names and kinds above


REALISTIC = Realism()
