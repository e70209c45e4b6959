"""Pixel work for previews: fit to the cell grid, shrink, checkerboard behind cutouts, overlays. numpy/cv2 only."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Colour = tuple[int, int, int]
MIN_NUMBERED = 36  # pictures smaller than this (pixels, either side) get no cluster numbers written on
CHECKER_DARK: tuple[Colour, Colour] = ((58, 58, 62), (92, 92, 98))
CHECKER_LIGHT: tuple[Colour, Colour] = ((196, 196, 200), (230, 230, 234))

# Distinct, colour-blind-friendly-ish colours for labels and boxes (Okabe-Ito plus a few).
PALETTE: tuple[Colour, ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
    (213, 94, 0), (204, 121, 167), (255, 255, 255), (160, 220, 90), (255, 120, 120),
)


def fit_cells(width: int, height: int, cols: int, rows: int, cell: tuple[int, int]) -> tuple[int, int]:
    """The largest (cols, rows) box, within the given one, that shows a width x height image undistorted."""
    if width <= 0 or height <= 0 or cols <= 0 or rows <= 0:
        return 0, 0
    cw, ch = cell
    scale = min(cols * cw / width, rows * ch / height)
    return max(1, min(cols, round(width * scale / cw))), max(1, min(rows, round(height * scale / ch)))


def shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize to exactly width x height; area averaging when shrinking (alpha premultiplied so edges stay clean)."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    interp = cv2.INTER_AREA if width < w or height < h else cv2.INTER_NEAREST
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        premult = np.concatenate([image[:, :, :3].astype(np.float32) * alpha, alpha * 255.0], axis=2)
        small = cv2.resize(premult, (width, height), interpolation=interp)
        a = small[:, :, 3:4] / 255.0
        rgb = np.where(a > 1e-3, small[:, :, :3] / np.maximum(a, 1e-3), 0.0)
        out = np.concatenate([rgb, small[:, :, 3:4]], axis=2)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(image, (width, height), interpolation=interp)


def shrink_over_checker(
    rgba: np.ndarray, width: int, height: int, square: tuple[int, int], colours: tuple[Colour, Colour]
) -> np.ndarray:
    """Shrink an RGBA cutout and lay it over a checkerboard, in one pass of uint8 work.

    Premultiplied colour is what compositing needs anyway, so it is resized as such and never divided
    back; a fully opaque picture takes the plain RGB path.
    """
    alpha = rgba[:, :, 3]
    if int(alpha.min()) == 255:
        return shrink(np.ascontiguousarray(rgba[:, :, :3]), width, height)
    h, w = rgba.shape[:2]
    interp = cv2.INTER_AREA if width < w or height < h else cv2.INTER_NEAREST
    a3 = cv2.merge([alpha, alpha, alpha])
    premult = cv2.multiply(np.ascontiguousarray(rgba[:, :, :3]), a3, scale=1.0 / 255.0)
    small = cv2.resize(premult, (width, height), interpolation=interp).astype(np.float32)
    a_small = cv2.resize(alpha, (width, height), interpolation=interp).astype(np.float32)[:, :, None] / 255.0
    board = checkerboard(width, height, square, colours).astype(np.float32)
    out: np.ndarray = np.clip(small + board * (1.0 - a_small) + 0.5, 0, 255).astype(np.uint8)
    return out


def checkerboard(width: int, height: int, square: tuple[int, int], colours: tuple[Colour, Colour]) -> np.ndarray:
    """An RGB checkerboard with squares of square=(w, h) pixels."""
    ys = (np.arange(height) // max(1, square[1]))[:, None]
    xs = (np.arange(width) // max(1, square[0]))[None, :]
    mask = ((ys + xs) % 2).astype(bool)
    out = np.empty((height, width, 3), np.uint8)
    out[~mask] = colours[0]
    out[mask] = colours[1]
    return out


def over_checker(rgba: np.ndarray, square: tuple[int, int], colours: tuple[Colour, Colour] = CHECKER_DARK) -> np.ndarray:
    """Composite an RGBA image over a checkerboard, so transparency is visible."""
    h, w = rgba.shape[:2]
    board = checkerboard(w, h, square, colours).astype(np.float32)
    a = rgba[:, :, 3:4].astype(np.float32) / 255.0
    return (rgba[:, :, :3].astype(np.float32) * a + board * (1.0 - a) + 0.5).astype(np.uint8)


def to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return image[:, :, :3]
    return image


def draw_polygons(
    rgb: np.ndarray, polys: Sequence[tuple[Sequence[tuple[float, float]], Colour]], scale: tuple[float, float]
) -> np.ndarray:
    """Draw closed outlines (given in source pixels) on a copy of an already shrunk image."""
    out = np.ascontiguousarray(rgb.copy())
    sx, sy = scale
    for points, colour in polys:
        if len(points) < 2:
            continue
        pts = np.array([[round(x * sx), round(y * sy)] for x, y in points], np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], True, colour, 1, lineType=cv2.LINE_8)
    return out


def draw_horizon(rgb: np.ndarray, row: float, scale_y: float, colour: Colour = (255, 64, 64)) -> np.ndarray:
    """A full-width line at source row `row` (dashed so the picture under it stays readable)."""
    out = rgb.copy()
    y = int(round(row * scale_y))
    if 0 <= y < out.shape[0]:
        xs = np.arange(out.shape[1])
        dash = (xs // 3) % 3 != 2
        out[y, xs[dash]] = colour
    return out


def number_positions(labels_small: np.ndarray, k: int) -> list[tuple[int, int, int]]:
    """(cluster, x, y): a point well inside each cluster's largest patch, where its number is written."""
    h, w = labels_small.shape
    out: list[tuple[int, int, int]] = []
    if h < 8 or w < 8:
        return out
    for idx in range(k):
        mask = (labels_small == idx).astype(np.uint8)
        if mask.sum() < 4:
            continue
        dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        out.append((idx, int(x), int(y)))
    return out


