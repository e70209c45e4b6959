"""An image preview that is shrunk to its cell box in a thread worker, cached, and drawn once per change.

Text protocols (half-cell, unicode) are rendered to Strips inside the worker, so the UI thread only
copies lines; on a 256- or 16-colour terminal half-cells are mapped (dithered for photos) to the
palette there too. Graphics protocols are encoded in the worker as well: the Sixel string (sized within
the terminal's Sixel limit) or the Kitty graphics payload (never enlarged: the terminal scales it to the
cells), and drawn by garbtui.tui.term.graphics without blank frames.

Over 400 lines on purpose: one widget across four protocols, whose caching and redraw rules must be read together.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import groupby

import cv2
import numpy as np
from PIL import Image as PILImage
from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center
from textual.events import Resize
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from garbtui.tui.data import pixels
from garbtui.tui.term.graphics import KittyCanvas, KittyPayload, SixelCanvas, SixelPayload, kitty_payload, sixel_payload

Overlay = Callable[[np.ndarray, tuple[float, float]], np.ndarray]
_POOL: ThreadPoolExecutor | None = None


_PREFETCH: ThreadPoolExecutor | None = None


def _prefetch_pool() -> ThreadPoolExecutor:
    """One thread for guessing the next pictures, so it never delays the picture asked for now."""
    global _PREFETCH
    if _PREFETCH is None:
        _PREFETCH = ThreadPoolExecutor(max_workers=1, thread_name_prefix="garbtui-prefetch")
    return _PREFETCH


def _pool() -> ThreadPoolExecutor:
    """Threads that decode and shrink pictures (two: numpy and cv2 release the GIL for the heavy parts)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="garbtui-image")
    return _POOL


@dataclass(frozen=True)
class RenderSpec:
    """Everything a frame depends on besides the picture: the box, the protocol, the cell size, the checker,
    the terminal's colour depth and Sixel limits, and whether the view is zoomed in."""

    cols: int
    rows: int
    protocol: str
    cell: tuple[int, int]
    dark: bool = True
    colours: str = "truecolor"  # truecolor | 256 | 16 (half-cells and unicode only)
    sixel_max: tuple[int, int] | None = None  # largest Sixel picture in pixels (XTSMGRAPHICS)
    sixel_colours: int = 256
    zoom: bool = False  # a view zoomed in to 1:1 (see widgets/placement_preview.py)


@dataclass(frozen=True)
class Frame:
    """A picture ready to draw: strips for text protocols, a PIL image for graphics ones.

    A half-cell frame also keeps its shrunk pixels: caches hold only those (compact()), because
    thousands of cached Segment and Style objects would make Python's full garbage collections take
    100 ms and more; strips are rebuilt from the pixels (a few ms) when a cached frame is shown.
    """

    key: Hashable
    cols: int
    rows: int
    strips: tuple[Strip, ...] | None = None
    pixels: np.ndarray | None = None  # half-cell: the (2 * rows) x cols RGB picture; kitty: the picture sent
    graphics: KittyPayload | SixelPayload | None = None
    box_pixels: tuple[int, int] = (0, 0)  # graphics: the pixels the cells cover
    colours: str = "truecolor"
    dither: bool = True

    @property
    def pil(self) -> PILImage.Image | None:
        """The picture as shown, at the cells' pixel size (Kitty frames; for tests and tools)."""
        if self.graphics is None or self.pixels is None:
            return None
        pil = PILImage.fromarray(np.ascontiguousarray(self.pixels[:, :, :3]), "RGB")
        return pil if pil.size == self.box_pixels else pil.resize(self.box_pixels, PILImage.Resampling.NEAREST)

    def compact(self) -> Frame:
        """This frame without its strips when they can be rebuilt from pixels (for caches)."""
        return replace(self, strips=None) if self.pixels is not None and self.strips is not None else self

    def text_strips(self) -> tuple[Strip, ...]:
        if self.strips is not None:
            return self.strips
        if self.pixels is None or self.graphics is not None:
            return ()
        return halfcell_strips(self.pixels, self.colours, self.dither)


