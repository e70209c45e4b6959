"""GarbScreen: what every full screen of the app shares: a typed handle to the app, and unsaved work."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:  # app.py imports this module; the app is only needed for the annotation
    from garbtui.tui.app import GarbApp


class GarbScreen(Screen[None]):
    """A screen of GarbApp. `self.garb` is the app with its workspace (`ws`), crop queue and caches."""

    @property
    def garb(self) -> GarbApp:
        """The app, typed: `self.garb.ws`, `self.garb.queue`, `self.garb.image_cache`."""
        return cast("GarbApp", self.app)

    # -- unsaved work: asked before quitting (the app) and before leaving (each screen's own keys) --
    def has_unsaved_work(self) -> bool:
        """True when leaving now would lose something the user made here and has not saved."""
        return False

    def unsaved_work(self) -> str:
        """One sentence naming what is not saved and how to save it, for the quit question."""
        return ""

    # -- called by the app on every screen of the stack ----------------------------------------
    def on_crops_changed(self) -> None:
        """Crops were added, removed or saved by another process (the app has updated its queue)."""

    def on_theme_switched(self) -> None:
        """The colour theme changed: redraw what was drawn in code (checkerboards, overlays)."""
