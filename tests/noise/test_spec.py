import pytest

from noisylabels.errors import UsageError
from noisylabels.noise import NoiseSpec


@pytest.mark.parametrize(
    "text,kind,rate",
    [
        ("clean", "clean", 0.0),
        ("none", "clean", 0.0),
        ("symmetric:0.4", "symmetric", 0.4),
        ("SYM:0.4", "symmetric", 0.4),
        ("uniform:0.8", "uniform", 0.8),
        ("pairflip:0.45", "pairflip", 0.45),
        ("asymmetric:0.3", "asymmetric", 0.3),
        ("instance:0.2", "instance", 0.2),
        ("cifar10n-worst", "cifar10n-worst", None),
        ("cifar10n-worse", "cifar10n-worst", None),
        ("cifar10n-rand2", "cifar10n-random2", None),
        ("cifar10n-aggre", "cifar10n-aggre", None),
        (" symmetric:1e-05 ", "symmetric", 1e-05),
    ],
)
def test_parse_and_round_trip(text, kind, rate):
    spec = NoiseSpec.parse(text, sampling="iid", seed=7)
    assert (spec.kind, spec.rate, spec.sampling, spec.seed) == (kind, rate, "iid", 7)
    assert NoiseSpec.parse(str(spec), sampling="iid", seed=7) == spec
    assert NoiseSpec.from_dict(spec.to_dict()) == spec


def test_str_forms():
    assert str(NoiseSpec("symmetric", 0.4)) == "symmetric:0.4"
    assert str(NoiseSpec("clean")) == "clean"
    assert str(NoiseSpec("cifar10n-rand1")) == "cifar10n-random1"
    assert str(NoiseSpec("uniform", 0.123456789)) == "uniform:0.123456789"


def test_frozen():
    spec = NoiseSpec("symmetric", 0.4)
    with pytest.raises(AttributeError):
        spec.rate = 0.5


@pytest.mark.parametrize(
    "text,match",
    [
        ("gaussian:0.3", "symmetric, uniform"),
        ("symmetric", "needs a rate"),
        ("symmetric:abc", "not a number"),
        ("symmetric:1.2", r"\[0, 1\]"),
        ("symmetric:-0.1", r"\[0, 1\]"),
        ("symmetric:nan", r"\[0, 1\]"),
        ("cifar10n-worst:0.4", "takes no rate"),
        ("clean:0.3", "takes no rate"),
        ("", "empty"),
        ("file:x.npz", "apply_noise_file"),
    ],
)
def test_parse_errors(text, match):
    with pytest.raises(UsageError, match=match) as e:
        NoiseSpec.parse(text)
    assert "\n" not in str(e.value)


def test_unknown_kind_lists_kinds():
    with pytest.raises(UsageError) as e:
        NoiseSpec("bogus", 0.1)
    for kind in ("symmetric", "uniform", "pairflip", "asymmetric", "instance", "cifar10n-worst"):
        assert kind in str(e.value)


@pytest.mark.parametrize("kw", [{"sampling": "poisson"}, {"seed": -1}, {"seed": 1.5}])
def test_bad_sampling_and_seed(kw):
    with pytest.raises(UsageError):
        NoiseSpec("symmetric", 0.2, **kw)
