"""The regime protocol: what a build asks of a regime, so build.py never branches on its name.

A build is: `check` the settings → start model (fresh, or the natural parent when `from_parent`)
→ `prepare` it (prune, mask; None when nothing is done) → train with `loss_fn` (None: the
trainer's cross-entropy) unless the timing is `post` → `finalize` (masks made permanent) →
evaluate → `parameters` into the manifest's `regime_params`. As Torch-Pruning keeps importance,
dependency graph and schedule apart, a regime only says *what* it changes; the training loop, the
parent, the evaluation and the build folder belong to the build.

A regime also describes itself for the tables and the matrix: which timings it accepts, its
bench cells (one per timing, or one for all), and how the regime matrix builds it. No torch at
import: a regime imports its torch mechanics inside the methods that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from edgexai.core.errors import EdgexaiError
from edgexai.train.regimes import TIMINGS, RegimeSettings

if TYPE_CHECKING:
    from torch import nn

    from edgexai.train.attacks import LossFn

Timing = str | None
# The regime matrix builds the parent first (phase 0, natural's), then fine-tunings, then post
# (evaluation only), then full trainings (pre, and no timing); cheaper builds first within a phase.
MATRIX_PHASE: dict[Timing, int] = {"tuned": 1, "post": 2, "pre": 3, None: 3}


class Regime:
    """One training regime: subclass, set `name` and `timings`, override the hooks that apply,
    and register the class (edgexai.train.regimes.regime_registry.register_regime)."""

    name: ClassVar[str] = ""
    timings: ClassVar[tuple[Timing, ...]] = (None,)  # accepted timings; None: no --timing
    default_timing: ClassVar[Timing] = None  # what no --timing means
    cell_per_timing: ClassVar[bool] = False  # bench cells: NAME-TIMING each, or NAME for all
    matrix_timings: ClassVar[tuple[Timing, ...] | None] = None  # `--cells all`; None: `timings`

    def __init__(self, timing: Timing = None, settings: RegimeSettings | None = None) -> None:
        self.timing = timing
        self.settings = settings if settings is not None else RegimeSettings()

    # -- what the timing means for the build ----------------------------------------------------

    @property
    def from_parent(self) -> bool:
        """post and tuned start from the natural parent; pre and no timing from a fresh model."""
        return self.timing in ("post", "tuned")

    @property
    def trains(self) -> bool:
        return self.timing != "post"

    @property
    def fine_tunes(self) -> bool:
        return self.timing == "tuned"

    @classmethod
    def resolve_timing(cls, timing: Timing) -> Timing:
        """The timing a build really uses (`default_timing` when none is given)."""
        if timing is not None and timing not in TIMINGS:
            raise EdgexaiError(f"unknown timing {timing!r}; choose one of: {', '.join(TIMINGS)}")
        timing = timing or cls.default_timing
        if timing not in cls.timings:
            raise EdgexaiError(cls.timing_error(timing))
        return timing

    @classmethod
    def timing_error(cls, timing: Timing) -> str:
        allowed = ", ".join("none" if t is None else t for t in cls.timings)
        return f"--timing {timing} does not apply to {cls.name}; use {allowed}"

    # -- the build's steps ----------------------------------------------------------------------

    def check(self) -> None:
        """Reject bad settings before any data is read. The attack settings are checked for
        every regime: each build's robust accuracy uses ε."""
        from edgexai.core.metrics.robustness import PGDConfig

        s = self.settings
        PGDConfig(s.epsilon, s.pgd_steps, s.pgd_step_size, s.random_start).check()
        self.check_settings()
        if not 0 < s.adv_fraction <= 1:
            raise EdgexaiError(f"--adv-fraction must be in (0, 1] (got {s.adv_fraction})")

    def check_settings(self) -> None:
        """The regime's own settings (called by `check`)."""

    def prepare(self, model: nn.Module, arch: str, input_size: int) -> dict[str, Any] | None:
        """Change the start model in place; returns what was done (None: nothing)."""
        return None

    def loss_fn(self, mean, std, seed: int) -> LossFn | None:
        """The training loss; None means the trainer's cross-entropy."""
        return None

    def finalize(self, model: nn.Module) -> nn.Module:
        """The model as saved (e.g. masks folded into weights)."""
        return model

    def record(self) -> dict[str, Any]:
        """The regime's own entries of the manifest's regime_params."""
        return {}

    def parameters(self, prepared: dict[str, Any] | None) -> dict[str, Any]:
        """The manifest's regime_params: regime, timing, `record()`, then what `prepare` did."""
        out: dict[str, Any] = {"regime": self.name, "timing": self.timing, **self.record()}
        if prepared is not None:
            out["pruning"] = prepared
        return out

    # -- how tables and the regime matrix see it ------------------------------------------------

    @classmethod
    def cell(cls, timing: Timing) -> str:
        """The bench cell of a build with this timing."""
        if cls.cell_per_timing:
            return f"{cls.name}-{timing or cls.default_timing}"
        return cls.name

    @classmethod
    def cells(cls) -> tuple[str, ...]:
        return tuple(dict.fromkeys(cls.cell(t) for t in cls.timings))

    @classmethod
    def stem(cls, timing: Timing) -> str:
        """NAME or NAME-TIMING: a build folder's name without arch and seed; a matrix cell."""
        return cls.name if timing is None else f"{cls.name}-{timing}"

    @classmethod
    def matrix_order(cls, timing: Timing) -> tuple[int, float]:
        """(phase, relative cost) of building this timing: the matrix's `--cells all` order."""
        return MATRIX_PHASE[timing], 1.0

    @classmethod
    def matrix_flags(cls, timing: Timing, matrix: Any) -> list[str]:
        """`edgexai build` flags the matrix adds for this cell: its epochs for pre and tuned
        (`matrix` is edgexai.study.regime_matrix.MatrixOptions; the regimes never import the matrix)."""
        epochs = {"pre": matrix.pre_epochs, "tuned": matrix.tune_epochs}.get(timing or "")
        return [] if epochs is None else ["--epochs", str(epochs)]


class PruningRegime(Regime):
    """A regime that prunes the start model: every timing, `tuned` by default, one cell per
    timing, masks folded into the weights before saving."""

    timings = TIMINGS
    default_timing = "tuned"
    cell_per_timing = True

    def finalize(self, model: nn.Module) -> nn.Module:
        from edgexai.train.regimes.unstructured import make_permanent

        return make_permanent(model)
