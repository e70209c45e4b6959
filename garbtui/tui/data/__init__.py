"""Data the TUI keeps outside the workspace: config, themes, the queue model and the image caches (no widgets)."""
