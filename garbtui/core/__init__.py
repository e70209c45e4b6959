"""Core of garbtui: workspace, readers, extraction, cleanup, compositing. Never imports Textual."""
