import pytest
import torch

from noisylabels.errors import UsageError
from noisylabels.models import MODELS, auto_model, get_model

SHAPES = {
    "seed-cnn": (3, 32, 32),
    "apl-cnn": (3, 32, 32),
    "cnn28": (1, 28, 28),
    "preact-resnet18": (3, 32, 32),
    "mlp": (2,),
    "report-code-cnn": (3, 32, 32),
}


def test_every_registered_model_has_a_shape_here():
    assert set(MODELS.names()) == set(SHAPES)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_forward_backward_shapes(name):
    net = get_model(name, SHAPES[name], 7)
    x = torch.randn(4, *SHAPES[name], generator=torch.Generator().manual_seed(0))
    out = net(x)
    assert out.shape == (4, 7)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_seed_cnn_architecture():
    net = get_model("seed-cnn", (3, 32, 32), 10)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (3, 8, (3, 3)),
        (8, 16, (3, 3)),
        (16, 32, (3, 3)),
    ]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 3 and linears[0].in_features == 32 * 4 * 4
    assert linears[-1].out_features == 10
    pools = [m for m in net.modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 3


def test_apl_cnn_architecture():
    net = get_model("apl-cnn", (3, 32, 32), 10)
    convs = [m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [64, 64, 128, 128, 196, 196]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3136, 256), (256, 10)]
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())


def test_auto_model_choice():
    assert auto_model((2,)) == "mlp"
    assert auto_model((1, 8, 8)) == "mlp"
    assert auto_model((1, 28, 28)) == "cnn28"
    assert auto_model((3, 32, 32)) == "seed-cnn"


def test_bad_model_errors():
    with pytest.raises(UsageError, match="unknown model 'resnet9000'.*seed-cnn"):
        get_model("resnet9000", (3, 32, 32), 10)
    with pytest.raises(UsageError, match="needs image inputs"):
        get_model("seed-cnn", (2,), 2)
    with pytest.raises(UsageError, match="28x28"):
        get_model("cnn28", (3, 32, 32), 10)


def test_seeded_init_is_reproducible_and_distinct():
    a = get_model("seed-cnn", (3, 32, 32), 10, seed=1)
    b = get_model("seed-cnn", (3, 32, 32), 10, seed=1)
    c = get_model("seed-cnn", (3, 32, 32), 10, seed=2)
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


class _NotebookBaseline(torch.nn.Module):
    # The student report's notebook's BaselineModel, restated layer by layer.
    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(64, 128, kernel_size=3, padding=1),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.fc_layers = nn.Sequential(
            nn.Linear(128 * 8 * 8, 512), nn.ReLU(inplace=True), nn.Linear(512, 10)
        )

    def forward(self, x):
        return self.fc_layers(torch.flatten(self.features(x), 1))


def test_report_code_cnn_is_the_notebook_model():
    net = get_model("report-code-cnn", (3, 32, 32), 10, seed=3)
    assert sum(p.numel() for p in net.parameters()) == 4_298_330
    with torch.random.fork_rng(devices=[]):
        ref = _NotebookBaseline()
    ours, theirs = list(net.state_dict().values()), list(ref.state_dict().items())
    assert [tuple(t.shape) for t in ours] == [tuple(t.shape) for _, t in theirs]
    ref.load_state_dict({k: v for (k, _), v in zip(theirs, ours, strict=True)})
    x = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(net(x), ref(x))
    # Xavier-uniform linear weights: bound sqrt(6 / (fan_in + fan_out))
    fc1 = net.classifier[1].weight
    assert fc1.abs().max() <= (6 / (8192 + 512)) ** 0.5
    assert fc1.abs().max() > 0.9 * (6 / (8192 + 512)) ** 0.5
