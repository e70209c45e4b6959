"""CLI and end-to-end tests: real commands on real exports, photos and workspaces."""
