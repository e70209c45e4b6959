"""The terminal side of the TUI: probing, choosing a protocol, filtering answers, drawing pictures."""
