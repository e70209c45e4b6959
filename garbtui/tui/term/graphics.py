"""Kitty graphics (Unicode placeholders) and Sixel: the bytes, made in thread workers, and two widgets.

Both widgets draw a picture that was encoded off the UI thread (the frame caches the encoding, so a
revisited picture costs nothing) and draw each change once:

- `KittyCanvas` sends the picture under a new image id (`a=t`, zlib RGB, chunked) with a virtual
  placement (`U=1`), then shows Unicode placeholder cells whose foreground (256-colour index = low byte)
  and third diacritic (high byte) name that id; the previous id is deleted after the screen shows the
  new one, so there is never an empty frame. Placeholders are plain text, so tmux (passthrough on)
  and Textual's redraws keep them; the APC strings are wrapped for tmux passthrough when inside tmux.
- `SixelCanvas` writes the Sixel string over the previous picture at the same place without erasing
  it first (text written over Sixel pixels erases them: that erase-then-draw was the flicker). When
  the box moves or changes size, it is repainted through Textual's lines like textual-image does.

Over 400 lines on purpose: the Kitty and Sixel writers share the canvas bookkeeping that keeps each picture drawn once.
"""

from __future__ import annotations

import base64
import random
import re
import threading
import weakref
import zlib
from dataclasses import dataclass

import numpy as np
from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from garbtui.tui.term import sixel as sixel_codec

