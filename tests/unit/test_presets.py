"""The input size a build runs at: one rule, shared by the build and its parent check."""

from dataclasses import replace

from edgexai.models import get_spec
from edgexai.presets import PRESETS, build_input_size


def test_a_preset_sets_the_input_size_of_its_own_arch_only():
    cpu = PRESETS["cpu"]
    assert cpu.input_size is not None and cpu.input_size != get_spec(cpu.arch).input_size
    assert build_input_size(cpu, cpu.arch) == cpu.input_size
    assert build_input_size(cpu, "resnet18") == get_spec("resnet18").input_size  # --arch resnet18
    assert (
        build_input_size(replace(cpu, input_size=None), cpu.arch) == get_spec(cpu.arch).input_size
    )
    assert build_input_size(PRESETS["quick"], cpu.arch) == get_spec(cpu.arch).input_size  # demo
