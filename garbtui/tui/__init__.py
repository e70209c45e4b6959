"""The Textual app: `from garbtui.tui import GarbApp`; `GarbApp(workspace_path).run()`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from garbtui.tui.app import GarbApp

__all__ = ["GarbApp"]


def __getattr__(name: str) -> Any:
    # Imported on first use so `garbtui doctor` and the CLI can detect the terminal before textual-image loads.
    if name == "GarbApp":
        from garbtui.tui.app import GarbApp

        return GarbApp
    raise AttributeError(name)