KITTY_CHUNK = 4096
REPAINT_SETTLE = 0.03  # seconds without another frame over a Sixel picture before it is drawn again
PLACEHOLDER = "\U0010eeee"
# Row/column diacritics of the Kitty graphics protocol (rowcolumn-diacritics.txt), first 297 entries.
_DIACRITICS = [
    0x0305, 0x030D, 0x030E, 0x0310, 0x0312, 0x033D, 0x033E, 0x033F, 0x0346, 0x034A, 0x034B, 0x034C,
    0x0350, 0x0351, 0x0352, 0x0357, 0x035B, 0x0363, 0x0364, 0x0365, 0x0366, 0x0367, 0x0368, 0x0369,
    0x036A, 0x036B, 0x036C, 0x036D, 0x036E, 0x036F, 0x0483, 0x0484, 0x0485, 0x0486, 0x0487, 0x0592,
    0x0593, 0x0594, 0x0595, 0x0597, 0x0598, 0x0599, 0x059C, 0x059D, 0x059E, 0x059F, 0x05A0, 0x05A1,
    0x05A8, 0x05A9, 0x05AB, 0x05AC, 0x05AF, 0x05C4, 0x0610, 0x0611, 0x0612, 0x0613, 0x0614, 0x0615,
    0x0616, 0x0617, 0x0657, 0x0658, 0x0659, 0x065A, 0x065B, 0x065D, 0x065E, 0x06D6, 0x06D7, 0x06D8,
    0x06D9, 0x06DA, 0x06DB, 0x06DC, 0x06DF, 0x06E0, 0x06E1, 0x06E2, 0x06E4, 0x06E7, 0x06E8, 0x06EB,
    0x06EC, 0x0730, 0x0732, 0x0733, 0x0735, 0x0736, 0x073A, 0x073D, 0x073F, 0x0740, 0x0741, 0x0743,
    0x0745, 0x0747, 0x0749, 0x074A, 0x07EB, 0x07EC, 0x07ED, 0x07EE, 0x07EF, 0x07F0, 0x07F1, 0x07F3,
    0x0816, 0x0817, 0x0818, 0x0819, 0x081B, 0x081C, 0x081D, 0x081E, 0x081F, 0x0820, 0x0821, 0x0822,
    0x0823, 0x0825, 0x0826, 0x0827, 0x0829, 0x082A, 0x082B, 0x082C, 0x082D, 0x0951, 0x0953, 0x0954,
    0x0F82, 0x0F83, 0x0F86, 0x0F87, 0x135D, 0x135E, 0x135F, 0x17DD, 0x193A, 0x1A17, 0x1A75, 0x1A76,
    0x1A77, 0x1A78, 0x1A79, 0x1A7A, 0x1A7B, 0x1A7C, 0x1B6B, 0x1B6D, 0x1B6E, 0x1B6F, 0x1B70, 0x1B71,
    0x1B72, 0x1B73, 0x1CD0, 0x1CD1, 0x1CD2, 0x1CDA, 0x1CDB, 0x1CE0, 0x1DC0, 0x1DC1, 0x1DC3, 0x1DC4,
    0x1DC5, 0x1DC6, 0x1DC7, 0x1DC8, 0x1DC9, 0x1DCB, 0x1DCC, 0x1DD1, 0x1DD2, 0x1DD3, 0x1DD4, 0x1DD5,
    0x1DD6, 0x1DD7, 0x1DD8, 0x1DD9, 0x1DDA, 0x1DDB, 0x1DDC, 0x1DDD, 0x1DDE, 0x1DDF, 0x1DE0, 0x1DE1,
    0x1DE2, 0x1DE3, 0x1DE4, 0x1DE5, 0x1DE6, 0x1DFE, 0x20D0, 0x20D1, 0x20D4, 0x20D5, 0x20D6, 0x20D7,
    0x20DB, 0x20DC, 0x20E1, 0x20E7, 0x20E9, 0x20F0, 0x2CEF, 0x2CF0, 0x2CF1, 0x2DE0, 0x2DE1, 0x2DE2,
    0x2DE3, 0x2DE4, 0x2DE5, 0x2DE6, 0x2DE7, 0x2DE8, 0x2DE9, 0x2DEA, 0x2DEB, 0x2DEC, 0x2DED, 0x2DEE,
    0x2DEF, 0x2DF0, 0x2DF1, 0x2DF2, 0x2DF3, 0x2DF4, 0x2DF5, 0x2DF6, 0x2DF7, 0x2DF8, 0x2DF9, 0x2DFA,
    0x2DFB, 0x2DFC, 0x2DFD, 0x2DFE, 0x2DFF, 0xA66F, 0xA67C, 0xA67D, 0xA6F0, 0xA6F1, 0xA8E0, 0xA8E1,
    0xA8E2, 0xA8E3, 0xA8E4, 0xA8E5, 0xA8E6, 0xA8E7, 0xA8E8, 0xA8E9, 0xA8EA, 0xA8EB, 0xA8EC, 0xA8ED,
    0xA8EE, 0xA8EF, 0xA8F0, 0xA8F1, 0xAAB0, 0xAAB2, 0xAAB3, 0xAAB7, 0xAAB8, 0xAABE, 0xAABF, 0xAAC1,
    0xFE20, 0xFE21, 0xFE22, 0xFE23, 0xFE24, 0xFE25, 0xFE26, 0x10A0F, 0x10A38, 0x1D185, 0x1D186, 0x1D187,
    0x1D188, 0x1D189, 0x1D1AA, 0x1D1AB, 0x1D1AC, 0x1D1AD, 0x1D242, 0x1D243, 0x1D244,
]
MAX_PLACEHOLDER_CELLS = len(_DIACRITICS)
_NULL = [(ControlType.CURSOR_FORWARD, 0)]  # marks a segment as control: Rich leaves its text alone


@dataclass(frozen=True)
class KittyPayload:
    """A picture ready to send: base64 of a PNG (f=100) or of zlib-compressed RGB (f=24,o=z), in chunks."""

    width: int
    height: int
    chunks: tuple[str, ...]
    format: str = "png"

    @property
    def size(self) -> int:
        return sum(len(c) for c in self.chunks)


@dataclass(frozen=True)
class SixelPayload:
    width: int
    height: int
    data: str


