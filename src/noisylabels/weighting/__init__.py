"""noisylabels.weighting."""
