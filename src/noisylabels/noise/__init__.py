"""noisylabels.noise."""