def kitty_payload(rgb: np.ndarray, fmt: str = "png") -> KittyPayload:
    """Encode an RGB picture for the Kitty graphics protocol.

    PNG (level 1) by default: a third fewer bytes than zlib'd RGB for photos (560 kB against 810 kB for
    650x520; over ssh the link is the bottleneck) for ~30 ms more in the worker; "rgb" is zlib'd RGB.
    """
    h, w = rgb.shape[:2]
    pixels = np.ascontiguousarray(rgb[:, :, :3])
    if fmt == "png":
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buf, "PNG", compress_level=1)
        raw = buf.getvalue()
    else:
        raw = zlib.compress(pixels.tobytes(), 1)
    data = base64.standard_b64encode(raw).decode()
    chunks = tuple(data[i : i + KITTY_CHUNK] for i in range(0, len(data), KITTY_CHUNK)) or ("",)
    return KittyPayload(w, h, chunks, fmt)


def sixel_payload(rgb: np.ndarray, colours: int = 256) -> SixelPayload:
    h, w = rgb.shape[:2]
    return SixelPayload(w, h, sixel_codec.encode(rgb, colours))


def _apc(body: str, tmux: bool) -> str:
    seq = f"\x1b_G{body}\x1b\\"
    return "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\" if tmux else seq


def kitty_transmit(payload: KittyPayload, image_id: int, cols: int, rows: int, tmux: bool = False) -> str:
    """Transmit (quietly, q=2) and make a virtual placement of cols x rows cells for placeholders."""
    out = []
    last = len(payload.chunks) - 1
    for n, chunk in enumerate(payload.chunks):
        more = 0 if n == last else 1
        if n == 0:
            fmt = "f=100" if payload.format == "png" else f"f=24,o=z,s={payload.width},v={payload.height}"
            head = f"a=t,q=2,{fmt},i={image_id},m={more}"
        else:
            head = f"q=2,m={more}"
        out.append(_apc(f"{head};{chunk}", tmux))
    out.append(_apc(f"a=p,U=1,q=2,i={image_id},c={cols},r={rows}", tmux))
    return "".join(out)


def kitty_delete(image_id: int, tmux: bool = False) -> str:
    """Free the picture and its placements in the terminal."""
    return _apc(f"a=d,d=I,q=2,i={image_id}", tmux)


class ImageIds:
    """Kitty image ids: the low byte (1-255, the 256-colour foreground of the placeholders) is unique
    among the pictures on screen; the high byte is random per process, so two programs in one terminal
    (tmux panes) do not overwrite each other's pictures."""

    def __init__(self, high: int | None = None) -> None:
        self.high = high if high is not None else random.randint(1, 255)
        self._used: set[int] = set()
        self._next = 1
        self._lock = threading.Lock()

    def allocate(self) -> int:
        with self._lock:
            for _ in range(255):
                low = self._next
                self._next = self._next % 255 + 1
                if low not in self._used:
                    self._used.add(low)
                    return (self.high << 24) | low
            raise RuntimeError("more than 255 pictures on screen")

    def release(self, image_id: int) -> None:
        with self._lock:
            self._used.discard(image_id & 0xFF)


IMAGE_IDS = ImageIds()


def _eight_bit(number: int) -> Color:
    from rich._palettes import EIGHT_BIT_PALETTE

    r, g, b = EIGHT_BIT_PALETTE[number]
    return Color(f"color({number})", ColorType.EIGHT_BIT, number=number, triplet=ColorTriplet(r, g, b))


def placeholder_lines(image_id: int, cols: int, rows: int) -> list[Strip]:
    """The placeholder cells for a virtual placement: row and column diacritics, high byte third."""
    cols = min(cols, MAX_PLACEHOLDER_CELLS)
    rows = min(rows, MAX_PLACEHOLDER_CELLS)
    style = Style(color=_eight_bit(image_id & 0xFF))
    high = chr(_DIACRITICS[(image_id >> 24) & 0xFF])
    lines = []
    for r in range(rows):
        rc = chr(_DIACRITICS[r])
        text = "".join(f"{PLACEHOLDER}{rc}{chr(_DIACRITICS[c])}{high}" for c in range(cols))
        lines.append(Strip([Segment(text, style)], cols))
    return lines


_OWN = threading.local()  # set while a canvas writes: the driver's after-write hook skips our own bytes
_CANVASES: weakref.WeakSet[SixelCanvas]


