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
import math
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


WEIGHT_FILES = ("weights.safetensors", "weights.pt")
_EDITED = "was it edited? Save the model again with noisylabels train --save-model DIR"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite_list(v: Any) -> bool:
    return (
        isinstance(v, list)
        and len(v) > 0
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        and all(math.isfinite(x) for x in v)
    )


def _check_info(meta: dict[str, Any], p: Path) -> None:
    """One-line errors for the fields of ``model.json`` that the model is rebuilt from."""

    def bad(field: str, expected: str) -> UsageError:
        return UsageError(f"{p}: {field} is {meta.get(field)!r}, expected {expected}; {_EDITED}")

    if not isinstance(meta.get("model"), str) or not meta["model"]:
        raise bad("model", "a registered model name")
    if meta.get("weights") not in WEIGHT_FILES:
        raise bad("weights", " or ".join(WEIGHT_FILES))
    shape = meta.get("input_shape")
    if not isinstance(shape, list) or not 1 <= len(shape) <= 3:
        raise bad("input_shape", "a list of 1 to 3 sizes")
    if not all(_is_int(n) and n >= 1 for n in shape):
        raise bad("input_shape", "sizes >= 1")
    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2:
        raise bad("classes", "a list of at least 2 class names")
    if not all(isinstance(c, str) or _is_int(c) for c in classes):
        raise bad("classes", "class names (strings)")
    if len({str(c) for c in classes}) != len(classes):
        raise bad("classes", "distinct class names")
    if not isinstance(meta.get("is_image"), bool):
        raise bad("is_image", "true or false")
    width = shape[0] if meta["is_image"] else shape[-1]
    for field in ("mean", "std"):
        v = meta.get(field)
        if not _finite_list(v) or len(v) not in (1, width):
            raise bad(field, "1 finite number" if width == 1 else f"1 or {width} finite numbers")
    if any(x <= 0 for x in meta["std"]):
        raise bad("std", "numbers > 0")


def read_model_info(folder: str | Path) -> dict[str, Any]:
    """The ``model.json`` of a saved model.

    Raises:
        UsageError: The folder has no ``model.json``, or it is not UTF-8 JSON of this format,
            or a field the model is rebuilt from (model name, weights file name, input shape,
            class names, normalisation constants) is missing or out of range.
    """
    p = Path(folder).expanduser() / "model.json"
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except OSError:
        raise UsageError(
            f"{folder} is not a saved model (no model.json); save one with "
            "noisylabels train --save-model DIR"
        ) from None
    except UnicodeDecodeError as e:
        raise UsageError(
            f"{p}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); {_EDITED}"
        ) from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{p}: not valid JSON ({e.msg}); {_EDITED}") from None
    if not isinstance(meta, dict):
        raise UsageError(f"{p}: expected a JSON object, got {type(meta).__name__}; {_EDITED}")
    if meta.get("format") != FORMAT:
        raise UsageError(f"{p}: unknown format {meta.get('format')!r}; expected {FORMAT}")
    _check_info(meta, p)
    return meta


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, read without running code (one-line errors)."""
    from noisylabels.safeload import torch_load

    if not path.exists():
        raise UsageError(f"{path.parent}: weights file {path.name} is missing; {_EDITED}")
    if not path.is_file():
        raise UsageError(f"weights file {path} is not a regular file; {_EDITED}")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise UsageError(
                f"{path} needs the safetensors package: pip install safetensors"
            ) from None
        try:
            state = load_file(str(path))
        except Exception as e:  # the library's own error types vary by version
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UsageError(f"cannot read weights file {path}: {first[:160]}; {_EDITED}") from None
    else:
        state = torch_load(path, "weights file")
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise UsageError(
            f"weights file {path} is not a state dict (names -> tensors); {_EDITED}"
        )
    return state


def _check_weights(state: dict[str, torch.Tensor], net: torch.nn.Module, where: str) -> None:
    """Raise unless ``state`` has exactly ``net``'s entries, shapes and kinds, all finite."""
    own = net.state_dict()
    missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    problem = None
    if missing:
        more = f" and {len(missing) - 1} more" if missing[1:] else ""
        problem = f"it lacks {missing[0]!r}{more}"
    elif extra:
        problem = f"it has {extra[0]!r}, which the model does not"
    else:
        for k, t in own.items():
            v = state[k]
            if v.shape != t.shape:
                problem = f"{k!r} has shape {tuple(v.shape)}, the model's {tuple(t.shape)}"
            elif v.dtype.is_floating_point != t.dtype.is_floating_point:
                problem = f"{k!r} holds {v.dtype}, the model {t.dtype}".replace("torch.", "")
            elif v.dtype.is_floating_point and not torch.isfinite(v).all():
                problem = f"{k!r} holds NaN or infinite values"
            if problem:
                break
    if problem:
        raise UsageError(f"{where}: {problem}; {_EDITED}")


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a saved network with its trained weights, in eval mode on ``device``.

    The input it expects is the normalised one: ``(x / 255 - mean) / std`` for uint8 images
    (constants in :func:`read_model_info`); ``noisylabels predict`` and
    :func:`predict_saved` apply it.

    Raises:
        UsageError: A missing or malformed ``model.json`` or weights file, a weights file that
            would run code when loaded, or weights that do not fit the model it names (other
            names, shapes or kinds, or non-finite values).

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
    shape, k = tuple(meta["input_shape"]), len(meta["classes"])
    try:
        net = get_model(meta["model"], shape, k)
    except UsageError:
        raise UsageError(
            f"{folder}: model {meta['model']!r} is not registered here; register it (see "
            "docs/extending.md) or build the network yourself and load its weights"
        ) from None
    except (ValueError, RuntimeError, TypeError) as e:  # e.g. an image model for 1-D inputs
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(
            f"{folder}: model {meta['model']!r} cannot be built for input {shape} and {k} "
            f"classes ({first[:120]}); {_EDITED}"
        ) from None
    path = Path(folder).expanduser() / meta["weights"]
    state = _read_weights(path)
    _check_weights(
        state, net, f"{path}: the weights do not fit model {meta['model']!r} for input {shape} "
        f"and {k} classes"
    )
    net.load_state_dict(state)
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
