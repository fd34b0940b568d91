"""noisylabels.data."""