def _driver_write(widget: Widget, data: str) -> bool:
    driver = getattr(widget.app, "_driver", None)
    if driver is None or getattr(widget.app, "is_headless", True):
        return False
    _OWN.active = True
    try:
        driver.write(data)
        driver.flush()
    except Exception:  # the app is shutting down
        return False
    finally:
        _OWN.active = False
    return True


_CUP_RE = re.compile(r"\x1b\[(\d+);(\d+)H")
_ESC_RE = re.compile(r"\x1b(?:\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|[PX^_\]][^\x1b]*\x1b\\|.)")


def after_frame(data: str) -> str:
    """Called by the driver after each frame Textual writes: each Sixel canvas whose picture that frame
    wrote over (a screen shown again, an overlay gone, a focus repaint) draws it again once such frames
    stop for REPAINT_SETTLE. Returns what to write at once (nothing, today)."""
    if getattr(_OWN, "active", False) or "\x1b[" not in data:
        return ""
    extra = []
    for canvas in list(_CANVASES):
        seq = canvas.repaint_if_touched(data)
        if seq:
            extra.append(seq)
    return "".join(extra)


def touched(data: str, region: Region) -> bool:
    """Whether a frame writes text into `region` (each chop starts with a cursor move)."""
    top, bottom, left, right = region.y + 1, region.bottom, region.x, region.right
    matches = list(_CUP_RE.finditer(data))
    for n, m in enumerate(matches):
        row = int(m.group(1))
        if not top <= row <= bottom:
            continue
        col = int(m.group(2)) - 1
        if col >= right:
            continue
        end = matches[n + 1].start() if n + 1 < len(matches) else len(data)
        text = _ESC_RE.sub("", data[m.end():end]).replace("\r", "").split("\n", 1)[0]
        if col + len(text) > left:
            return True
    return False


class KittyCanvas(Widget):
    """A picture drawn with Kitty Unicode placeholders (its size is the frame's cells)."""

    DEFAULT_CSS = "KittyCanvas { width: auto; height: auto; }"

    def __init__(self, tmux: bool = False, ids: ImageIds = IMAGE_IDS, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.tmux = tmux
        self.ids = ids
        self.image_id = 0
        self.cols = self.rows = 0
        self._lines: list[Strip] = []
        self.sent_bytes = 0
        self._doomed: list[int] = []

    def set_picture(self, payload: KittyPayload, cols: int, rows: int) -> None:
        old = self.image_id
        self.image_id = self.ids.allocate()
        data = kitty_transmit(payload, self.image_id, cols, rows, self.tmux)
        self.sent_bytes += len(data)
        _driver_write(self, data)
        self._lines = placeholder_lines(self.image_id, cols, rows)
        if (cols, rows) != (self.cols, self.rows):
            self.cols, self.rows = cols, rows
            self.styles.width = cols
            self.styles.height = rows
        self.refresh()
        if old:
            self._doomed.append(old)
            self.call_after_refresh(self._delete_doomed)

    def _delete_doomed(self) -> None:
        doomed, self._doomed = self._doomed, []
        for image_id in doomed:
            _driver_write(self, kitty_delete(image_id, self.tmux))
            self.ids.release(image_id)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width)

    def on_unmount(self) -> None:
        if self.image_id:
            self._doomed.append(self.image_id)
            self.image_id = 0
        self._delete_doomed()