def draw_numbers_at(rgb: np.ndarray, positions: list[tuple[int, int, int]]) -> np.ndarray:
    """Write cluster numbers (1-based), white on a black outline, at the given points."""
    out = np.ascontiguousarray(rgb.copy())
    h, w = out.shape[:2]
    if min(h, w) < MIN_NUMBERED:
        return out  # too small to write on legibly: the legend under the panels still has the numbers
    # Hershey digits are about 22 px tall at scale 1: aim for a twelfth of the picture, readable but small.
    scale = max(0.3, min(1.0, min(h, w) / 12 / 22))
    thick = 1
    taken: list[tuple[int, int, int, int]] = []
    for idx, x, y in positions:
        text = str(idx + 1)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        org = (int(np.clip(x - tw // 2, 0, max(0, w - tw))), int(np.clip(y + th // 2, th, h - 1)))
        box = (org[0] - 1, org[1] - th - 1, org[0] + tw + 1, org[1] + 2)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):
            continue  # would cover another number: this cluster is read from the legend instead
        taken.append(box)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 1, cv2.LINE_8)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_8)
    return out


def draw_numbers(rgb: np.ndarray, labels_small: np.ndarray, k: int) -> np.ndarray:
    """Write each cluster's number (1-based) at a point well inside its largest patch."""
    return draw_numbers_at(rgb, number_positions(labels_small, k))


# -- terminal colour depth -------------------------------------------------------------------------
# A 256- or 16-colour terminal shows each colour as a palette entry. Rich maps a 24-bit colour to one
# (the interface, the legend's swatches); pictures are mapped here the same way, vectorised, so a flat
# colour in a picture and the same colour in a legend land on the same entry. Photos are dithered
# (ordered 4x4) first, so gradients do not posterise into bands.
_BAYER4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16.0 - 0.5
DITHER_STEP = {"256": 40.0, "16": 85.0}  # spacing of the palette's levels, about


def _standard_palette() -> np.ndarray:
    from rich._palettes import STANDARD_PALETTE

    return np.array([STANDARD_PALETTE[i] for i in range(16)], np.int64)


def _eight_bit_palette() -> np.ndarray:
    from rich._palettes import EIGHT_BIT_PALETTE

    return np.array([EIGHT_BIT_PALETTE[i] for i in range(256)], np.uint8)


def palette_indices(rgb: np.ndarray, depth: str, dither: bool = False) -> np.ndarray:
    """Palette entry (0-255 or 0-15) per pixel for a `depth` ("256" | "16") terminal, as Rich picks them."""
    img = rgb[:, :, :3]
    if dither:
        h, w = img.shape[:2]
        tile = np.tile(_BAYER4, (-(-h // 4), -(-w // 4)))[:h, :w, None]
        img = np.clip(img.astype(np.float32) + tile * DITHER_STEP.get(depth, 40.0), 0, 255).round().astype(np.int64)
    else:
        img = img.astype(np.int64)
    r, g, b = img[:, :, 0], img[:, :, 1], img[:, :, 2]
    if depth == "16":
        pal = _standard_palette()
        best = np.zeros(r.shape, np.int64)
        best_d = np.full(r.shape, np.iinfo(np.int64).max)
        for i, (r2, g2, b2) in enumerate(pal.tolist()):
            red_mean = (r + r2) // 2
            dr, dg, db = r - r2, g - g2, b - b2
            d = (((512 + red_mean) * dr * dr) >> 8) + 4 * dg * dg + (((767 - red_mean) * db * db) >> 8)
            better = d < best_d
            best[better] = i
            best_d[better] = d[better]
        return best
    # 256: Rich's rule (rich.color.Color.downgrade): greys by HLS saturation, else the 6x6x6 cube.
    mx = np.maximum(np.maximum(r, g), b) / 255.0
    mn = np.minimum(np.minimum(r, g), b) / 255.0
    light = (mx + mn) / 2.0
    span = mx - mn
    with np.errstate(divide="ignore", invalid="ignore"):
        sat = np.where(span == 0, 0.0, np.where(light <= 0.5, span / (mx + mn), span / (2.0 - mx - mn)))
    gray = np.round(light * 25.0).astype(np.int64)
    grey_index = np.where(gray == 0, 16, np.where(gray == 25, 231, 231 + gray))

    def six(v: np.ndarray) -> np.ndarray:
        return np.round(np.where(v < 95, v / 95.0, 1 + (v - 95) / 40.0)).astype(np.int64)

    cube = 16 + 36 * six(r) + 6 * six(g) + six(b)
    return np.where(sat < 0.15, grey_index, cube)


def palette_rgb(depth: str) -> np.ndarray:
    """The RGB of each palette entry Rich assumes (for previews of what a terminal shows)."""
    return _standard_palette().astype(np.uint8) if depth == "16" else _eight_bit_palette()
