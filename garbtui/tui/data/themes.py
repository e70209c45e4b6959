"""Load the theme files of the top-level themes/ folder (TOML, data not code) into Textual Theme objects."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

# A source checkout or editable install reads the repository's themes/; a wheel installs them as data
# files under <prefix>/share/garbtui/themes (see pyproject.toml).
_CHECKOUT_THEMES = Path(__file__).resolve().parents[3] / "themes"
THEMES_DIR = _CHECKOUT_THEMES if _CHECKOUT_THEMES.is_dir() else Path(sys.prefix) / "share" / "garbtui" / "themes"
_COLOUR_KEYS = (
    "primary", "secondary", "warning", "error", "success", "accent",
    "foreground", "background", "surface", "panel", "boost",
)


def theme_from_toml(path: Path) -> Theme:
    """One theme file: `name`, `dark`, the colour keys, and an optional [variables] table."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    name = str(data.get("name") or path.stem)
    if "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least `primary`")
    colours = {k: str(data[k]) for k in _COLOUR_KEYS if k in data}
    for key, value in colours.items():
        try:
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"{path}: {key} = {value!r} is not a colour") from None
    variables = {str(k): str(v) for k, v in dict(data.get("variables", {})).items()}
    c = colours.get
    return Theme(name=name, primary=colours["primary"], secondary=c("secondary"), warning=c("warning"), error=c("error"),
                 success=c("success"), accent=c("accent"), foreground=c("foreground"), background=c("background"),
                 surface=c("surface"), panel=c("panel"), boost=c("boost"), dark=bool(data.get("dark", True)),
                 variables=variables)


def load_themes(folder: Path = THEMES_DIR) -> list[Theme]:
    """Every readable *.toml theme in `folder`, sorted by name; broken files are skipped."""
    themes: list[Theme] = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            themes.append(theme_from_toml(path))
        except (OSError, ValueError, tomllib.TOMLDecodeError, TypeError):
            continue
    return themes
