"""OpenCV results typed by what they hold: its stubs call every returned array MatLike, of any dtype."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from cv2.typing import MatLike


def as_u8(image: MatLike) -> NDArray[np.uint8]:
    """An OpenCV result known to be uint8 (it was made from uint8 pixels), typed so. No copy, no check."""
    return cast("NDArray[np.uint8]", image)


def as_f32(image: MatLike) -> NDArray[np.float32]:
    """An OpenCV result known to be float32 (it was made from float32 values), typed so. No copy, no check."""
    return cast("NDArray[np.float32]", image)
