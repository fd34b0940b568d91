"""noisylabels.methods."""
