"""Each terminal row of issue 16 on a pseudo-terminal (CI, no display): what is chosen, what is written.

Kitty without placeholders, Kitty with them, Sixel within the terminal's size limit and drawn once per
change, a 16-colour terminal, tmux passthrough, `garbtui doctor` with stdout redirected and nothing left
at the shell prompt, and a forced protocol that the terminal did not offer.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

from tests.tui.test_terminal_pty import (
    KITTY_NEW,
    KITTY_OLD,
    XTERM_16,
    XTERM_SIXEL,
    FakeTerminal,
    app_env,
    snapshot,
    workspace_copy,
)

SIXEL_RE = re.compile(rb'\x1bP0;1;0q"1;1;(\d+);(\d+)')
PLACEHOLDER = "\U0010eeee".encode()


def doctor(tmp_path: Path, profile, *args: str, **kwargs) -> tuple[dict, FakeTerminal]:  # noqa: ANN001, ANN003
    """`garbtui doctor --json` with stdout a pipe (like `| jq`), the terminal on /dev/tty."""
    term = FakeTerminal(["doctor", "--json", *args], profile, pipe_stdout=True, env=app_env(tmp_path), **kwargs)
    out, _ = term.proc.communicate(timeout=60)
    return json.loads(out), term


def run_app(tmp_path: Path, profile, moves: int = 3, **env: str):  # noqa: ANN001, ANN201
    """Open a workspace copy, move down `moves` times; return (terminal, output per move, disk before)."""
    ws = workspace_copy(tmp_path)
    before = snapshot(ws)
    term = FakeTerminal(["open", str(ws)], profile, env=app_env(tmp_path, **env))
    term.wait_text("crops", timeout=60)
    # Quiet periods long enough for a loaded CI machine: a move's picture must not spill into the next capture.
    term.settle(2.0, timeout=30)
    per_move = []
    for _ in range(moves):
        n = len(term.output())
        term.write(b"j")
        term.settle(1.5, timeout=30)
        per_move.append(term.output()[n:])
    return term, per_move, (ws, before)


def quit_app(term: FakeTerminal) -> None:
    term.write(b"q")
    term.proc.wait(timeout=20)
    assert term.proc.returncode == 0
    term.close()


def test_doctor_probes_dev_tty_with_stdout_redirected(tmp_path: Path) -> None:
    info, term = doctor(tmp_path, XTERM_SIXEL)
    try:
        assert info["tty"] and info["answered"]
        assert info["protocol"] == "sixel" and info["terminal"] == "XTerm(379)"
        assert info["sixel_max"] == [1000, 1000] and info["sixel_colours"] == 1024
        assert info["colours"] == "truecolor"  # xterm keeps a 24-bit colour (DECRQSS), TERM=xterm or not
        assert term.left_for_the_shell() == b""
    finally:
        term.close()


def test_doctor_leaves_nothing_at_the_prompt_when_answers_are_slow(tmp_path: Path) -> None:
    # Every answer 0.6 s late (a slow ssh link; the app itself would give up after 0.35 s locally):
    # doctor waits for them all and drains the terminal, so nothing is typed at the prompt.
    info, term = doctor(tmp_path, KITTY_NEW, delay=0.6)
    try:
        assert info["answered"] and info["kitty"] is True and info["protocol"] == "kitty"
        assert term.left_for_the_shell() == b""
    finally:
        term.close()


def test_kitty_without_placeholders_is_not_used(tmp_path: Path) -> None:
    info, term = doctor(tmp_path, KITTY_OLD)
    term.close()
    assert info["kitty"] is True and info["kitty_placeholders"] is False
    assert info["protocol"] == "halfcell"
    assert any("0.28" in r for r in info["reasons"]) and any("0.28" in a for a in info["advice"])
    app, moves, _ = run_app(tmp_path, KITTY_OLD)
    try:
        out = app.output()
        assert b"a=t," not in out and PLACEHOLDER not in out and b"\x1bP0;1;0q" not in out
        assert all("▀".encode() in m for m in moves)  # the pictures are half-cells
    finally:
        quit_app(app)


def test_kitty_with_placeholders_sends_each_picture_once(tmp_path: Path) -> None:
    info, term = doctor(tmp_path, KITTY_NEW)
    term.close()
    assert info["protocol"] == "kitty" and info["kitty_placeholders"] is True
    app, moves, (ws, before) = run_app(tmp_path, KITTY_NEW)
    try:
        for out in moves:
            assert out.count(b"\x1b_Ga=t,") == 1  # one new picture per key
            assert out.count(b"\x1b_Ga=p,U=1,") == 1  # a virtual placement for the placeholders
            assert out.count(b"a=d,d=I") == 1  # the previous picture freed, after the new one
            assert out.index(b"\x1b_Ga=t,") < out.index(PLACEHOLDER) < out.index(b"a=d,d=I")
        assert snapshot(ws) == before
    finally:
        quit_app(app)


def test_sixel_stays_within_the_terminal_limit_and_is_drawn_once(tmp_path: Path) -> None:
    small = replace(XTERM_SIXEL, sixel_now=b"\x1b[?2;0;400;300S", sixel_max=b"\x1b[?2;0;400;300S",
                    registers=b"\x1b[?1;0;256S")
    info, term = doctor(tmp_path, small)
    term.close()
    assert info["protocol"] == "sixel" and info["sixel_max"] == [400, 300]
    app, moves, _ = run_app(tmp_path, small)
    try:
        sizes = [tuple(map(int, m.groups())) for m in SIXEL_RE.finditer(app.output())]
        assert sizes and all(w <= 400 and h <= 300 for w, h in sizes)
        for out in moves:
            assert len(SIXEL_RE.findall(out)) == 1  # one picture per change: no second, blank or half frame
    finally:
        quit_app(app)


def test_sixel_default_limit_is_xterms(tmp_path: Path) -> None:
    app, moves, _ = run_app(tmp_path, XTERM_SIXEL, moves=2)
    try:
        sizes = [tuple(map(int, m.groups())) for m in SIXEL_RE.finditer(app.output())]
        assert sizes and all(w <= 1000 and h <= 1000 for w, h in sizes)
        assert all(len(SIXEL_RE.findall(out)) == 1 for out in moves)
    finally:
        quit_app(app)


def _sgr_colours(out: bytes) -> set[str]:
    codes: set[str] = set()
    for m in re.finditer(rb"\x1b\[([0-9;:]*)m", out):
        parts = m.group(1).decode().split(";")
        i = 0
        while i < len(parts):
            p = parts[i]
            if p in ("38", "48") and i + 1 < len(parts):
                codes.add(f"{p};{parts[i + 1]}")
                i += 5 if parts[i + 1] == "2" else 3
                continue
            codes.add(p)
            i += 1
    return codes


def test_sixteen_colour_terminal_gets_sixteen_colours(tmp_path: Path) -> None:
    info, term = doctor(tmp_path, XTERM_16)
    term.close()
    assert info["colours"] == "16"
    assert any("COLORTERM=truecolor" in a for a in info["advice"])
    app, moves, _ = run_app(tmp_path, XTERM_16, moves=2)
    try:
        screen_bytes = app.output().split(b"\x1b[?1049h", 1)[1]  # after the probe (its 24-bit test colour)
        codes = _sgr_colours(screen_bytes)
        assert not any(c.startswith(("38;", "48;")) for c in codes), sorted(codes)[:20]  # no 256 / 24-bit
        assert any(c in codes for c in ("31", "32", "33", "34", "91", "92", "93", "94"))
        # The selected row is drawn in reverse or with two different colours, never red on red.
        assert not re.search(rb"\x1b\[(?:[0-9;]*;)?31;41m", screen_bytes)
        assert all("▀".encode() in m for m in moves)
    finally:
        quit_app(app)


def _fake_tmux(tmp_path: Path, passthrough: str, client_type: str, features: str) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    script = folder / "tmux"
    script.write_text(f"#!/bin/sh\nprintf '3.3a\\t{passthrough}\\txterm-kitty\\t{client_type}\\t{features}\\n'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def test_tmux_passthrough_kitty_answer_after_tmux_da(tmp_path: Path) -> None:
    bin_dir = _fake_tmux(tmp_path, "1", "kitty(0.41.1)", "256,RGB,bpaste")
    env = {"TMUX": "/tmp/tmux-0/default,1,0", "PATH": f"{bin_dir}:{os.environ['PATH']}", "TERM": "tmux-256color"}
    profile = replace(KITTY_NEW, env=env, xtversion=b"\x1bP>|tmux 3.3a\x1b\\", da1=b"\x1b[?1;2c")
    info, term = doctor(tmp_path, profile, delays={"kitty": 0.3})  # tmux's own DA comes first
    try:
        assert info["tmux"] and info["tmux_passthrough"] is True
        assert info["kitty"] is True and info["protocol"] == "kitty" and info["terminal"] == "kitty(0.41.1)"
        assert info["colours"] == "truecolor"  # tmux's RGB feature, though COLORTERM is unset in tmux
        assert term.left_for_the_shell() == b""
    finally:
        term.close()


def test_tmux_without_passthrough_says_how(tmp_path: Path) -> None:
    bin_dir = _fake_tmux(tmp_path, "0", "kitty(0.41.1)", "256")
    env = {"TMUX": "/tmp/tmux-0/default,1,0", "PATH": f"{bin_dir}:{os.environ['PATH']}", "TERM": "tmux-256color"}
    profile = replace(KITTY_NEW, env=env, xtversion=b"\x1bP>|tmux 3.3a\x1b\\", da1=b"\x1b[?1;2c")
    info, term = doctor(tmp_path, profile)
    term.close()
    assert info["protocol"] == "halfcell" and info["colours"] == "256"
    advice = " ".join(info["advice"])
    assert "allow-passthrough on" in advice and "terminal-features ',*:RGB'" in advice


def test_forced_protocol_the_terminal_lacks_warns_once(tmp_path: Path) -> None:
    info, term = doctor(tmp_path, XTERM_SIXEL, "--image-protocol", "kitty")
    term.close()
    assert info["protocol"] == "kitty" and len(info["warnings"]) == 1 and "did not answer" in info["warnings"][0]
    ws = workspace_copy(tmp_path)
    app = FakeTerminal(["open", str(ws), "--image-protocol", "kitty"], XTERM_SIXEL, env=app_env(tmp_path))
    try:
        app.wait_text("Kitty graphics forced", timeout=60)
        app.settle(0.5)
        assert app.text().count("Kitty graphics forced") == 1
    finally:
        quit_app(app)
