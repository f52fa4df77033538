import pytest
import torch

from edgexai.core.errors import EdgexaiError
from edgexai.train.models import cam_models, create_model, get_spec
from edgexai.train.models.checkpoint import load_model, save_model
from edgexai.train.models.complexity import count_macs, count_params


@pytest.mark.parametrize("arch", cam_models())
def test_cam_layer_keeps_resolution(arch):
    spec = get_spec(arch)
    model = create_model(arch).eval()
    x = torch.zeros(2, 3, spec.input_size, spec.input_size)
    feats = model.features(x)
    minimum = 8 if arch.startswith("resnet20") else 4
    assert feats.shape[-1] >= minimum and feats.shape[-2] >= minimum
    assert spec.cam_layer == model.stage_names[-1]
    assert model(x).shape == (2, 43)


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(EdgexaiError, match="unknown arch 'resnet99'"):
        get_spec("resnet99")


def test_resnet20_size_matches_the_literature():
    model = create_model("resnet20")
    # 0.27 M parameters and ~41 M MACs at 32 px (He et al. 2016, option-B shortcuts).
    assert 260_000 < count_params(model) < 290_000
    assert 39e6 < count_macs(model, 32) < 43e6


def test_pruned_widths_round_trip_with_weights_only(tmp_path):
    widths = {
        "stem": 8,
        "stages": [
            [[8, 8], [4, 8], [8, 8]],
            [[16, 24], [8, 24], [16, 24]],
            [[32, 40], [16, 40], [24, 40]],
        ],
    }
    model = create_model("resnet20", widths).eval()
    path = tmp_path / "model.pt"
    save_model(model, "resnet20", path)
    payload = torch.load(path, weights_only=True)  # the safety contract
    assert payload["widths"] == widths
    restored = load_model(path)
    x = torch.randn(3, 3, 32, 32)
    assert torch.equal(restored(x), model(x))


def test_corrupt_model_file_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a model")
    with pytest.raises(EdgexaiError, match="not a readable model file"):
        load_model(path)