class SixelCanvas(Widget):
    """Sixel pictures centred in a box that fills the view (its size never follows the picture's, so a
    new picture is never a layout change).

    A new picture of the same place is written straight over the old one, with only the cells it no
    longer covers cleared (no blank frame). Whenever one of Textual's frames writes into the picture's
    cells (a resize, its screen shown again, an overlay gone, a focus repaint), the driver hands the
    frame to `after_frame`, and the picture is written again right after that frame.
    """

    DEFAULT_CSS = "SixelCanvas { width: 1fr; height: 1fr; }"

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.payload: SixelPayload | None = None
        self.cols = self.rows = 0
        self._drawn_at: Region | None = None  # the canvas region where the picture was last written
        self._repaint_timer: Timer | None = None
        self.direct_draws = 0
        self.line_draws = 0  # pictures written again after a frame of Textual's

    def on_mount(self) -> None:
        _CANVASES.add(self)

    def on_unmount(self) -> None:
        _CANVASES.discard(self)

    def picture_region(self, canvas: Region) -> Region:
        """Where the picture goes inside the canvas (centred, like the text frames)."""
        left = max(0, (canvas.width - self.cols) // 2)
        top = max(0, (canvas.height - self.rows) // 2)
        return Region(canvas.x + left, canvas.y + top, min(self.cols, canvas.width), min(self.rows, canvas.height))

    def set_picture(self, payload: SixelPayload, cols: int, rows: int) -> None:
        self.payload = payload
        self.cols, self.rows = cols, rows
        canvas = self._unobstructed_region()
        if (canvas is not None and canvas == self._drawn_at and self._repaint_timer is None
                and _driver_write(self, self._direct(canvas, payload))):
            self.direct_draws += 1
            return
        self.refresh()  # the frame that blanks our cells brings the picture after it (after_frame)

    def _direct(self, canvas: Region, payload: SixelPayload) -> str:
        """Clear the canvas cells outside the new picture, then draw the picture; one synchronized write."""
        pic = self.picture_region(canvas)
        style = self.rich_style
        console = self.app.console
        parts = ["\x1b[?2026h\x1b7"]

        def blank(x: int, y: int, width: int) -> None:
            if width > 0:
                parts.append(Control.move_to(x, y).segment.text)
                parts.append(Strip([Segment(" " * width, style)], width).render(console))

        for y in range(canvas.y, canvas.bottom):
            if pic.y <= y < pic.bottom:
                blank(canvas.x, y, pic.x - canvas.x)
                blank(pic.right, y, canvas.right - pic.right)
            else:
                blank(canvas.x, y, canvas.width)
        parts.append(Control.move_to(pic.x, pic.y).segment.text)
        parts.append(payload.data)
        parts.append("\x1b8\x1b[?2026l")
        return "".join(parts)

    def repaint_if_touched(self, frame: str) -> str:
        """Note a frame that wrote into the picture's cells; the picture follows once the frames stop
        for REPAINT_SETTLE (a screen switch writes several in a row: one picture, not three)."""
        payload = self.payload
        if payload is None or not self.display:
            return ""
        canvas = self._unobstructed_region()
        if canvas is None:
            self._drawn_at = None
            return ""
        if not touched(frame, self.picture_region(canvas)):
            return ""
        if self._repaint_timer is not None:
            self._repaint_timer.stop()
        self._repaint_timer = self.set_timer(REPAINT_SETTLE, self._repaint)
        return ""

    def _repaint(self) -> None:
        self._repaint_timer = None
        payload = self.payload
        canvas = self._unobstructed_region()
        if payload is None or canvas is None:
            return
        pic = self.picture_region(canvas)
        seq = "\x1b[?2026h\x1b7" + Control.move_to(pic.x, pic.y).segment.text + payload.data + "\x1b8\x1b[?2026l"
        if _driver_write(self, seq):
            self._drawn_at = canvas
            self.line_draws += 1

    def _unobstructed_region(self) -> Region | None:
        """Our region on screen when all of it shows (active screen, no toast on it), else None."""
        try:
            if not self.is_mounted or not self.display or not self.screen.is_active:
                return None
            geometry = self.screen.find_widget(self)
        except Exception:
            return None
        region = geometry.region
        if geometry.visible_region != region or not region.area:
            return None
        for toast in self.screen.query("Toast"):
            if toast.region.overlaps(region):
                return None
        return region

    def render_lines(self, crop: Region) -> list[Strip]:
        blank = Strip([Segment(" " * crop.width, self.rich_style)], crop.width)
        return [blank] * crop.height


_CANVASES = weakref.WeakSet()
