"""noisylabels.models."""
