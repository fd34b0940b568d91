"""Sweeps, reports and plots: from single training runs to comparisons.

- :mod:`noisylabels.bench.grid`: grid YAML -> validated list of runs (``expand_grid``).
- :mod:`noisylabels.bench.sweep`: ``run_sweep`` (resumable, crash-safe JSONL, workers).
- :mod:`noisylabels.bench.results`: the results file (``ResultsWriter``, ``load_records``).
- :mod:`noisylabels.bench.report`: tables (``summarise``, ``render_markdown``, ``render_csv``).
- :mod:`noisylabels.bench.plots`: PNG plots (``write_plots``).
- :mod:`noisylabels.bench.job`: the ``noisylabels bench`` main job (``BENCH_GRID``).
- :mod:`noisylabels.bench.moons`: the two-moons illustration.

Submodules are imported on demand, so the CLI starts without loading matplotlib.
"""
