"""Detection metrics against hand-computed values."""

import numpy as np
import pytest

from noisylabels.detect import detection_metrics, precision_at_k


def test_metrics_by_hand():
    suspicion = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.0])
    flipped = np.array([1, 0, 1, 0, 0, 1], bool)
    flagged = np.array([1, 1, 1, 0, 0, 0], bool)
    m = detection_metrics(suspicion, flagged, flipped, ks=(2,))
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    # AP = mean over positives of precision at their rank: ranks 1, 3, 6 -> (1 + 2/3 + 3/6) / 3
    assert m["average_precision"] == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    # AUROC = share of (flipped, clean) pairs ordered right: 3 + 2 + 0 of 9
    assert m["auroc"] == pytest.approx(5 / 9)
    assert m["precision_at_2"] == pytest.approx(0.5)
    assert m["precision_at_num_flipped"] == pytest.approx(2 / 3)


def test_undefined_metrics_are_none():
    m = detection_metrics(np.zeros(3), np.zeros(3, bool), np.zeros(3, bool))
    assert m["precision"] is None and m["recall"] is None and m["auroc"] is None
    assert precision_at_k(np.zeros(3), np.zeros(3, bool), 0) is None
