import csv
import io
import json

import pytest

from noisylabels.bench.report import (
    failed_runs,
    fmt_cell,
    load_reference,
    read_run_records,
    render_csv,
    render_markdown,
    summarise,
    sweep_info,
)
from noisylabels.bench.results import as_run_records
from noisylabels.cli import main
from noisylabels.errors import UsageError
from noisylabels.train import run_id
from noisylabels.train.config import TrainConfig


def rec(method, noise, seed, last, *, sel=None, best=None, realised=None, label=None, **cfg):
    config = TrainConfig(method=method, noise=noise, seed=seed, **cfg)
    kind, _, rate = noise.partition(":")
    return {
        "run_id": run_id(config),
        "status": "ok",
        "label": label,
        "config": config.to_dict(),
        "noise": {
            "spec": noise,
            "kind": kind,
            "rate": float(rate) if rate else (0.0 if noise == "clean" else None),
            "sampling": "exact",
            "realised_rate": realised,
        },
        "final": {
            "test_acc_last": last,
            "test_acc_selected": last if sel is None else sel,
            "selected_epoch": 1,
            "test_acc_best": last if best is None else best,
            "train_time_s": 1.0,
            "eval_time_s": 0.1,
            "inference_ms_per_1000": 1.0,
        },
    }


def records():
    return [
        rec("ce", "clean", 0, 0.90, realised=0.0, label="CE"),
        rec("ce", "clean", 1, 0.92, realised=0.0, label="CE"),
        rec("ce", "symmetric:0.4", 0, 0.60, sel=0.70, best=0.72, realised=0.40, label="CE"),
        rec("ce", "symmetric:0.4", 1, 0.62, sel=0.71, best=0.73, realised=0.40, label="CE"),
        rec("ce", "symmetric:0.4", 2, 0.67, sel=0.72, best=0.74, realised=0.40, label="CE"),
        rec("ciw", "symmetric:0.4", 0, 0.80, realised=0.41),
        rec("ciw", "symmetric:0.4", 1, 0.84, realised=0.43),
        rec("ciw", "asymmetric:0.3", 0, 0.85, realised=0.15),
        rec("nce+rce", "symmetric:0.2", 0, 0.88, realised=0.2, method_params={"alpha": 1.0}),
    ]


def test_tables_group_by_dataset_and_kind_with_clean_column():
    tables = summarise(records(), "last")
    assert [(t.dataset, t.kind) for t in tables] == [
        ("digits", "symmetric"),
        ("digits", "asymmetric"),
    ]
    sym, asym = tables
    assert [c.key for c in sym.columns] == ["clean", "0.2", "0.4"]
    assert [c.key for c in asym.columns] == ["clean", "0.3"]
    assert sym.rows == ["CE", "ciw", "nce+rce (alpha=1)"]
    assert asym.rows == ["CE", "ciw"]


def test_mean_and_std_against_hand_computed_values():
    sym = summarise(records(), "last")[0]
    cell = sym.cells[("CE", "0.4")]
    # 60, 62, 67: mean 63; deviations -3, -1, 4 -> var = 26 / 2 = 13 (ddof=1)
    assert cell.mean == pytest.approx(63.0)
    assert cell.std == pytest.approx(13**0.5)
    assert sym.max_n == 3
    assert fmt_cell(cell, sym.max_n) == "63.00 ± 3.61"
    # 90, 92 -> 91 ± sqrt(2); shows n because the table has 3-seed cells
    assert fmt_cell(sym.cells[("CE", "clean")], sym.max_n) == "91.00 ± 1.41 (n=2)"
    assert fmt_cell(sym.cells[("nce+rce (alpha=1)", "0.2")], sym.max_n) == "88.00 (n=1)"
    assert fmt_cell(sym.cells.get(("ciw", "clean")), sym.max_n) == "—"
    assert sym.column("0.4").realised_mean == pytest.approx(100 * (0.4 * 3 + 0.41 + 0.43) / 5)


