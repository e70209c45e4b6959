"""Unit tests of the terminal pieces: the answer filter, the protocol policy, the Sixel encoder, colours."""

from __future__ import annotations

import numpy as np
import pytest

from garbtui.tui.term import caps
from garbtui.tui.term.probe import Answers, TmuxInfo, parse
from garbtui.tui.term.replies import ReplyFilter

ANSWERS = [
    "\x1b[?63;1;2;4;6;9;15;16;22;28c",  # DA1
    "\x1b[>41;379;0c",  # DA2
    "\x1bP>|XTerm(379)\x1b\\",  # XTVERSION
    "\x1b[?2;0;1000;1000S",  # XTSMGRAPHICS
    "\x1b_Gi=31;OK\x1b\\",  # Kitty graphics
    "\x1b[6;20;10t",  # cell size
    "\x1b[4;1200;2000t",  # text area in pixels
    "\x1bP1$r0;38:2::1:2:3m\x1b\\",  # DECRQSS
    "\x1b]11;rgb:0000/0000/0000\x1b\\",  # OSC colour answer
    "\x1b]11;rgb:0000/0000/0000\x07",
    "\x1b[?1u",  # kitty keyboard flags
]
KEEP = [  # input Textual must still see
    "q", "?", "\x1b[A", "\x1b[1;5C", "\x1bOP", "\x1b[200~pasted \x1b[?62c text\x1b[201~", "\x1b[<0;10;5M",
    "\x1b[?2026;2$y", "\x1b[48;60;200;1200;2000t", "\x1b[12;40R", "\x1ba", "\x1b[13;2u",
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_filter_drops_every_answer_whole_or_cut_anywhere(answer: str) -> None:
    for cut in range(len(answer) + 1):
        dropped = []
        f = ReplyFilter(dropped.append)
        passed = f.feed("a" + answer[:cut], 0.0) + f.feed(answer[cut:] + "b", 0.01)
        assert passed == "ab", (cut, passed)
        assert len(dropped) == 1 and dropped[0].text == answer


@pytest.mark.parametrize("text", KEEP)
def test_filter_passes_keys_mouse_paste_and_textuals_own_answers(text: str) -> None:
    f = ReplyFilter()
    assert f.feed(text, 0.0) == text
    assert f.pending == ""


def test_lone_escape_is_the_escape_key_after_the_delay() -> None:
    f = ReplyFilter(escape_delay=0.1)
    assert f.feed("\x1b", 0.0) == "" and f.deadline() == pytest.approx(0.1)
    assert f.expire(0.05) == ("", False)
    assert f.expire(0.11) == ("", True)


def test_held_answer_prefix_is_dropped_not_typed() -> None:
    dropped = []
    f = ReplyFilter(dropped.append, reply_hold=1.0)
    assert f.feed("\x1b[?62;4", 0.0) == ""
    assert f.expire(0.5) == ("", False) and f.pending
    assert f.expire(1.1) == ("", False) and not f.pending
    assert dropped[-1].kind == "partial"


def test_held_key_prefix_is_passed_on() -> None:
    f = ReplyFilter(escape_delay=0.1)
    assert f.feed("\x1b[1;5", 0.0) == ""
    assert f.feed("C", 0.02) == "\x1b[1;5C"
    assert f.feed("\x1b[", 1.0) == ""
    assert f.expire(1.2) == ("\x1b[", False)  # alt+[ : the parser decides


def test_probe_parse_reads_real_answers() -> None:
    from garbtui.tui.term.replies import Reply

    f_replies: list[Reply] = []
    f = ReplyFilter(f_replies.append)
    f.feed("\x1bP>|XTerm(379)\x1b\\\x1bP1$r0;38:2::1:2:3m\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c"
           "\x1b[?2;0;480;312S\x1b[?2;0;1000;1000S\x1b[?1;0;1024S\x1b[?63;1;2;4c", 0.0)
    a = parse(f_replies)
    assert a.sixel and a.version == "XTerm(379)" and a.sgr_rgb is True
    assert a.sixel_geometry == (1000, 1000) and a.colour_registers == 1024
    f_replies.clear()
    f.feed("\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.26.5)\x1b\\\x1b[6;20;9t\x1bP1$r38:2:1:2:3m\x1b\\\x1b[?62;c", 0.0)
    a = parse(f_replies)
    assert a.kitty and not a.sixel and a.cell == (9, 20) and a.version == "kitty(0.26.5)"


@pytest.mark.parametrize(
    ("version", "kitty", "da1", "expected"),
    [
        ("kitty(0.41.1)", True, ("62",), "kitty"),
        ("kitty(0.28.0)", True, ("62",), "kitty"),
        ("kitty(0.26.5)", True, ("62",), "halfcell"),
        ("WezTerm 20240203-110809-5046fc22", True, ("65", "4", "6"), "sixel"),
        ("ghostty 1.1.3", True, ("62", "22"), "kitty"),
        ("XTerm(379)", None, ("63", "4"), "sixel"),
        ("", True, ("62",), "halfcell"),  # unnamed terminal answering Kitty: placeholders unknown
        ("", None, None, "halfcell"),  # silent
    ],
)
def test_protocol_policy(version: str, kitty: bool | None, da1: tuple[str, ...] | None, expected: str) -> None:
    a = Answers(da1=da1, kitty=kitty, version=version)
    choice = caps.choose("auto", a, {"TERM": "xterm-256color"}, None, probed=da1 is not None)
    assert choice.protocol == expected, choice.reasons
    assert not choice.warnings


def test_forced_protocol_warns_when_not_offered() -> None:
    a = Answers(da1=("62",), kitty=None, version="XTerm(379)")
    assert caps.choose("sixel", a, {}, None, probed=True).warnings
    assert caps.choose("kitty", a, {}, None, probed=True).warnings
    assert not caps.choose("halfcell", a, {}, None, probed=True).warnings
    ok = Answers(da1=("63", "4"), version="XTerm(379)")
    assert not caps.choose("sixel", ok, {}, None, probed=True).warnings


def test_colour_depth_sources() -> None:
    none = Answers(da1=("62",))
    assert caps.colour_depth(none, {"COLORTERM": "truecolor", "TERM": "xterm"}, None)[0] == "truecolor"
    assert caps.colour_depth(none, {"TERM": "xterm"}, None)[0] == "16"
    assert caps.colour_depth(none, {"TERM": "xterm-256color"}, None)[0] == "256"
    assert caps.colour_depth(Answers(da1=("62",), sgr_rgb=True), {"TERM": "xterm"}, None)[0] == "truecolor"
    tmux_rgb = TmuxInfo("3.3a", True, "xterm-kitty", "kitty(0.41.1)", ("256", "RGB"))
    assert caps.colour_depth(none, {"TERM": "tmux-256color"}, tmux_rgb)[0] == "truecolor"
    tmux_256 = TmuxInfo("3.3a", True, "xterm", "", ("256",))
    depth, source = caps.colour_depth(none, {"TERM": "tmux-256color"}, tmux_256)
    assert depth == "256"
    assert any("terminal-features ',*:RGB'" in a and "Tc" in a for a in caps.colour_advice(depth, source, {}, tmux_256))


def test_sixel_encoder_round_trip() -> None:
    from garbtui.tui.term import sixel

    rng = np.random.default_rng(5)
    for h, w in ((1, 1), (7, 13), (37, 64), (60, 101)):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        rgb[: h // 2] = (10, 200, 30)  # a flat area: long runs
        data = sixel.encode(rgb, 64)
        assert data.startswith('\x1bP0;1;0q"1;1;') and data.endswith("\x1b\\")
        decoded = sixel.decode(data)
        idx, pal = sixel.quantise(rgb, 64)
        expected = np.round(((pal.astype(int) * 100 + 127) // 255) * 255 / 100).astype(np.uint8)[idx]
        assert (decoded[:, :, 3] == 255).all()
        assert np.array_equal(decoded[:, :, :3], expected)


def test_sixel_encoder_is_faster_than_textual_images() -> None:
    import time

    from PIL import Image
    from textual_image._sixel import image_to_sixels

    from garbtui.tui.term import sixel

    y, x = np.mgrid[0:300, 0:400]
    rgb = np.dstack([(x * 255 // 400), (y * 255 // 300), ((x + y) % 256)]).astype(np.uint8)
    ours = min(_time(lambda: sixel.encode(rgb)) for _ in range(3))
    theirs = min(_time(lambda: image_to_sixels(Image.fromarray(rgb))) for _ in range(3))
    assert ours < theirs, (ours, theirs)
    del time


def _time(fn) -> float:  # noqa: ANN001
    import time

    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_palette_indices_match_rich() -> None:
    from rich.color import Color, ColorSystem

    from garbtui.tui.data import pixels

    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (20, 30, 3)).astype(np.uint8)
    for depth, system in (("256", ColorSystem.EIGHT_BIT), ("16", ColorSystem.STANDARD)):
        idx = pixels.palette_indices(img, depth)
        for (r, g, b), n in zip(img.reshape(-1, 3).tolist(), idx.ravel().tolist(), strict=True):
            assert Color.from_rgb(r, g, b).downgrade(system).number == n


def test_halfcells_use_palette_colours_on_sixteen_colour_terminals() -> None:
    from rich.color import ColorType

    from garbtui.tui.widgets.image_view import halfcell_strips

    y, x = np.mgrid[0:20, 0:30]
    rgb = np.dstack([x * 8, y * 12, np.full_like(x, 90)]).astype(np.uint8)
    for depth, kind, limit in (("16", ColorType.STANDARD, 16), ("256", ColorType.EIGHT_BIT, 256)):
        strips = halfcell_strips(rgb, depth)
        colours = {c for s in strips for seg in s for c in (seg.style.color, seg.style.bgcolor)}
        assert all(c.type == kind and c.number < limit and c.triplet is not None for c in colours)
        assert len(colours) > 2  # dithered: more than a flat posterised band


def test_kitty_placeholders_name_the_image() -> None:
    from garbtui.tui.term.graphics import ImageIds, kitty_delete, kitty_payload, kitty_transmit, placeholder_lines

    ids = ImageIds(high=7)
    image_id = ids.allocate()
    assert image_id == (7 << 24) | 1
    payload = kitty_payload(np.zeros((40, 30, 3), np.uint8))
    data = kitty_transmit(payload, image_id, 5, 3)
    assert data.startswith(f"\x1b_Ga=t,q=2,f=100,i={image_id},m=0;iVBOR")  # a PNG
    raw = kitty_transmit(kitty_payload(np.zeros((40, 30, 3), np.uint8), "rgb"), image_id, 5, 3)
    assert raw.startswith(f"\x1b_Ga=t,q=2,f=24,o=z,s=30,v=40,i={image_id},m=0;")
    assert data.endswith(f"\x1b_Ga=p,U=1,q=2,i={image_id},c=5,r=3\x1b\\")
    wrapped = kitty_transmit(payload, image_id, 5, 3, tmux=True)
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b_G") and "\x1b\x1b\\\x1b\\" in wrapped
    lines = placeholder_lines(image_id, 5, 3)
    assert len(lines) == 3 and all(s.cell_length == 5 for s in lines)
    seg = lines[1]._segments[0]
    assert seg.style.color.number == 1 and seg.text.count("\U0010eeee") == 5
    assert kitty_delete(image_id) == f"\x1b_Ga=d,d=I,q=2,i={image_id}\x1b\\"
    ids.release(image_id)
    assert ids.allocate() & 0xFF == 2


def test_tmux_kitty_query_only_where_an_answer_can_come() -> None:
    from garbtui.tui.term.probe import kitty_worth_asking

    assert kitty_worth_asking(TmuxInfo("3.3a", True, "xterm-kitty", "kitty(0.41.1)", ()))
    assert kitty_worth_asking(TmuxInfo("3.3a", True, "xterm-256color", "", ()))  # unknown: ask
    assert not kitty_worth_asking(TmuxInfo("3.3a", True, "xterm", "XTerm(379)", ()))  # would wait in vain
    assert not kitty_worth_asking(TmuxInfo("3.3a", False, "xterm-kitty", "kitty(0.41.1)", ()))  # no passthrough


def test_frames_that_write_over_a_sixel_picture_are_recognised() -> None:
    from textual.geometry import Region

    from garbtui.tui.term.graphics import touched

    pic = Region(100, 5, 50, 20)  # columns 100-149, rows 5-24 (0-based)
    assert touched("\x1b[6;101H\x1b[38;2;1;2;3m   ", pic)  # a chop starting in the picture
    assert touched("\x1b[10;1H" + " " * 200, pic)  # a full line across it
    assert not touched("\x1b[10;1H" + " " * 80 + "\x1b[10;160Hx", pic)  # the list beside it, and past it
    assert not touched("\x1b[3;101H" + "x" * 40, pic)  # the title row above
    assert not touched("\x1b[6;1H\x1b[38;2;1;2;3m" + "y" * 99, pic)  # ends just before column 100