def frame_pixels(spec: RenderSpec, width: int, height: int) -> tuple[int, int, int, int]:
    """Cells (cols, rows) the picture will take, and the pixel size to shrink it to.

    Sixel pictures are drawn pixel for pixel, so they stay within the terminal's Sixel limit (xterm
    drops larger ones: 1000x1000 by default); Kitty pictures are never enlarged (the terminal scales
    them to the cells, so a 512 px crop in a 1000 px box sends 512 px).
    """
    box_cols, box_rows = spec.cols, spec.rows
    cw, ch = spec.cell
    if spec.protocol == "sixel" and spec.sixel_max is not None:
        box_cols = max(1, min(box_cols, spec.sixel_max[0] // max(1, cw)))
        box_rows = max(1, min(box_rows, spec.sixel_max[1] // max(1, ch)))
    cols, rows = pixels.fit_cells(width, height, box_cols, box_rows, spec.cell)
    if spec.protocol == "halfcell":
        return cols, rows, cols, rows * 2
    if spec.protocol == "unicode":
        return cols, rows, cols, rows
    pw, ph = cols * cw, rows * ch
    if spec.protocol == "kitty" and (width < pw or height < ph):
        f = min(width / pw, height / ph)
        pw, ph = max(1, round(pw * f)), max(1, round(ph * f))
    return cols, rows, pw, ph


def make_frame(
    image: np.ndarray,
    spec: RenderSpec,
    key: Hashable = None,
    *,
    checker: bool = True,
    overlay: Overlay | None = None,
    nearest: bool = False,
) -> Frame:
    """Shrink `image` (RGB or RGBA, any size) to the box and render it. Pure; safe in a thread worker.

    `nearest` keeps flat colours flat (a label map): no blended colours at region borders.
    A zoomed spec with an overlay that can zoom (placement preview) shows its zoom window instead,
    pixel for pixel, without overlays.
    """
    if spec.zoom and overlay is not None and hasattr(overlay, "zoom"):
        zoomed = overlay.zoom(image, spec)
        if zoomed is not None:
            image, overlay, nearest = zoomed, None, True
    h, w = image.shape[:2]
    cols, rows, pw, ph = frame_pixels(spec, w, h)
    if cols == 0:
        return Frame(key, 0, 0, strips=())
    if image.ndim == 3 and image.shape[2] == 4 and checker:
        if spec.protocol in ("halfcell", "unicode"):
            square = (2, 2)
        else:  # a cell-wide square on screen, whatever the pixels sent
            side = max(2, round(spec.cell[0] * pw / max(1, cols * spec.cell[0])))
            square = (side, side)
        colours = pixels.CHECKER_DARK if spec.dark else pixels.CHECKER_LIGHT
        small = pixels.shrink_over_checker(image, pw, ph, square, colours)
    elif nearest:
        small = cv2.resize(np.ascontiguousarray(pixels.to_rgb(image)), (pw, ph), interpolation=cv2.INTER_NEAREST)
    else:
        small = pixels.shrink(np.ascontiguousarray(pixels.to_rgb(image)), pw, ph)
    small = np.ascontiguousarray(small)
    if overlay is not None:
        small = overlay(small, (pw / w, ph / h))
    box = (cols * spec.cell[0], rows * spec.cell[1])
    if spec.protocol == "kitty":
        return Frame(key, cols, rows, pixels=small, graphics=kitty_payload(small), box_pixels=box)
    if spec.protocol == "sixel":
        return Frame(key, cols, rows, graphics=sixel_payload(small, spec.sixel_colours), box_pixels=box)
    dither = not nearest
    if spec.protocol == "halfcell":
        return Frame(key, cols, rows, strips=halfcell_strips(small, spec.colours, dither), pixels=small,
                     colours=spec.colours, dither=dither)
    pil = PILImage.fromarray(small, "RGB")
    return Frame(key, cols, rows, strips=_text_strips(pil, cols, rows, spec.protocol))


def _text_strips(pil: PILImage.Image, cols: int, rows: int, protocol: str) -> tuple[Strip, ...]:
    if protocol == "halfcell":
        return halfcell_strips(np.asarray(pil))
    from textual_image.renderable.unicode import Image as Renderable

    console = Console(file=io.StringIO(), width=cols, height=rows, color_system="truecolor", legacy_windows=False)
    options = console.options.update(width=cols, height=rows)
    lines = console.render_lines(Renderable(pil, cols, rows), options, pad=True, new_lines=False)
    return tuple(Strip(line, cols) for line in lines[:rows])


def halfcell_strips(rgb: np.ndarray, depth: str = "truecolor", dither: bool = True) -> tuple[Strip, ...]:
    """Half-block cells ("▀", top pixel as foreground, bottom as background) from a (2*rows) x cols image.

    The same cells textual-image's half-cell renderable draws, built about 5x faster: colours are
    formatted with numpy and each Style is made with Style.from_color (no parsing). Picture must be
    pre-shrunk to exactly two pixel rows per cell row. On a 256- or 16-colour terminal (`depth`) each
    pixel is mapped to the palette here, as Rich would map it (dithered first when `dither`), and the
    colours carry their palette number: nothing is left to convert per cell at paint time.
    """
    h, w = rgb.shape[:2]
    if h % 2:
        rgb = np.concatenate([rgb, rgb[-1:]], axis=0)
        h += 1
    colours: dict[int, Color] = {}
    if depth in ("256", "16"):
        packed = pixels.palette_indices(rgb, depth, dither).astype(np.uint32)
        table = pixels.palette_rgb(depth)
        kind = ColorType.EIGHT_BIT if depth == "256" else ColorType.STANDARD

        def colour(value: int) -> Color:
            c = colours.get(value)
            if c is None:
                r, g, b = (int(v) for v in table[value])
                c = Color(f"color({value})", kind, number=value, triplet=ColorTriplet(r, g, b))
                colours[value] = c
            return c
    else:
        packed = (rgb[:, :, 0].astype(np.uint32) << 16) | (rgb[:, :, 1].astype(np.uint32) << 8) | rgb[:, :, 2]

        def colour(value: int) -> Color:
            c = colours.get(value)
            if c is None:
                c = Color(f"#{value:06x}", ColorType.TRUECOLOR,
                          triplet=ColorTriplet(value >> 16, (value >> 8) & 255, value & 255))
                colours[value] = c
            return c

    from_color = Style.from_color
    # Flat-coloured pictures (the clusters panel, checkerboards) repeat cell colour pairs: styles are
    # shared, and a run of equal cells becomes one segment (fewer segments to composite and send).
    styles: dict[int, Style] = {}

    def style(pair: int) -> Style:
        found = styles.get(pair)
        if found is None:
            found = from_color(colour(pair >> 24), colour(pair & 0xFFFFFF))
            styles[pair] = found
        return found

    keys = (packed[0::2].astype(np.uint64) << np.uint64(24)) | packed[1::2].astype(np.uint64)
    strips = []
    for row in keys.tolist():
        segments = [Segment("▀" * len(list(run)), style(pair)) for pair, run in groupby(row)]
        strips.append(Strip(segments, w))
    return tuple(strips)


def graphics_widget_class(protocol: str) -> type[Widget]:
    """The widget that draws a graphics protocol's frames."""
    return KittyCanvas if protocol == "kitty" else SixelCanvas


class _TextFrame(Widget):
    """Draws a text-protocol frame centred in its box; padded lines are made once per frame and size."""

    DEFAULT_CSS = "_TextFrame { width: 1fr; height: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self.frame: Frame | None = None
        self._lines: list[Strip] = []
        self._lines_for: tuple[int, int, int] = (0, 0, 0)

    def set_frame(self, frame: Frame) -> None:
        self.frame = frame
        self._lines_for = (0, 0, 0)
        self.refresh()

    def _layout(self) -> list[Strip]:
        width, height = self.size
        frame = self.frame
        key = (id(frame), width, height)
        if key == self._lines_for:
            return self._lines
        blank = Strip.blank(width, self.rich_style)
        lines = [blank] * height
        strips = frame.text_strips() if frame is not None else ()
        if frame is not None and strips:
            top = max(0, (height - frame.rows) // 2)
            left = max(0, (width - frame.cols) // 2)
            pad = Segment(" " * left, self.rich_style) if left else None
            for row, strip in enumerate(strips[: max(0, height - top)]):
                if pad is not None:
                    strip = Strip([pad, *strip], left + frame.cols)
                lines[top + row] = strip.extend_cell_length(width, self.rich_style).crop(0, width)
        self._lines, self._lines_for = lines, key
        return lines

    def render_line(self, y: int) -> Strip:
        lines = self._layout()
        return lines[y] if 0 <= y < len(lines) else Strip.blank(self.size.width, self.rich_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines_for = (0, 0, 0)


class ImageView(Widget):
    """A picture box. Call `show(key, make)`; `make(spec)` runs in a thread and returns a Frame."""

    DEFAULT_CSS = """
    ImageView { height: 1fr; width: 1fr; }
    ImageView > .placeholder { width: 1fr; height: 1fr; content-align: center middle; color: $text-muted; }
    ImageView > Center { height: 1fr; align: center middle; }
    """

    class FrameReady(Message):
        """A worker finished a frame (`generation` tells whether it is still wanted)."""

        def __init__(self, view: ImageView, generation: int, frame: Frame | None, error: str = "") -> None:
            super().__init__()
            self.view = view
            self.generation = generation
            self.frame = frame
            self.error = error

    class Shown(Message):
        """The view now shows `key` (bubbles, so screens and benchmarks can tell when a preview changed)."""

        def __init__(self, view: ImageView, key: Hashable) -> None:
            super().__init__()
            self.view = view
            self.key = key

        @property
        def control(self) -> ImageView:
            return self.view

    def __init__(self, placeholder: str = "", *, id: str | None = None,  # noqa: A002 - Textual's own keyword
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._placeholder = placeholder
        self._message = placeholder
        self._generation = 0
        self._request: tuple[Hashable, Callable[[RenderSpec], Frame]] | None = None
        self._resize_timer: Timer | None = None
        self.shown_key: Hashable = None
        self.shown_at: float = 0.0
        self.zoom = False  # zoomed in to 1:1 (frames are made for it by the screen: see placement_preview)

    def compose(self) -> ComposeResult:
        yield Static(self._placeholder, classes="placeholder")
        text_frame = _TextFrame()
        text_frame.display = False  # hidden from the start (a query in on_mount could run before it mounts)
        yield text_frame

    # -- public -----------------------------------------------------------------------------
    @property
    def spec(self) -> RenderSpec:
        info = getattr(self.app, "terminal_info", None)
        protocol = info.protocol if info else "halfcell"
        cell = (info.cell_width, info.cell_height) if info else (10, 20)
        theme = self.app.current_theme
        size = self.content_region.size
        colours = getattr(info, "colours", "truecolor") if info else "truecolor"
        return RenderSpec(
            max(1, size.width), max(1, size.height), protocol, cell, bool(theme.dark),
            colours=colours if getattr(self.app, "adapt_colours", False) else "truecolor",
            sixel_max=getattr(info, "sixel_max", None), sixel_colours=getattr(info, "sixel_colours", 256),
            zoom=self.zoom,
        )

    def clear(self, message: str = "") -> None:
        """Show a text message instead of a picture (and drop any frame still being made)."""
        self._generation += 1
        self._request = None
        self.shown_key = None
        placeholder = self.query_one(".placeholder", Static)
        text = message or self._placeholder
        if self._message != text:
            placeholder.update(Text(text))
            self._message = text
        if not placeholder.display:
            placeholder.display = True
        text_frame = self.query_one(_TextFrame)
        if text_frame.display:
            text_frame.display = False
        for child in self.query(".graphics-box"):
            if child.display:
                child.display = False

    def show(self, key: Hashable, make: Callable[[RenderSpec], Frame]) -> None:
        """Show the picture named `key`; a cached frame is shown at once, otherwise `make` runs in a thread."""
        self._generation += 1
        generation = self._generation
        self._request = (key, make)
        if not self.is_mounted or self.content_region.width <= 0:
            return  # shown on the first resize
        spec = self.spec
        cache = getattr(self.app, "image_cache", None)
        cache_key = (key, spec)
        if cache is not None and key is not None:
            frame = cache.frames.get(cache_key)
            if frame is not None:
                self._display(frame)
                return

        def work() -> None:
            if generation != self._generation:
                return  # superseded while queued (the user moved on): skip the work
            try:
                frame = replace(make(spec), key=key)
            except Exception as exc:  # a broken file must show as a message, never crash the app
                message = getattr(exc, "message", None) or f"{exc.__class__.__name__}: {exc}"
                self.post_message(self.FrameReady(self, generation, None, str(message)))
                return
            if cache is not None and key is not None:
                cache.frames.put(cache_key, frame)
            self.post_message(self.FrameReady(self, generation, frame))

        # A plain pool thread starts at once; a Textual worker would only start after this repaint.
        _pool().submit(work)

    def prefetch(self, key: Hashable, make: Callable[[RenderSpec], Frame], still_wanted: Callable[[], bool]) -> None:
        """Make and cache a frame the user will probably ask for next (idle time, one thread)."""
        cache = getattr(self.app, "image_cache", None)
        if cache is None or key is None or not self.is_mounted or self.content_region.width <= 0:
            return
        spec = self.spec
        cache_key = (key, spec)
        if cache.frames.get(cache_key) is not None:
            return

        def work() -> None:
            if not still_wanted() or cache.frames.get(cache_key) is not None:
                return
            with contextlib.suppress(Exception):  # a broken neighbour shows its error when it is actually visited
                cache.frames.put(cache_key, replace(make(spec), key=key))

        _prefetch_pool().submit(work)

    def show_frame(self, frame: Frame) -> None:
        """Show a frame made elsewhere (the cleanup worker renders its own); cancels pending requests."""
        self._generation += 1
        self._request = None
        self._display(frame)

    # -- internals --------------------------------------------------------------------------
    def on_image_view_frame_ready(self, message: ImageView.FrameReady) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # a newer picture was asked for meanwhile: a stale result never overwrites it
        if message.frame is None:
            self.clear(message.error)
            return
        self._display(message.frame)

    def _display(self, frame: Frame) -> None:
        placeholder = self.query_one(".placeholder", Static)
        text_frame = self.query_one(_TextFrame)
        if placeholder.display:
            placeholder.display = False
        if frame.graphics is not None:
            if text_frame.display:
                text_frame.display = False
            self._show_graphics(frame)
        else:
            text_frame.set_frame(frame)
            if not text_frame.display:
                text_frame.display = True
        self.shown_key = frame.key
        self.shown_at = time.perf_counter()
        self.post_message(self.Shown(self, frame.key))

    def _show_graphics(self, frame: Frame) -> None:
        existing = list(self.query(".graphics"))
        kind = KittyCanvas if isinstance(frame.graphics, KittyPayload) else SixelCanvas
        canvas = existing[0] if existing and isinstance(existing[0], kind) else None
        if canvas is None:
            for box in self.query(".graphics-box"):
                box.remove()
            info = getattr(self.app, "terminal_info", None)
            if kind is KittyCanvas:
                canvas = KittyCanvas(bool(info and info.tmux), classes="graphics")
                self.mount(Center(canvas, classes="graphics-box"))
            else:  # fills the view: a new picture size is never a layout change (no redraw, no flicker)
                canvas = SixelCanvas(classes="graphics graphics-box")
                self.mount(canvas)
        else:
            for box in self.query(".graphics-box"):
                if not box.display:
                    box.display = True
        canvas.set_picture(frame.graphics, frame.cols, frame.rows)  # type: ignore[arg-type]

    def on_resize(self, event: Resize) -> None:
        if self._request is None:
            return
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.08, self._redo)

    def _redo(self) -> None:
        if self._request is not None:
            key, make = self._request
            self.show(key, make)


def file_frame_maker(path, *, checker: bool = True, overlay: Overlay | None = None, cache=None):  # noqa: ANN001,ANN201
    """A `make` for ImageView.show that decodes a file (through the decoded-image cache) and renders it."""
    from pathlib import Path

    def make(spec: RenderSpec) -> Frame:
        if cache is not None:
            key, image = cache.load(Path(path))
        else:
            from garbtui.core.workspace.imageio import read_rgba

            image, key = read_rgba(Path(path)), None
        return make_frame(image, spec, key, checker=checker, overlay=overlay)

    return make
