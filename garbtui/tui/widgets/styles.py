"""Rich styles taken from the current theme, for text built in code (table cells, legends)."""

from __future__ import annotations

from rich.color import Color, ColorParseError
from textual.app import App


def theme_colour(app: App[object], name: str, fallback: str = "") -> str:
    """The theme variable `name` as a Rich colour, or `fallback` when it is not a plain colour (e.g. 'auto 60%')."""
    value = app.theme_variables.get(name, "")
    try:
        Color.parse(value)
    except ColorParseError:
        return fallback
    return value
