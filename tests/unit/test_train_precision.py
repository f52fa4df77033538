"""The training precision: bf16 autocast only where the CPU does bf16 natively, else fp32."""

import pytest
import torch

from edgexai.core.errors import EdgexaiError
from edgexai.train import train_precision
from edgexai.train.train_precision import TRAIN_PRECISIONS, USED_PRECISIONS, resolve_precision


@pytest.mark.parametrize(("native", "used"), [(True, "bf16"), (False, "fp32")])
def test_auto_picks_bf16_only_where_the_cpu_has_it(monkeypatch, native, used):
    monkeypatch.setattr(train_precision, "cpu_has_bf16", lambda: native)
    assert resolve_precision("auto", "cpu") == used
    assert resolve_precision("fp32", "cpu") == "fp32"  # asked for: kept on any CPU
    assert resolve_precision("auto", "cuda") == "fp16"
    assert resolve_precision("fp32", "cuda") == "fp32"


def test_the_bf16_check_reads_torchs_cpu_capability_report(monkeypatch):
    for avx512_bf16, amx, expected in (
        (False, False, False),
        (True, False, True),
        (False, True, True),
    ):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v)
        assert train_precision.cpu_has_bf16() is expected


def test_an_unknown_precision_is_one_line_error():
    with pytest.raises(EdgexaiError, match="auto, bf16, fp32"):
        resolve_precision("fp8", "cpu")
    assert set(TRAIN_PRECISIONS) - {"auto"} <= set(USED_PRECISIONS)


def test_the_cpu_description_names_the_model_and_the_arithmetic_flags(tmp_path):
    from edgexai.core.host import cpu_description

    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n"
    )
    assert cpu_description(str(info)) == ("AMD EPYC", ["avx2", "avx512f", "avx512_bf16"])
    assert cpu_description(str(tmp_path / "missing"))[1] == []
