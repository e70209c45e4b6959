"""Image protocol detection: bounded time on a silent terminal, no probe when forced or without a TTY."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = (
    "import time; from garbtui.tui import terminal;"
    "t = time.perf_counter(); info = terminal.detect(); seconds = time.perf_counter() - t;"
    "import textual_image.widget;"  # must not probe again (2 s timeout per read in textual-image)
    "print('RESULT', info.protocol, info.probed, round(seconds, 2), flush=True)"
)


def _run_on_pty(code: str, env: dict[str, str], answer: bytes | None = None) -> tuple[str, float]:
    """Run python code with a pseudo-terminal as stdin/stdout; optionally answer its first query."""
    leader, follower = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=follower, stdout=follower, stderr=follower, cwd=REPO, env=env,
        close_fds=True,
    )
    os.close(follower)
    out = b""
    answered = False
    try:
        while proc.poll() is None or select.select([leader], [], [], 0)[0]:
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:
                    break
                out += chunk
                if answer is not None and not answered and b"\x1b[c" in out:
                    os.write(leader, answer)
                    answered = True
            if time.perf_counter() - start > 30:
                proc.kill()
                break
    finally:
        os.close(leader)
        proc.wait()
    return out.decode("utf-8", "replace"), time.perf_counter() - start


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GARBTUI_IMAGE_PROTOCOL", "TMUX")}
    env.update(TERM="xterm-256color", **extra)
    return env


def _result(out: str) -> list[str]:
    line = out[out.index("RESULT"):].splitlines()[0]
    return line.split()


def test_silent_terminal_does_not_stall_start_up() -> None:
    out, _ = _run_on_pty(PROBE, _env())
    _, protocol, probed, seconds = _result(out)
    assert protocol == "halfcell" and probed == "False"
    assert float(seconds) < 1.5  # our probe gives up after 0.35 s (slack for a loaded CI box); textual-image alone waits 2 s
    assert out.count("\x1b[c") == 1  # importing textual-image afterwards did not query again


def test_sixel_terminal_is_detected() -> None:
    out, _ = _run_on_pty(PROBE, _env(), answer=b"\x1b[?62;4;22c")
    _, protocol, probed, seconds = _result(out)
    assert protocol == "sixel" and probed == "True" and float(seconds) < 1.5


def test_forced_protocol_never_queries_the_terminal() -> None:
    out, _ = _run_on_pty(PROBE, _env(GARBTUI_IMAGE_PROTOCOL="unicode"))
    assert "\x1b[c" not in out and "\x1b_G" not in out
    assert _result(out)[1] == "unicode"


def test_no_tty_means_halfcell_without_probe() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, env=_env(),
                          stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _result(proc.stdout)[1:3] == ["halfcell", "False"]
    assert "\x1b" not in proc.stdout


def test_doctor_prints_what_it_found() -> None:
    import contextlib
    import io

    from garbtui.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["doctor", "--image-protocol", "halfcell"]) == 0
    text = buf.getvalue()
    for word in ("image protocol  halfcell", "cell size", "TERM", "tmux"):
        assert word in text
