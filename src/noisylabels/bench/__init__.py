"""noisylabels.bench."""
