"""Long ids made to fit a column: cut in the middle, so the start (the photo) and the end (the hash) stay."""

from __future__ import annotations

from collections.abc import Sequence

ELLIPSIS = "…"
TAIL = 9  # `-58f84ec0`: the hash that ends every crop id, the part that tells two crops of a photo apart


def middle_ellipsis(text: str, width: int, tail: int = TAIL) -> str:
    """`text` in at most `width` cells: `taco_b1_000…-58f84ec0` (the end kept first, then the start)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    room = width - 1
    end = min(tail, room - min(room // 3, 8)) if room > tail else room // 2
    end = max(end, 0)
    start = room - end
    return text[:start] + ELLIPSIS + (text[len(text) - end:] if end else "")


def unique_middle_ellipsis(ids: Sequence[str], width: int) -> dict[str, str]:
    """Each id shortened to `width` (middle ellipsis), keeping as much of the end as needed for the
    shortened ids to stay unique; wider than `width` only when nothing narrower tells them apart."""
    distinct = list(dict.fromkeys(ids))
    for w in range(max(width, 1), max((len(i) for i in distinct), default=0) + 1):
        for tail in range(min(TAIL, w - 1), w):
            short = {i: middle_ellipsis(i, w, tail) for i in distinct}
            if len(set(short.values())) == len(distinct):
                return short
    return {i: i for i in distinct}
