"""The channel-pruned ResNet-20 must train and explain on 2 CPU threads at odd batch sizes: torch
2.14.1's channels-last convolution backward crashes the process there (edgexai.models.
memory_format), so such models run contiguous on the CPU. Run in a subprocess: a crash is a
return code, not a dead test runner."""

from __future__ import annotations

import subprocess
import sys

from support import REPO

from edgexai.models.memory_format import channels_last_for, cpu_channels_last_ok
from edgexai.models.registry import create_model

SCRIPT = r"""
import torch
torch.set_num_threads(2)
from edgexai.models.registry import create_model
from edgexai.explain.explainers import fused_copy
from edgexai.models.memory_format import channels_last_for
from edgexai.regimes import RegimeSettings
from edgexai.regimes.structured import apply_layered, layered_config
torch.manual_seed(0)
model = create_model("resnet20")
apply_layered(model, "resnet20", 32, layered_config(RegimeSettings()))
cl = channels_last_for(model, "cpu")
fmt = torch.channels_last if cl else torch.contiguous_format
net = model.train().to(memory_format=fmt)
for bs in (3, 19, 33):
    x = torch.randn(bs, 3, 32, 32).contiguous(memory_format=fmt)
    net(x).logsumexp(1).mean().backward()
fast = fused_copy(model)
for bs in (5, 19):
    x = torch.randn(bs, 3, 32, 32).requires_grad_()
    fast(x).sum().backward()
print("survived", cl)
"""


def test_pruned_resnet20_trains_and_explains_on_two_threads_at_odd_batch_sizes():
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert r.returncode == 0, (r.returncode, r.stderr[-1500:])
    assert "survived False" in r.stdout


def test_unpruned_models_keep_channels_last_on_cpu_and_cuda_always_does():
    assert cpu_channels_last_ok(create_model("resnet20"))
    narrow = create_model(
        "resnet20", {"stem": 8, "stages": [[[8, 8]] * 3, [[16, 16]] * 3, [[32, 32]] * 3]}
    )
    assert not cpu_channels_last_ok(narrow)
    assert not channels_last_for(narrow, "cpu")
    assert channels_last_for(narrow, "cuda")  # a device name only: no GPU needed
