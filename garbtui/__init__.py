"""garbtui: litter fragments from annotated photos, composed into labelled synthetic scenes."""

__version__ = "0.1.0"
