"""The regime registry: every list of regime names, cells and matrix cells is read from here.

The built-in regimes are one module each under edgexai.train.regimes, imported on first use (they import
no torch at module level, so `edgexai build --help` can list them). Another regime is a class
derived from edgexai.train.regimes.regime_base.Regime, registered with `register_regime` (a decorator too);
from then on `edgexai build --regime`, the bench's cells and the regime matrix know it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar

from edgexai.core.errors import EdgexaiError

if TYPE_CHECKING:
    from edgexai.train.regimes import RegimeSettings
    from edgexai.train.regimes.regime_base import Regime, Timing

R = TypeVar("R", bound="type[Regime]")

# The built-in regimes' modules, in the order every table lists them (the paper's).
BUILTIN_MODULES = ("natural", "adversarial", "l1", "global_", "layered")

_REGISTRY: dict[str, type[Regime]] = {}
_loading = False


def _load_builtins() -> None:
    """Import the built-in regime modules once; each registers its class."""
    global _loading
    if _loading:
        return
    _loading = True
    try:
        for module in BUILTIN_MODULES:
            importlib.import_module(f"edgexai.train.regimes.{module}")
    except BaseException:
        _loading = False
        raise


def _order(cls: type[Regime]) -> tuple[int, int]:
    """Built-ins in BUILTIN_MODULES order, then other regimes in registration order."""
    module = cls.__module__.rpartition(".")[2]
    if cls.__module__.startswith("edgexai.train.regimes.") and module in BUILTIN_MODULES:
        return (0, BUILTIN_MODULES.index(module))
    return (1, list(_REGISTRY).index(cls.name))


def register_regime(cls: R, *, replace: bool = False) -> R:
    """Make `cls` (a Regime subclass with a unique `name`) known everywhere; returns it."""
    _load_builtins()
    name = getattr(cls, "name", "")
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise EdgexaiError(f"a regime needs a name of letters, digits, - and _ (got {name!r})")
    if name in _REGISTRY and _REGISTRY[name] is not cls and not replace:
        raise EdgexaiError(f"regime {name!r} is registered already ({_REGISTRY[name].__module__})")
    _REGISTRY[name] = cls
    return cls


def unregister_regime(name: str) -> None:
    """Forget a regime (tests, and plug-ins that are reloaded)."""
    _REGISTRY.pop(name, None)


def regimes() -> tuple[type[Regime], ...]:
    """Every registered regime class, in table order."""
    _load_builtins()
    return tuple(sorted(_REGISTRY.values(), key=_order))


def regime_names() -> tuple[str, ...]:
    return tuple(cls.name for cls in regimes())


def get_regime(name: str) -> type[Regime]:
    """The class of a regime, or a one-line error naming the choices."""
    _load_builtins()
    if name not in _REGISTRY:
        raise EdgexaiError(f"unknown regime {name!r}; choose one of: {', '.join(regime_names())}")
    return _REGISTRY[name]


def make_regime(name: str, timing: Timing, settings: RegimeSettings) -> Regime:
    """The regime object a build uses (the timing as resolved by `resolve_timing`)."""
    return get_regime(name)(timing, settings)


def cells() -> tuple[str, ...]:
    """Every bench cell, in table order (the paper's eleven for the built-ins)."""
    return tuple(c for cls in regimes() for c in cls.cells())


def cell_of(regime: str, timing: Timing) -> str:
    """The bench cell of a build; an unregistered regime reads as a pruning one (NAME-TIMING)."""
    _load_builtins()
    cls = _REGISTRY.get(regime)
    if cls is None:
        return f"{regime}-{timing or 'tuned'}"
    return cls.cell(timing)


def matrix_cells() -> dict[str, tuple[type[Regime], Timing]]:
    """Every cell the regime matrix can build (NAME or NAME-TIMING) → (regime, timing)."""
    return {cls.stem(t): (cls, t) for cls in regimes() for t in cls.timings}


def default_matrix() -> tuple[str, ...]:
    """`--cells all`: each regime's matrix timings, the parent first, then cheapest first."""
    order = regimes()
    chosen = [
        (cls, t)
        for cls in order
        for t in (cls.matrix_timings if cls.matrix_timings is not None else cls.timings)
    ]
    chosen.sort(key=lambda c: (*c[0].matrix_order(c[1]), order.index(c[0])))
    return tuple(cls.stem(t) for cls, t in chosen)
