"""garbtui test suite: unit (core on real images), functional (CLI end to end), tui (Pilot + snapshots)."""
