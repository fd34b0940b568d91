"""Keep a trained network: save it with what it needs to predict, load it back for inference.

A saved model is a folder with

* ``weights.safetensors`` (when the ``safetensors`` package is installed) or ``weights.pt``
  (``torch.save`` of the state dict, read back with ``weights_only=True``: no pickled code);
* ``model.json``: the model name, input shape, class names, the normalisation constants and the
  resolved training config.

``noisylabels train --save-model DIR`` writes one (through :class:`SaveModel`, a train-end
callback); :func:`load_model` rebuilds the network in eval mode; ``noisylabels predict`` uses it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from noisylabels.errors import UsageError
from noisylabels.train.callbacks import Callback

FORMAT = "noisylabels-model/1"


def _have_safetensors() -> bool:
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


def save_model(
    net: torch.nn.Module, folder: str | Path, *, model: str, data: Any, config: dict[str, Any]
) -> Path:
    """Write ``net``'s weights and ``model.json`` into ``folder``.

    Args:
        net: The trained network.
        folder: Output folder (created).
        model: Registered model name that rebuilds ``net`` (``mlp``, ``seed-cnn``...).
        data: The dataset it was trained on (shape, classes, mean/std).
        config: The resolved training config (``TrainConfig.to_dict()``).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if _have_safetensors():
        from safetensors.torch import save_file

        weights = "weights.safetensors"
        save_file(state, str(out / weights))
    else:
        weights = "weights.pt"
        torch.save(state, out / weights)
    normalization = config.get("normalization", "dataset")
    if normalization == "imagenet" and data.is_image and data.input_shape[0] == 3:
        from noisylabels.train.augment import IMAGENET_MEAN, IMAGENET_STD

        mean, std = IMAGENET_MEAN, IMAGENET_STD
    else:
        mean, std = data.mean, data.std
    meta = {
        "format": FORMAT,
        "model": model,
        "weights": weights,
        "input_shape": list(data.input_shape),
        "input_dtype": str(data.x_train.dtype).replace("torch.", ""),
        "is_image": bool(data.is_image),
        "classes": list(data.classes),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "dataset": str(data.name),
        "config": config,
    }
    (out / "model.json").write_text(json.dumps(meta, indent=1))
    return out


def read_model_info(folder: str | Path) -> dict[str, Any]:
    """The ``model.json`` of a saved model (one-line error when absent or not ours)."""
    p = Path(folder) / "model.json"
    try:
        meta = json.loads(p.read_text())
    except OSError:
        raise UsageError(
            f"{folder} is not a saved model (no model.json); save one with "
            "noisylabels train --save-model DIR"
        ) from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{p}: not valid JSON ({e.msg})") from None
    if meta.get("format") != FORMAT:
        raise UsageError(f"{p}: unknown format {meta.get('format')!r}; expected {FORMAT}")
    return meta


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a saved network with its trained weights, in eval mode on ``device``.

    The input it expects is the normalised one: ``(x / 255 - mean) / std`` for uint8 images
    (constants in :func:`read_model_info`); ``noisylabels predict`` and
    :func:`predict_saved` apply it.

    Example:
        >>> import tempfile
        >>> from noisylabels.train import TrainConfig, run
        >>> d = tempfile.mkdtemp()
        >>> rec = run(TrainConfig(dataset="moons", epochs=1), callbacks=[SaveModel(d)])
        >>> load_model(d).training
        False
    """
    from noisylabels.models import get_model

    meta = read_model_info(folder)
    try:
        net = get_model(meta["model"], tuple(meta["input_shape"]), len(meta["classes"]))
    except UsageError:
        raise UsageError(
            f"{folder}: model {meta['model']!r} is not registered here; register it (see "
            "docs/extending.md) or build the network yourself and load its weights"
        ) from None
    path = Path(folder) / meta["weights"]
    if not path.exists():
        raise UsageError(f"{folder}: weights file {meta['weights']} is missing")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise UsageError(
                f"{path} needs the safetensors package: pip install safetensors"
            ) from None
        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        net.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise UsageError(f"{path}: weights do not fit model {meta['model']!r} ({first})") from None
    return net.to(device).eval()


def predict_saved(
    folder: str | Path, x: torch.Tensor, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Softmax probabilities ``(N, K)`` of a saved model on stored inputs ``x`` (uint8 images)."""
    from noisylabels.train.augment import Normalizer

    meta = read_model_info(folder)
    if list(x.shape[1:]) != meta["input_shape"]:
        raise UsageError(
            f"inputs of shape {tuple(x.shape[1:])} do not fit the saved model, which expects "
            f"{tuple(meta['input_shape'])}"
        )
    net = load_model(folder, device)
    norm = Normalizer(
        tuple(meta["mean"]), tuple(meta["std"]), torch.device(device), image=meta["is_image"]
    )
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], 1024):
            out.append(torch.softmax(net(norm(x[i : i + 1024].to(device))).float(), 1).cpu())
    return torch.cat(out) if out else torch.zeros(0, len(meta["classes"]))


class SaveModel(Callback):
    """Train-end callback that saves the evaluated network (``run.method.net``) to ``folder``.

    The network saved is the one the run reports: with ``test_eval=selected`` the weights of
    the selected epoch, otherwise the last epoch's.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def on_train_end(self, run: Any, record: dict[str, Any]) -> None:
        """Write the model folder and note it in the record."""
        save_model(
            run.method.net,
            self.folder,
            model=run.model_name,
            data=run.data,
            config=run.config.to_dict(),
        )
        record["saved_model"] = str(self.folder)
