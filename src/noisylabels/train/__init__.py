"""noisylabels.train."""
