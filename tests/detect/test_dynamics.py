"""Training-dynamics scores against a per-sample record kept by a plain reference callback."""

import numpy as np
import pytest
import torch

from noisylabels.data import load_dataset
from noisylabels.detect.dynamics import DynamicsRecorder, logit_margin
from noisylabels.train import Callback, TrainConfig, run
from noisylabels.weighting.bmm import fit_loss_mixture


def test_logit_margin_by_hand():
    z = torch.tensor([[2.0, 1.0, -1.0], [0.5, 3.0, 1.0]])
    y = torch.tensor([0, 0])
    assert logit_margin(z, y).tolist() == [1.0, -2.5]


class _Reference(Callback):
    """Keeps every (row, loss, logits, label, weight) seen, in plain Python lists."""

    def __init__(self):
        self.seen = {}

    def on_batch_end(self, run, batch, out, state):
        rows = run.train_positions[batch.index.cpu()].tolist()
        w = None if out.weights is None else out.weights.tolist()
        for j, r in enumerate(rows):
            z = out.logits[j].tolist()
            y = int(batch.y[j])
            margin = z[y] - max(v for k, v in enumerate(z) if k != y)
            entry = self.seen.setdefault(r, {"loss": [], "margin": [], "w": []})
            entry["loss"].append(float(out.per_sample_loss[j]))
            entry["margin"].append(margin)
            if w is not None:
                entry["w"].append(w[j])


@pytest.mark.parametrize("method", ["ce", "ciw"])
def test_recorder_matches_reference(method):
    cfg = TrainConfig(
        dataset="moons", noise="symmetric:0.3", epochs=3, method=method, device="cpu",
        val_fraction=0.2,
    )  # fmt: skip
    rec, ref = DynamicsRecorder(), _Reference()
    run(cfg, callbacks=[rec, ref])
    s = rec.scores()
    n = len(load_dataset("moons").y_train)
    assert all(v.shape == (n,) for v in s.values())
    assert ("weight" in s) == (method == "ciw")
    trained = sorted(ref.seen)
    assert len(trained) == int(round(0.8 * n))  # validation rows have no score
    assert np.isnan(np.delete(s["aum"], trained)).all()
    for r in trained[:50]:
        e = ref.seen[r]
        assert len(e["loss"]) == 3  # once per epoch
        assert s["mean_loss"][r] == pytest.approx(-np.mean(e["loss"]), rel=1e-5)
        assert s["aum"][r] == pytest.approx(np.mean(e["margin"]), rel=1e-5, abs=1e-6)
        if method == "ciw":
            assert s["weight"][r] == pytest.approx(np.mean(e["w"]), rel=1e-5)
    losses = torch.tensor([np.mean(ref.seen[r]["loss"]) for r in trained], dtype=torch.float64)
    post = fit_loss_mixture(losses).noisy_probability(losses).double().numpy()
    np.testing.assert_allclose(s["small_loss"][trained], 1 - post, atol=1e-5)
