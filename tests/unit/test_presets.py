"""The input size a build runs at: one rule, shared by the build and its parent check."""

from dataclasses import replace

from edgexai.train.models import get_spec
from edgexai.train.presets import PRESETS, build_input_size


def test_a_preset_sets_the_input_size_of_its_own_arch_only():
    cpu = PRESETS["cpu"]
    assert cpu.input_size is not None and cpu.input_size != get_spec(cpu.arch).input_size
    assert build_input_size(cpu, cpu.arch) == cpu.input_size
    assert build_input_size(cpu, "resnet18") == get_spec("resnet18").input_size  # --arch resnet18
    assert (
        build_input_size(replace(cpu, input_size=None), cpu.arch) == get_spec(cpu.arch).input_size
    )
    assert build_input_size(PRESETS["quick"], cpu.arch) == get_spec(cpu.arch).input_size  # demo


def test_the_demo_preset_keeps_the_recipe_its_figures_were_measured_with():
    # README's quick-start figures (natural 0.983, layered 0.964) came from peak lr 0.1 and no
    # cast shadow; the cpu preset moved to 0.2 (docs/RESULTS.md, issue 19 row 18) without them
    quick, cpu = PRESETS["quick"], PRESETS["cpu"]
    assert (quick.lr, cpu.lr) == (0.1, 0.2)
    assert quick.augmentation.shadow == 0.0 and cpu.augmentation.shadow > 0.0
    assert (
        replace(
            quick,
            lr=cpu.lr,
            epochs=cpu.epochs,
            finetune_epochs=cpu.finetune_epochs,
            input_size=cpu.input_size,
            augmentation=cpu.augmentation,
            summary=cpu.summary,
        )
        == cpu
    )
