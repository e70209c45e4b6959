"""The scene model: backgrounds, horizon, perspective, surfaces, real-world size priors and the label taxonomy."""