@pytest.mark.parametrize(("metric", "mean"), [("last", 63.0), ("selected", 71.0), ("best", 73.0)])
def test_metric_choice(metric, mean):
    t = summarise(records(), metric)[0]
    assert t.cells[("CE", "0.4")].mean == pytest.approx(mean)
    md = render_markdown([t])
    assert {"last": "last epoch", "selected": "noisy-validation", "best": "optimistic"}[
        metric
    ] in md


def test_markdown_layout_and_failed_runs():
    recs = records()
    failed = dict(rec("ciw", "clean", 0, 0.0), status="failed", error="RuntimeError: x | y")
    retried = dict(rec("ce", "clean", 0, 0.0, label="CE"), status="failed", error="old")
    recs = [retried, *recs, failed]  # ce clean seed 0 failed once, then succeeded
    tables = summarise(recs, "last")
    md = render_markdown(tables, failed=failed_runs(recs))
    assert "### digits · symmetric noise" in md and "### digits · asymmetric noise" in md
    assert "| method | clean | 0.2 | 0.4 |" in md
    assert "| CE | 91.00 ± 1.41 (n=2) | — | 63.00 ± 3.61 |" in md
    assert "| *realised noise (%)* | 0.00 | 20.00 | 40.80 |" in md
    assert "### Failed runs (1)" in md
    assert "RuntimeError: x \\| y" in md  # pipes escaped


