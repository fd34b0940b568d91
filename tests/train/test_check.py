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
        ({"method": "coteaching", "method_params": {"forget_rate": 1.0}}, "forget_rate"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_bad_configs_fail_with_one_line(changes, msg):
    with pytest.raises(UsageError, match=msg) as e:
        check_config(TrainConfig(**changes))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "noise", ["asymmetric:1.0", "cifar10n-worst", "file:labels.npz", "uniform:0.9"]
)
def test_coteaching_accepted_wherever_the_trainer_runs_it(noise):
    # The trainer hands co-teaching the expected share of wrong labels (asymmetric:1.0 -> 0.5;
    # human and file noise from their labels), so a sweep must not refuse these up front.
    check_config(TrainConfig(dataset="cifar10", noise=noise, method="coteaching"))


def test_method_sees_the_trainers_noise_rate(monkeypatch):
    import noisylabels.methods as methods

    seen = []
    real = methods.build_method

    def spy(name, ctx, make_network, **params):
        seen.append(ctx.noise_rate)
        return real(name, ctx, make_network, **params)

    monkeypatch.setattr(methods, "build_method", spy)
    check_config(TrainConfig(dataset="cifar10", noise="uniform:0.5"))
    check_config(TrainConfig(dataset="cifar10", noise="asymmetric:0.6"))
    assert seen == pytest.approx([0.45, 0.3])  # 0.5 * 9/10; 0.6 on 5 of 10 classes
