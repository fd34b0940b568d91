"""Slow reproduction tests (opt-in: `pytest -m slow`).

They rerun the README's headline comparison and check the claims it makes, so a change that
breaks a method's robustness (not just its formula) shows up.
"""

import pytest

from noisylabels.bench.job import run_bench
from noisylabels.bench.report import load_records, summarise

pytestmark = pytest.mark.slow


def _cell(tables, label):
    (table,) = tables
    row = next(r for r in table.rows if r == label)
    return table.cells[(row, next(c for c in table.columns).key)]


def test_bench_claims_hold(tmp_path):
    run_bench(tmp_path, progress="quiet")
    recs = load_records(tmp_path / "results.jsonl")
    assert len(recs) == 9 and all(r["status"] == "ok" for r in recs)
    sel = summarise(recs, "selected")
    last = summarise(recs, "last")
    ce_sel, ciw_sel = _cell(sel, "CE").mean, _cell(sel, "CIW").mean
    ce_last, apl_last = _cell(last, "CE").mean, _cell(last, "APL NCE+RCE").mean
    # CIW beats CE even after CE's epoch is chosen on the noisy validation split.
    assert ciw_sel > ce_sel + 1.0
    # CE memorises the flipped labels by the last epoch; the robust loss does not.
    assert apl_last > ce_last + 10.0
