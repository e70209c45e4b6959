"""TUI tests: Pilot-driven screens, snapshots, terminal detection, the open/demo/doctor commands."""
