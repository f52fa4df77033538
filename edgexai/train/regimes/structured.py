"""Layered (structured) pruning: remove whole channels for real with Torch-Pruning.

Three separate parts, as Torch-Pruning keeps them:
- importance: how a coupled channel group is scored (L2 or L1 magnitude, summed over the group);
- dependency graph: which layers' channels must go together (a residual stage's convs, their
  batch norms, the shortcut and the next stage's inputs form one group), traced from the model;
- schedule: how much is removed, per layer (one ratio) or globally (ranked across layers, each
  layer capped), in one or several steps, rounded to multiples of `round_to`.
The output layer (`fc`) is never pruned, so the network keeps one logit per class (a ResNet's
head stays GAP → linear; VGG-16's hidden linears are pruned like its convs). After
pruning, `model.widths()` reads the new widths from the layers and `create_model(arch, widths)`
rebuilds the same network (checked here, not assumed).

`mask` mode is the paper's variant for comparison: `prune.ln_structured` zeroes the lowest-L2
filters of every conv (10 %), which removes no computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import prune

from edgexai.core.errors import EdgexaiError
from edgexai.train.regimes import IMPORTANCES, LAYERED_MODES, LAYERED_SCOPES, RegimeSettings

LAYERED_AMOUNT = 0.5  # channel ratio removed per layer (remove mode)
MASK_AMOUNT = 0.1  # the paper's ln_structured share of filters (mask mode)


_DEFAULTS = RegimeSettings()  # the build options' defaults, written once there


@dataclass(frozen=True)
class LayeredConfig:
    mode: str = _DEFAULTS.layered_mode  # remove | mask
    amount: float | None = None  # None: LAYERED_AMOUNT (remove) / MASK_AMOUNT (mask)
    scope: str = _DEFAULTS.layered_scope  # layer | global
    max_layer_amount: float = _DEFAULTS.max_layer_amount  # global scope: cap on a layer's share
    round_to: int = _DEFAULTS.round_to
    importance: str = _DEFAULTS.importance  # l2 | l1
    steps: int = _DEFAULTS.prune_steps  # iterative schedule: the ratio reached in this many steps

    @property
    def ratio(self) -> float:
        if self.amount is not None:
            return self.amount
        return LAYERED_AMOUNT if self.mode == "remove" else MASK_AMOUNT

    def check(self) -> None:
        if self.mode not in LAYERED_MODES:
            raise EdgexaiError(f"--layered-mode must be remove or mask (got {self.mode!r})")
        if self.scope not in LAYERED_SCOPES:
            raise EdgexaiError(f"--layered-scope must be layer or global (got {self.scope!r})")
        if not 0 <= self.ratio < 1:
            raise EdgexaiError(f"--amount must be in [0, 1) (got {self.ratio})")
        if not 0 < self.max_layer_amount < 1:
            raise EdgexaiError(
                f"--max-layer-amount must be in (0, 1) (got {self.max_layer_amount})"
            )
        if self.round_to < 1 or self.steps < 1:
            raise EdgexaiError("--round-to and --prune-steps must be at least 1")
        if self.importance not in IMPORTANCES:
            raise EdgexaiError(f"--importance must be l2 or l1 (got {self.importance!r})")


def layered_config(s: RegimeSettings) -> LayeredConfig:
    return LayeredConfig(
        s.layered_mode,
        s.amount,
        s.layered_scope,
        s.max_layer_amount,
        s.round_to,
        s.importance,
        s.prune_steps,
    )


def make_importance(kind: str):
    """Group importance: each channel's L_p weight norm, averaged over the coupled group and
    normalised per group (Torch-Pruning's defaults), so global ranking compares layers fairly."""
    import torch_pruning as tp

    return tp.importance.MagnitudeImportance(p=2 if kind == "l2" else 1)


def dependency_groups(model: nn.Module, input_size: int) -> list:
    """The prunable channel groups Torch-Pruning's dependency graph finds (classifier excluded)."""
    import torch_pruning as tp

    dg = tp.DependencyGraph().build_dependency(model, torch.zeros(1, 3, input_size, input_size))
    return list(
        dg.get_all_groups(ignored_layers=[model.fc], root_module_types=[nn.Conv2d, nn.Linear])
    )


def prune_channels(model: nn.Module, arch: str, input_size: int, cfg: LayeredConfig) -> dict:
    """Remove channels in place; returns what was done (for the manifest)."""
    import torch_pruning as tp

    cfg.check()
    before = model.widths()
    was_training = model.training
    model.eval()
    groups = dependency_groups(model, input_size)
    pruner = tp.pruner.MetaPruner(
        model,
        torch.zeros(1, 3, input_size, input_size),
        importance=make_importance(cfg.importance),
        pruning_ratio=cfg.ratio,
        global_pruning=cfg.scope == "global",
        max_pruning_ratio=cfg.max_layer_amount if cfg.scope == "global" else 1.0,
        iterative_steps=cfg.steps,
        ignored_layers=[model.fc],
        round_to=cfg.round_to,
    )
    capped = 0
    for _ in range(cfg.steps):
        for group in pruner.step(interactive=True):
            if cfg.scope == "global":
                capped += _prune_capped(pruner, group, cfg)
            else:
                group.prune()
    model.train(was_training)
    widths = model.widths()
    check_rebuilds(model, arch, widths)
    return {
        "method": "torch_pruning MetaPruner (channels removed)",
        "mode": "remove",
        "amount": cfg.ratio,
        "scope": cfg.scope,
        "max_layer_amount": cfg.max_layer_amount if cfg.scope == "global" else None,
        "round_to": cfg.round_to,
        "importance": f"magnitude {cfg.importance}, group mean, mean-normalised",
        "steps": cfg.steps,
        "dependency_groups": len(groups),
        "ignored": ["fc"],
        "groups_capped": capped if cfg.scope == "global" else None,
        "widths_before": before,
        "widths_after": widths,
    }


def _prune_capped(pruner, group, cfg: LayeredConfig) -> int:
    """Prune a globally ranked group, but keep at least (1 - cap) of the layer's original
    channels (rounded up to `round_to`). Torch-Pruning 1.6 checks its max_pruning_ratio only
    between steps, so one global step could empty a layer; returns 1 when the cap bit."""
    dep, idxs = group[0].dep, list(group[0].idxs)
    module, dg = dep.target.module, pruner.DG
    if dg.is_out_channel_pruning_fn(dep.handler):
        current, initial = dg.get_out_channels(module), pruner.layer_init_out_ch[module]
    else:
        current, initial = dg.get_in_channels(module), pruner.layer_init_in_ch[module]
    keep = math.ceil((1 - cfg.max_layer_amount) * initial / cfg.round_to) * cfg.round_to
    allowed = max(0, current - min(max(keep, cfg.round_to), current))
    if len(idxs) <= allowed:
        group.prune()
        return 0
    if allowed:  # keep the least important `allowed` of the chosen channels
        whole = dg.get_pruning_group(module, dep.handler, list(range(current)))
        imp = pruner.importance(whole)[idxs]  # scored on the whole layer, as the ranking was
        order = torch.argsort(imp)[:allowed].tolist()
        group.prune(idxs=sorted(idxs[i] for i in order))
    return 1


def check_rebuilds(model: nn.Module, arch: str, widths) -> None:
    """The pruned network must be exactly what create_model(arch, widths) builds."""
    from edgexai.train.models import create_model

    rebuilt = create_model(arch, widths, model.fc.out_features)
    a, b = model.state_dict(), rebuilt.state_dict()
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise EdgexaiError(f"internal: pruned {arch} does not match create_model(widths={widths})")


def mask_filters(model: nn.Module, cfg: LayeredConfig) -> dict:
    """The paper's layered pruning: zero the lowest-L2 share of every conv's filters (masks)."""
    cfg.check()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    for m in convs:
        prune.ln_structured(m, "weight", amount=cfg.ratio, n=2, dim=0)
    return {
        "method": "torch.nn.utils.prune.ln_structured(n=2, dim=0) per conv (masks)",
        "mode": "mask",
        "amount": cfg.ratio,
        "layers": len(convs),
    }


def apply_layered(model: nn.Module, arch: str, input_size: int, cfg: LayeredConfig) -> dict:
    if cfg.mode == "mask":
        return mask_filters(model, cfg)
    return prune_channels(model, arch, input_size, cfg)
