"""Modal dialogs: pick one of several values, type a number, add a background."""
