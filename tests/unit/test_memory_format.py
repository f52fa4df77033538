"""The channel-pruned ResNet-20 must train and explain on 2 CPU threads at odd batch sizes: torch
2.14.1's channels-last convolution backward crashes the process there (edgexai.train.models.
memory_format), so such models run contiguous on the CPU. Run in a subprocess: a crash is a
return code, not a dead test runner."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch
from support import REPO

from edgexai.train.evaluate import predict_logits, to_input
from edgexai.train.models.arch_registry import create_model
from edgexai.train.models.memory_format import (
    channels_last_for,
    channels_last_while,
    cpu_channels_last_ok,
)

SCRIPT = r"""
import torch
torch.set_num_threads(2)
from edgexai.train.models.arch_registry import create_model
from edgexai.train.saliency.explainers import fused_copy
from edgexai.train.models.memory_format import channels_last_for
from edgexai.train.regimes import RegimeSettings
from edgexai.train.regimes.structured import apply_layered, layered_config
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


def _is_channels_last(model) -> bool:
    return all(
        p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
        for p in model.parameters()
        if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] > 1
    )


def test_evaluation_runs_channels_last_and_gives_the_model_back_as_it_came():
    torch.manual_seed(0)
    model = create_model("resnet20").eval()
    with channels_last_while(model, "cpu") as cl:
        assert cl and _is_channels_last(model)
    assert all(p.is_contiguous() for p in model.parameters())  # export expects this layout
    model.to(memory_format=torch.channels_last)  # a Trainer's model stays channels-last
    with channels_last_while(model, "cpu"):
        pass
    assert _is_channels_last(model)
    narrow = create_model(
        "resnet20", {"stem": 8, "stages": [[[8, 8]] * 3, [[16, 16]] * 3, [[32, 32]] * 3]}
    )
    with channels_last_while(narrow, "cpu") as cl:
        assert not cl and all(p.is_contiguous() for p in narrow.parameters())


def test_predict_logits_matches_a_plain_forward_and_leaves_the_mode_alone():
    torch.manual_seed(0)
    model = create_model("resnet20").train()
    images = np.random.default_rng(0).integers(0, 256, (70, 32, 32, 3), dtype=np.uint8)
    mean, std = (0.3, 0.3, 0.3), (0.2, 0.2, 0.2)
    logits = predict_logits(model, images, mean, std)  # 64 + 6: a short last batch
    assert model.training and logits.shape == (70, 43)
    with torch.no_grad():
        plain = model.eval()(to_input(images, mean, std)).numpy()
    np.testing.assert_allclose(logits, plain, rtol=1e-4, atol=1e-4)
    assert (logits.argmax(1) == plain.argmax(1)).all()
