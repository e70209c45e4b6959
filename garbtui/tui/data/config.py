"""The user's TUI settings (theme, image protocol) in a small JSON file in the user config folder."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from garbtui.core.workspace.atomic import atomic_write_text

ENV_CONFIG_DIR = "GARBTUI_CONFIG_DIR"
DEFAULT_THEME = "garb-dark"


def config_dir() -> Path:
    """$GARBTUI_CONFIG_DIR, else the platform's user config folder for garbtui."""
    override = os.environ.get(ENV_CONFIG_DIR)
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("garbtui", appauthor=False))


def config_path() -> Path:
    return config_dir() / "tui.json"


@dataclass
class TuiConfig:
    """Settings remembered between runs."""

    theme: str = DEFAULT_THEME
    image_protocol: str = "auto"

    @classmethod
    def load(cls) -> TuiConfig:
        """Read the config; a missing or damaged file gives the defaults (settings are not worth a crash)."""
        try:
            data = json.loads(config_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        known = {k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__ and isinstance(v, str)}
        return cls(**known)

    def save(self) -> bool:
        """Write the config atomically; returns False when the folder is not writable."""
        try:
            atomic_write_text(config_path(), json.dumps(asdict(self), indent=2) + "\n")
        except OSError:
            return False
        return True
