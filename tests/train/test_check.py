import pytest

from noisylabels.errors import UsageError
from noisylabels.train import TrainConfig, check_config


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"dataset": "moons", "method": "nce+rce", "method_params": {"alpha": 1, "beta": 1}},
        {"dataset": "cifar10", "noise": "asymmetric:0.9", "model": "seed-cnn"},
        {"dataset": "cifar10", "noise": "cifar10n-worst"},
        {"noise": "uniform:0.9", "method": "coteaching"},
        {"noise": "instance:0.3", "method": "ciw"},
    ],
)
def test_valid_configs_pass(changes):
    check_config(TrainConfig(**changes))


@pytest.mark.parametrize(
    ("changes", "msg"),
    [
        ({"dataset": "imagenet"}, "unknown dataset"),
        ({"model": "vgg"}, "unknown model"),
        ({"dataset": "moons", "model": "seed-cnn"}, "needs image inputs"),
        ({"noise": "asymmetric:0.3"}, "no class map for dataset 'digits'"),
        ({"noise": "symmetric:0.9"}, "too high"),
        ({"noise": "cifar10n-worst"}, "needs dataset cifar10"),
        ({"noise": "gaussian:0.2"}, "kind"),
        ({"method": "magic"}, "unknown method"),
        ({"method": "ciw", "method_params": {"bogus": 1}}, "bogus"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_bad_configs_fail_with_one_line(changes, msg):
    with pytest.raises(UsageError, match=msg) as e:
        check_config(TrainConfig(**changes))
    assert "\n" not in str(e.value)
