"""noisylabels.losses."""
