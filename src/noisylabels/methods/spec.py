"""A training method as a typed composition of parts, and the named presets that expand to one.

A :class:`MethodSpec` holds one part of each kind (see :mod:`noisylabels.methods.parts`): the
loss, a sample weighting, a mixup and a sample selection. It is parsed once, from a method name
(a preset or a loss) plus parameters, by :func:`parse_method`:

* part mappings override the preset's parts: ``{"loss": {"name": "gce", "q": 0.7},
  "weighting": {"name": "ciw", "lam": 0.5}}``; a part given without a name, or with the
  preset's name, keeps the preset's part and changes only the parameters given; a bare string
  (``weighting: ciw``) just names the part;
* flat parameters (``{"lam": 0.1, "q": 0.7}``) are a shorthand for the parts: the weighting,
  mixup and selection parameters of the presets go to their part (``ciw_alpha`` is the CIW
  ``alpha``, ``mixup_alpha`` the mixup's ``alpha``, ``cls_div`` switches CIW to CICW) and
  everything else to the loss.

Example:
    >>> spec = parse_method("ciw", {"loss": {"name": "gce", "q": 0.7}, "weighting": {"lam": 0.5}})
    >>> spec.loss, spec.weighting.name, spec.weighting.params.lam
    (LossSpec(name='gce', params=(('q', 0.7),)), 'ciw', 0.5)
    >>> parse_method("ciw", {"loss": "gce", "q": 0.7, "lam": 0.5}) == spec
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from noisylabels import losses
from noisylabels.errors import UsageError
from noisylabels.methods.parts import (
    PART_KINDS,
    PART_REGISTRIES,
    LossSpec,
    Part,
    default_part,
    loss_param_types,
    make_loss,
    make_part,
    owners,
)
from noisylabels.params import field_types, split_method_mapping
from noisylabels.registry import Registry


@dataclass(frozen=True)
class MethodSpec:
    """A training method: one part of each kind, with typed parameters.

    Attributes:
        loss: The per-sample loss.
        weighting: Sample weighting (``none``: uniform).
        mixup: Mixup (``none``: no mixup).
        selection: Sample selection (``none``: one network on every sample).
        name: The name the run records as its method (the preset it came from, or
            ``standard`` for an explicit composition).
    """

    loss: LossSpec = field(default_factory=LossSpec)
    weighting: Part = field(default_factory=lambda: default_part("weighting"))
    mixup: Part = field(default_factory=lambda: default_part("mixup"))
    selection: Part = field(default_factory=lambda: default_part("selection"))
    name: str = "standard"

    def parts(self) -> dict[str, Any]:
        """``{"loss": LossSpec, "weighting": Part, "mixup": Part, "selection": Part}``."""
        return {kind: getattr(self, kind) for kind in PART_KINDS}

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        """The parts as mappings, ``{"loss": {"name": "gce", "q": 0.7}, ...}``.

        Args:
            full: Every parameter and every part; otherwise only parts other than ``none`` and
                parameters that differ from their defaults (the loss is always given).
        """
        out: dict[str, Any] = {"loss": self.loss.to_dict()}
        for kind in PART_KINDS[1:]:
            part: Part = getattr(self, kind)
            if full:
                out[kind] = {"name": part.name, **dataclasses.asdict(part.params)}
            elif part.name != "none":
                out[kind] = part.to_dict()
        return out

    def describe(self) -> str:
        """One line: ``gce(q=0.7) + ciw(lam=0.5)``."""
        items = []
        for d in self.to_dict().values():
            params = ", ".join(f"{k}={v}" for k, v in d.items() if k != "name")
            items.append(f"{d['name']}({params})" if params else d["name"])
        return " + ".join(items)


#: Named methods (presets): ``name -> () -> {kind: part}``, each a shorthand for a MethodSpec.
METHODS: Registry[Callable[[], dict[str, Any]]] = Registry("method")

#: The presets' parts, with their sources (:data:`METHODS` holds the same, by name).
PRESETS: dict[str, tuple[dict[str, Any], str]] = {
    "standard": ({}, "Cross entropy; any loss, weighting, mixup via the parts (all off)"),
    "confidence": (
        {"weighting": {"name": "confidence", "tau": 0.6, "mode": "soft"}},
        "CE + confidence weights min(1, p_y/0.6) (the student report's weighting, made precise)",
    ),
    "ciw": (
        {"weighting": {"name": "ciw", "lam": 0.1, "alpha": 0.1}},
        "CIW (Kumar & Amid 2021): lam 0.1, alpha 0.1 (official README/flags)",
    ),
    "ciw-m": (
        {
            "weighting": {"name": "ciw", "lam": 10.0, "alpha": 0.1},
            "mixup": {"name": "label_smoothing_w", "alpha": 0.2},
        },
        "CIW-M: CIW + label_smoothing_w mixup (official asymmetric-noise recipe: lam 10, a 0.2)",
    ),
    "cicw": (
        {
            "weighting": {
                "name": "cicw", "lam": 0.1, "alpha": 0.1, "cls_div": "kl", "cls_gamma": 0.1,
            },
        },
        "CICW: CIW + KL class reweighting (gamma 0.1, the official flag default)",
    ),
    "cicw-m": (
        {
            "weighting": {
                "name": "cicw", "lam": 2.5, "alpha": 0.1, "cls_div": "kl", "cls_gamma": 0.01,
            },
            "mixup": {"name": "sample_weight_w", "alpha": 2.0, "recompute_weights": True},
        },
        "CICW-M (official README recipe: lam 2.5, KL gamma 0.01, sample_weight_w, dcl_w_mixup)",
    ),
    "mixup": (
        {"mixup": {"name": "vanilla", "alpha": 1.0, "per_sample_lam": False}},
        "Vanilla mixup with CE (Zhang et al. 2018): Beta(1, 1), one ratio per batch",
    ),
    "dynamic-mixup": (
        {"mixup": {"name": "dynamic"}},
        "M-DYR-H (Arazo et al. 2019): mixup + BMM bootstrapping",
    ),
    "coteaching": (
        {"selection": {"name": "coteaching"}},
        "Co-teaching (Han et al. 2018): two nets, small-loss swap",
    ),
}  # fmt: skip

for _name, (_parts, _doc) in PRESETS.items():
    METHODS.register(_name, help=_doc)(lambda _p=_parts: _deep_copy(_p))


def _deep_copy(parts: Mapping[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in parts.items()}


# Flat parameters of the presets, by the part that takes them.
_FLAT_RENAMED = {
    "ciw_alpha": ("weighting", "alpha"),
    "mixup_alpha": ("mixup", "alpha"),
    "mixup_margin": ("mixup", "margin"),
}
_FLAT_WEIGHTING = (
    "tau", "mode", "normalize", "lam", "burnin_steps", "burnin_epochs", "anneal_steps",
    "anneal_epochs", "cls_gamma",
)  # fmt: skip
_FLAT_MIXUP = (
    "m_pow",
    "per_sample_lam",
    "recompute_weights",
    "clean_forward",
    "reg_term",
    "bmm_iters",
)
_FLAT_SELECTION = ("forget_rate", "num_gradual")


def method_names(include_losses: bool = True) -> list[str]:
    """Every name :func:`parse_method` accepts (named methods, then loss names)."""
    return METHODS.names() + (losses.names() if include_losses else [])


def _part_value(value: Any, kind: str, where: str) -> dict[str, Any]:
    """``"ciw"`` / ``{name: ciw, lam: 1}`` / ``{lam: 1}`` -> ``{"name": ..., "params": {...}}``."""
    if value is None:
        return {"name": "none" if kind != "loss" else None, "params": {}}
    if isinstance(value, str):
        return {"name": value.strip().lower(), "params": {}}
    if isinstance(value, Mapping):
        params = {k: v for k, v in value.items() if k != "name"}
        name = value.get("name")
        if name is not None and not isinstance(name, str):
            raise UsageError(f"{where}: {kind} name must be a string, got {name!r}")
        return {"name": None if name is None else name.strip().lower(), "params": params}
    raise UsageError(
        f"{where}: {kind} must be a name or a mapping like {{name: ..., <param>: ...}}, "
        f"got {value!r}"
    )


def parse_method(name: str, params: Mapping[str, Any] | None = None) -> MethodSpec:
    """Expand a method name and its parameters into a :class:`MethodSpec`.

    Args:
        name: A named method (:data:`METHODS`: ``standard``, ``ciw``, ``cicw-m``, ...) or a loss
            name (``gce``, ``nfl+rce``, ...: that loss, unweighted).
        params: Part mappings and/or flat parameters (see the module docstring).

    Raises:
        UsageError: One line naming the unknown method, part or parameter and the valid ones,
            or the value of the wrong type.
    """
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"method name must be a non-empty string, got {name!r}")
    key = name.strip().lower()
    where = f"method {key!r}"
    if key in METHODS:
        base, is_loss = METHODS.get(key)(), False
    elif key in losses.names() or "+" in key:
        base, is_loss = {"loss": key}, True
    else:
        raise UsageError(
            f"unknown method {name!r}; choose one of: {', '.join(METHODS.names())}, or a loss "
            f"name ({', '.join(losses.names(pairs=False))}, or an 'active+passive' pair like "
            "nce+rce)"
        )
    if params is not None and not isinstance(params, Mapping):
        raise UsageError(f"{where}: parameters must be a mapping, got {params!r}")
    params = dict(params or {})
    bad = [k for k in params if not isinstance(k, str)]
    if bad:
        raise UsageError(f"{where}: parameter names must be strings, got {bad[0]!r}")

    raw = {kind: _part_value(base.get(kind), kind, where) for kind in PART_KINDS}
    if raw["loss"]["name"] is None:
        raw["loss"]["name"] = "ce"
    given: set[tuple[str, str]] = set()
    for kind in PART_KINDS:
        if kind not in params:
            continue
        v = _part_value(params.pop(kind), kind, where)
        if is_loss and kind == "loss" and v["name"] not in (None, key):
            raise UsageError(
                f"method {name!r} is already a loss; drop loss= or use method 'standard'"
            )
        if v["name"] is None or v["name"] == raw[kind]["name"]:
            raw[kind]["params"].update(v["params"])
        else:
            raw[kind] = v
        given.update((kind, k) for k in v["params"])

    if "cls_div" in params:
        _switch_class_div(raw, params.pop("cls_div"), where)
    for k, v in params.items():
        kind, fld = _flat_target(k, raw)
        if (kind, fld) in given:
            raise UsageError(f"{where}: {kind}.{fld} is given twice (as {k} and in {kind})")
        if kind == "loss":
            types = loss_param_types(raw["loss"]["name"])
            if types is not None and fld not in types:
                takes = [f"loss {raw['loss']['name']!r} takes {', '.join(types) or 'none'}"]
                for other in PART_KINDS[1:]:
                    names = list(field_types(PART_REGISTRIES[other].get(raw[other]["name"])))
                    if names:
                        takes.append(f"{other} {raw[other]['name']!r} takes {', '.join(names)}")
                raise UsageError(f"{where} does not use {k} ({'; '.join(takes)})")
        else:
            valid = field_types(PART_REGISTRIES[kind].get(raw[kind]["name"]))
            if fld not in valid:
                raise UsageError(
                    f"{where} does not use {k} ({kind} {raw[kind]['name']!r} takes "
                    f"{', '.join(valid) or 'no parameters'}; {k} belongs to "
                    f"{' or '.join(owners(fld)) or 'no part'})"
                )
        raw[kind]["params"][fld] = v

    try:
        loss = make_loss(raw["loss"]["name"], raw["loss"]["params"])
        parts = {k: make_part(k, raw[k]["name"], raw[k]["params"]) for k in PART_KINDS[1:]}
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None
    return MethodSpec(loss=loss, name=key, **parts)


def _flat_target(key: str, raw: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """The part (and its parameter name) that a flat parameter ``key`` belongs to."""
    if key in _FLAT_RENAMED:
        return _FLAT_RENAMED[key]
    if key == "warmup_epochs":
        return ("mixup" if raw["mixup"]["name"] == "dynamic" else "weighting"), key
    for kind, keys in (
        ("weighting", _FLAT_WEIGHTING),
        ("mixup", _FLAT_MIXUP),
        ("selection", _FLAT_SELECTION),
    ):
        if key in keys:
            return kind, key
    # A parameter of none of the presets: the loss's if it has it, else the one part that does.
    types = loss_param_types(raw["loss"]["name"])
    if types is None or key in types:
        return "loss", key
    holders = [
        kind
        for kind in PART_KINDS[1:]
        if raw[kind]["name"] in PART_REGISTRIES[kind]
        and key in field_types(PART_REGISTRIES[kind].get(raw[kind]["name"]))
    ]
    return (holders[0], key) if len(holders) == 1 else ("loss", key)


def _switch_class_div(raw: dict[str, dict[str, Any]], value: Any, where: str) -> None:
    """Flat ``cls_div``: class reweighting on (ciw -> cicw, none -> class) or off."""
    w = raw["weighting"]
    div = value.strip().lower() if isinstance(value, str) else value
    if div == "none":
        if w["name"] in ("cicw", "class"):
            w["name"] = "ciw" if w["name"] == "cicw" else "none"
            for k in ("cls_div", "cls_gamma"):
                w["params"].pop(k, None)
        return
    if w["name"] == "ciw":
        w["name"] = "cicw"
    elif w["name"] == "none":
        w["name"] = "class"
    elif w["name"] not in ("cicw", "class"):
        raise UsageError(
            f"{where}: cls_div (class reweighting) combines with weighting ciw (as cicw) or "
            f"stands alone (weighting class), not with weighting {w['name']!r}"
        )
    w["params"]["cls_div"] = value


def spec_from_mapping(mapping: Mapping[str, Any], where: str = "method") -> MethodSpec:
    """A spec from the YAML form ``{preset?: ciw, loss: {...}, weighting: {...}, ...}``.

    Example:
        >>> spec_from_mapping({"loss": {"name": "gce", "q": 0.7}}).describe()
        'gce(q=0.7)'
    """
    name, params = split_method_mapping(mapping, where)
    return parse_method(name, params)


__all__ = [
    "METHODS",
    "PRESETS",
    "MethodSpec",
    "method_names",
    "parse_method",
    "spec_from_mapping",
    "split_method_mapping",
]
