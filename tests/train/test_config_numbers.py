"""Config values: bools are not numbers, floats must be finite and fit float32."""

from __future__ import annotations

import pytest

from noisylabels.errors import UsageError
from noisylabels.train.config import TrainConfig, from_dict, validate


@pytest.mark.parametrize("key", ["lr", "momentum", "weight_decay", "gamma", "grad_clip"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1e300, "1e999"])
def test_non_finite_floats_are_refused(key, value):
    with pytest.raises(UsageError, match=f"{key} must be a finite number"):
        from_dict({key: value})


def test_direct_construction_is_validated_too():
    with pytest.raises(UsageError, match="lr must be a finite number"):
        validate(TrainConfig(lr=float("nan")))


@pytest.mark.parametrize("key", ["epochs", "batch_size", "seed", "noise_seed", "lr"])
def test_bool_is_not_a_number(key):
    with pytest.raises(UsageError, match="has the wrong type"):
        from_dict({key: True})


def test_bool_fields_take_bools_only():
    assert from_dict({"amp": "yes", "nesterov": 1}).amp is True
    with pytest.raises(UsageError, match="has the wrong type"):
        from_dict({"amp": 2})


def test_method_params_must_be_finite():
    with pytest.raises(UsageError, match=r"method_params\.weighting\.lam must be a finite"):
        from_dict({"method_params": {"weighting": {"lam": float("nan")}}})
    assert from_dict({"method_params": {"q": 0.7, "name": "x"}}).method_params["q"] == 0.7


def test_large_finite_values_within_float32_pass():
    assert from_dict({"lr": 3e38}).lr == 3e38