def test_csv_matches_markdown():
    tables = summarise(records(), "selected")
    md = render_markdown(tables)
    rows = list(csv.DictReader(io.StringIO(render_csv(tables))))
    assert len(rows) == sum(len([c for c in t.cells.values() if c.n]) for t in tables)
    md_rows = {}
    table = None
    for line in md.splitlines():
        if line.startswith("### "):
            table = line[4:]
        elif line.startswith("| method"):
            header = [h.strip() for h in line.strip("|").split("|")]
        elif line.startswith("| ") and not line.startswith("| *"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for key, text in zip(header[1:], cells[1:], strict=True):
                md_rows[(table, cells[0], key)] = text.strip("*")
    max_n = {}
    for r in rows:
        key = (r["dataset"], r["noise_kind"])
        max_n[key] = max(max_n.get(key, 0), int(r["n"]))
    for r in rows:
        title = f"{r['dataset']} · {r['noise_kind']} noise"
        text = md_rows[(title, r["method"], r["noise_level"])]
        mean = float(r["mean_pct"])
        expected = f"{mean:.2f}" + (f" ± {float(r['std_pct']):.2f}" if r["std_pct"] else "")
        assert text.startswith(expected)
        assert ("(n=" in text) == (int(r["n"]) != max_n[(r["dataset"], r["noise_kind"])])
        assert r["metric"] == "selected"


def test_best_mean_of_each_column_is_bold():
    recs = [
        *records(),
        rec("gce", "symmetric:0.4", 0, 0.82, label="GCE"),  # ties ciw's 82.00 at 2 decimals
        rec("gce", "symmetric:0.2", 0, 0.50, label="GCE"),
    ]
    md = render_markdown(summarise(recs, "last"))
    symmetric = md.split("### digits · asymmetric noise")[0]
    lines = {ln.split("|")[1].strip(): ln for ln in symmetric.splitlines() if ln.startswith("| ")}
    assert "Bold: the best of our means in each column." in md
    # symmetric 0.4: ciw 82.00 (n=2) and GCE 82.00 tie above CE's 63.00; 0.2: nce+rce beats GCE
    assert "**82.00 ± 2.83 (n=2)**" in lines["ciw"] and "| **82.00 (n=1)** |" in lines["GCE"]
    assert "**" not in lines["CE"].split("|")[3]
    assert "**88.00 (n=1)**" in lines["nce+rce (alpha=1)"]
    # a column with a single filled cell (clean: CE only) has no winner to mark
    assert "| 91.00 ± 1.41 (n=2) |" in lines["CE"]


def test_different_settings_under_one_label_are_split_not_averaged():
    recs = [
        rec("ce", "symmetric:0.4", 0, 0.5, label="CE", model="mlp"),
        rec("ce", "symmetric:0.4", 0, 0.7, label="CE", model="seed-cnn"),
    ]
    t = summarise(recs, "last")[0]
    assert t.rows == ["CE [model=mlp]", "CE [model=seed-cnn]"]
    assert t.cells[("CE [model=mlp]", "0.4")].mean == pytest.approx(50.0)


def test_setting_missing_from_an_older_record_counts_as_its_default():
    # Records written before test_eval existed lack the key; those runs scored every epoch.
    old = rec("ce", "symmetric:0.4", 0, 0.5, label="CE")
    del old["config"]["test_eval"]
    recs = [old, rec("ce", "symmetric:0.4", 1, 0.7, label="CE", test_eval="every_epoch")]
    t = summarise(recs, "last")[0]
    assert t.rows == ["CE"]
    assert t.cells[("CE", "0.4")].mean == pytest.approx(60.0)
    recs.append(rec("ce", "symmetric:0.4", 2, 0.9, label="CE", test_eval="selected"))
    rows = summarise(recs, "last")[0].rows
    assert rows == ["CE [test_eval=every_epoch]", "CE [test_eval=selected]"]


def test_named_noise_goes_to_other_table():
    recs = [rec("ce", "clean", 0, 0.9), rec("ce", "cifar10n-worst", 0, 0.6, dataset="cifar10")]
    recs[1]["noise"].update(spec="cifar10n-worst", kind="cifar10n-worst", rate=None)
    tables = summarise(recs, "last")
    assert [(t.dataset, t.kind) for t in tables] == [("digits", "clean"), ("cifar10", "other")]
    assert [c.key for c in tables[1].columns] == ["cifar10n-worst"]


REFERENCE = """\
source: Student report
tables:
  - dataset: digits
    noise: symmetric
    rows:
      ce: {clean: 90.5, 0.4: 65.0, 0.8: 20.0}
      Published only: {0.4: 50}
  - dataset: digits
    noise: uniform
    source: other paper
    rows:
      CE: {0.9: 15.44}
"""


def test_reference_numbers_beside_ours(tmp_path):
    p = tmp_path / "ref.yaml"
    p.write_text(REFERENCE)
    ref = load_reference(p)
    tables = summarise(records(), "last", ref)
    sym = tables[0]
    assert [c.key for c in sym.columns] == ["clean", "0.2", "0.4", "0.8"]
    assert sym.rows[-1] == "Published only"
    md = render_markdown(tables)
    assert "| CE | 91.00 ± 1.41 (n=2) / 90.50 (+0.50) | — | 63.00 ± 3.61 / 65.00 (-2.00) |" in md
    assert "| Published only | — | — | — / 50.00 | — |" in md
    assert "Cells: ours / published (Student report) (difference)." in md
    assert "### digits · uniform noise" in md
    rows = list(csv.DictReader(io.StringIO(render_csv(tables))))
    ce04 = next(r for r in rows if r["method"] == "CE" and r["noise_level"] == "0.4")
    assert float(ce04["published_pct"]) == 65.0


@pytest.mark.parametrize(
    "text",
    [
        "tables: 3",
        "tables:\n  - {dataset: d}",
        "tables:\n  - {dataset: d, noise: s, rows: {A: {0.1: x}}}",
    ],
)
def test_bad_reference_is_one_line_error(tmp_path, text):
    p = tmp_path / "ref.yaml"
    p.write_text(text)
    with pytest.raises(UsageError) as e:
        load_reference(p)
    assert "\n" not in str(e.value)


def test_cli_report_files_stdout_and_errors(tmp_path, capsys):
    res = tmp_path / "r.jsonl"
    res.write_text("".join(json.dumps(r) + "\n" for r in records()))
    assert main(["report", str(res), "--metric", "last"]) == 0
    out = capsys.readouterr().out
    assert "| CE | 91.00 ± 1.41 (n=2) | — | 63.00 ± 3.61 |" in out
    assert main(["report", str(res), "--out", str(tmp_path / "rep"), "--title", "T"]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md.startswith("## T\n")
    assert (tmp_path / "rep" / "report.csv").read_text().startswith("dataset,noise_kind,method")
    assert main(["report", str(res), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("dataset,noise_kind")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["report", str(empty)]) == 2
    assert "no finished runs" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.jsonl")]) == 2


def test_sweep_info_names_the_last_invocation_that_ran_something(tmp_path):
    from noisylabels.bench.results import sidecar

    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps(rec("ce", "clean", 0, 0.9)) + "\n")
    session = {"command": "noisylabels sweep g.yaml", "workers": 1, "ok": 1, "failed": 0}
    sessions = [
        {
            **session,
            "started_at": "2026-01-01T00:00:00Z",
            "ended_at": "2026-01-01T00:01:00Z",
            "machine": {"processor": "x86_64", "cpu_count": 2},
            "versions": {"torch": "2.13.0"},
        },
        # A rerun with nothing left to do, on another machine.
        {
            **session,
            "ok": 0,
            "started_at": "2026-02-01T00:00:00Z",
            "ended_at": "2026-02-01T00:00:00Z",
            "machine": {"processor": "arm64", "cpu_count": 8},
            "versions": {"torch": "9.9"},
        },
    ]
    meta = {"sessions": sessions, "wall_time_s": 60.0}
    sidecar(out, ".meta.json").write_text(json.dumps(meta))
    info = sweep_info(out)
    assert "x86_64, 2 cores" in info and "torch 2.13.0" in info
    assert "last run 2026-01-01T00:01:00Z" in info and "over 2 invocation(s)" in info
    sessions[0]["ok"] = 0  # nothing ran at all: the last invocation is all there is
    sidecar(out, ".meta.json").write_text(json.dumps(meta))
    assert "arm64, 8 cores" in sweep_info(out)


def test_select_seeds_keeps_the_complete_seeds_and_rejects_an_absent_one():
    from noisylabels.bench.report import select_seeds

    kept = select_seeds(records(), [0, 1])
    assert {r["config"]["seed"] for r in kept} == {0, 1} and len(kept) == 8
    t = next(t for t in summarise(kept, "last") if t.kind == "symmetric")
    # CE at 0.4 without seed 2's 0.67: the mean of 0.60 and 0.62 only.
    assert t.cells[("CE", "0.4")].mean == pytest.approx(61.0)
    with pytest.raises(UsageError, match=r"no record has seed 7; seeds in the results: 0, 1, 2"):
        select_seeds(records(), [0, 7])


def test_cli_report_seeds_filters_tables_and_says_so(tmp_path, capsys):
    res = tmp_path / "r.jsonl"
    res.write_text("".join(json.dumps(r) + "\n" for r in records()))
    assert main(["report", str(res), "--metric", "last", "--seeds", "0,1"]) == 0
    out = capsys.readouterr().out
    assert "| CE | 91.00 ± 1.41 | — | 61.00 ± 1.41 |" in out  # no (n=2): seed 2 is gone
    assert "- Tables: seeds 0, 1 only (8 records; `--seeds`)." in out
    assert main(["report", str(res), "--seeds", "3,"]) == 2
    err = capsys.readouterr().err
    assert "no record has seed 3" in err and len(err.strip().splitlines()) == 1


def test_a_record_without_noise_block_is_grouped_by_its_parsed_spec():
    # Records written before the noise block: config.noise parsed once, aliases resolved.
    recs = [rec("ce", "symmetric:0.4", 0, 0.6), rec("ce", "symmetric:0.2", 1, 0.7)]
    del recs[0]["noise"]
    recs[0]["config"]["noise"] = "sym:0.4"
    (t,) = summarise(recs, "last")
    assert t.kind == "symmetric"
    assert [c.spec for c in t.columns] == ["symmetric:0.2", "symmetric:0.4"]


def test_cli_report_rows_follow_the_grid_sidecar_not_the_file_order(tmp_path, capsys):
    # A sweep appends records as runs finish: a rerun row, or a parallel worker, puts a row
    # out of order in the file. The grid beside the results gives the table's order.
    from bench_fakes import fake_record

    from noisylabels.bench.grid import expand_grid, load_grid
    from noisylabels.bench.results import grid_ordered

    grid_text = (
        "base: {dataset: moons, epochs: 1}\n"
        "noise: [symmetric:0.2, pairflip:0.2]\n"
        "methods: [{name: gce, label: GCE}, {name: ce, label: CE}]\n"
        "seeds: [0, 1]\n"
    )
    (tmp_path / "g.yaml").write_text(grid_text)
    runs = expand_grid(load_grid(tmp_path / "g.yaml"))
    recs = [dict(fake_record(r.config), label=r.label) for r in runs]
    extra = dict(fake_record(TrainConfig(dataset="moons", noise="pairflip:0.2", method="mae")))
    # File order: CE's records first, pair-flip before symmetric, a run not in the grid first.
    ce_first = sorted(recs, key=lambda r: (r["label"] != "CE", "pair" not in r["config"]["noise"]))
    scrambled = [extra, *ce_first]
    res = tmp_path / "r.jsonl"
    res.write_text("".join(json.dumps(r) + "\n" for r in scrambled))

    def rows(md, kind):
        table = md.split(f"### moons · {kind} noise")[1].split("###")[0]
        return [ln.split(" |")[0][2:] for ln in table.splitlines() if ln.startswith("| ")][1:-1]

    def kinds(md):
        return [ln for ln in md.splitlines() if ln.startswith("### ")]

    assert main(["report", str(res), "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert kinds(md) == ["### moons · pairflip noise", "### moons · symmetric noise"]
    assert rows(md, "pairflip") == ["mae", "CE", "GCE"]

    (tmp_path / "r.grid.yaml").write_text(grid_text)
    assert main(["report", str(res), "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert kinds(md) == ["### moons · symmetric noise", "### moons · pairflip noise"]
    assert rows(md, "pairflip") == ["GCE", "CE", "mae"]  # the run outside the grid comes last
    ordered = grid_ordered(read_run_records(res), res)
    assert [r.run_id for r in ordered[:-1]] == [r.run_id for r in runs]

    # A sidecar that no longer expands (an unknown method) leaves the file order.
    (tmp_path / "r.grid.yaml").write_text(grid_text.replace("name: gce", "name: no-such-loss"))
    assert main(["report", str(res), "--format", "md"]) == 0
    assert rows(capsys.readouterr().out, "pairflip") == ["mae", "CE", "GCE"]


def test_in_run_order_places_a_record_of_another_device_by_its_cell():
    # Records written with device "cpu" (or by an older version) have other run ids than the
    # grid's "auto" runs, but the same place in the report.
    from noisylabels.bench.grid import expand_grid
    from noisylabels.bench.results import in_run_order

    grid = {
        "base": {"dataset": "moons", "epochs": 1, "device": "auto"},
        "noise": ["symmetric:0.2"],
        "methods": [{"name": "gce", "label": "GCE"}, {"name": "ce", "label": "CE"}],
        "seeds": [0],
    }
    runs = expand_grid(grid)
    ce_cpu = rec("ce", "symmetric:0.2", 0, 0.5, label="CE", dataset="moons", device="cpu")
    gce_cpu = rec("gce", "symmetric:0.2", 0, 0.6, label="GCE", dataset="moons", device="cpu")
    other = rec("mae", "symmetric:0.2", 0, 0.4, dataset="moons")
    assert {ce_cpu["run_id"], gce_cpu["run_id"]}.isdisjoint(r.run_id for r in runs)
    ordered = in_run_order(as_run_records([other, ce_cpu, gce_cpu]), runs)
    assert [r.label for r in ordered] == ["GCE", "CE", None]
